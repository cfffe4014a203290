import type { Logger } from 'pino';
import type { CallFacts } from '../callOutcome.js';
import type { CallSessionDeps } from '../callSessionDeps.js';
import type { DialTarget, AttemptRecord } from '../routeProgram.js';
import type { LegOutcome, OutboundLeg } from '../OutboundLeg.js';
import type { CallerAnnouncement } from './callerAnnouncement.js';
import type { PromptWaits } from './promptWaits.js';

/**
 * What a step of a call (ringing a step, whisper and screening, voicemail, the announcement)
 * sees of its session. The session owns the call's state, its life cycle and its one release; a
 * step reads that state, changes it only through here, and checks `isOver` after every await.
 */
export interface CallStepHost {
  readonly deps: CallSessionDeps;
  readonly inboundId: string;
  /** The call's mixing bridge; it exists once `bridgeCreated` resolves. */
  readonly bridgeId: string;
  readonly bridgeCreated: Promise<unknown>;
  readonly recordId: number | null;
  readonly accountId: number | null;
  /** The call's logger (a child naming the call once its record exists). */
  readonly log: Logger;
  /** The call is ending or ended. */
  readonly isOver: boolean;
  /** The caller has been answered (by a destination or by voicemail). */
  readonly callerConnected: boolean;
  /** The caller's channel is gone. */
  readonly inboundGone: boolean;
  /** The caller's channel is in the bridge. */
  inboundBridged: boolean;
  readonly announcement: CallerAnnouncement;
  readonly waits: PromptWaits;
  /** A setup request in flight: release waits for it, so nothing it creates is left behind. */
  track<T>(p: Promise<T>): Promise<T>;
  /** A new destination leg of this call: its channel's events come to the session. */
  addLeg(d: DialTarget): OutboundLeg;
  /** The leg is done with (failed, cancelled or screened out). */
  dropLeg(leg: OutboundLeg): void;
  /** Some leg waits in the bridge for the caller (a single early-media leg). */
  legWaitingInBridge(): boolean;
  /** A leg's result, for the record's route and the plan's next step. */
  attempted(attempt: AttemptRecord): void;
  /** The answering party on `leg` declined the call: its attempt becomes `screened-out`. */
  screenedOut(leg: OutboundLeg): void;
  /** Why a leg did not answer: what the caller is told if no leg does. */
  legFailed(outcome: Extract<LegOutcome, { kind: 'failed' }>): void;
  /** The caller is answered now (`destination` null: nobody took the call, as for voicemail). */
  callerAnswered(destination: { outboundChannelId: string; destination: string } | null): void;
  /** Who ended the call, unless that is known already. */
  endedBy(who: CallFacts['endedBy']): void;
  release(): Promise<void>;
  /** A request failed: end the call (at once, or once the gone channel's hangup event says who). */
  failSetup(err: unknown, msg: string): Promise<void>;
}
