import type { Logger } from 'pino';
import type { CallArrival, CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallerPrivacyLookup } from '../../privacy/callerPrivacy.js';
import type { RoutableNumber, RoutePolicy } from '../../routing/resolveRoute.js';
import type { AriClient } from '../ari/types.js';
import type { CallSession } from './CallSession.js';
import type { RecordingLayout, RecordingStorePort } from './CallRecorder.js';
import type { RouteProgram } from './routeProgram.js';

/** App args of legs we originate: `dialed,<inbound channel id>`; never guessed from channel names. */
export const DIALED_LEG_ARG = 'dialed';
/** Prefix of channel and bridge ids we create, so reconciliation can tell ours from others. */
export const OWN_ID_PREFIX = 'cr-';

/** What a call session is given: ARI, persistence (injected), the routing inputs, the registry's hooks. */
export interface CallSessionDeps {
  ari: AriClient;
  records: Pick<CallRecordRepository, 'insertArrival' | 'routed' | 'markAnswered' | 'finish'>;
  /** One indexed lookup: the hot path of call setup. */
  findNumber: (did: string) => RoutableNumber | null | undefined;
  /** The do-not-record list and restricted callers, in memory. */
  callerPrivacy?: CallerPrivacyLookup;
  policy: RoutePolicy & { defaultCountryCode: string };
  clock: () => number;
  logger: Logger;
  newId: () => string;
  /** Routes events of a channel id to this session (the registry's map). */
  track: (channelId: string, session: CallSession) => void;
  /** Called once when the session has ended and cleaned up. */
  onEnded: (session: CallSession) => void;
  recordingStore: RecordingStorePort & {
    /** The recording of a call still marked as recording (a router restart mid-call). */
    activeForCall(callId: number): { id: number; channels: RecordingLayout } | undefined;
  };
  /** A finished recording is ready for the media pipeline. */
  onRecordingStopped: (recordingId: number) => void;
  /**
   * The route for a number with a route plan (schedules, strategies, whisper, screening,
   * voicemail); numbers without one ring their single destination.
   */
  programFor?: (number: RoutableNumber, call: { callerNumber: string | null; did: string }) => RouteProgram | null;
  /** Per-number concurrent-call cap: false refuses the call as busy. */
  admit?: (number: RoutableNumber) => boolean;
  /**
   * Attribution at call setup (indexed lookups only): the web visit holding a pool number and
   * whether the caller called the account before.
   */
  attribute?: (number: RoutableNumber, callerNumber: string | null, now: number) => Partial<CallArrival>;
  /** Prompt media and how long screening waits for a digit. */
  screening?: { promptMedia: string; timeoutMs: number };
}
