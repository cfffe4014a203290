import { callOutcome } from './callOutcome.js';
import type { LegOutcome } from './OutboundLeg.js';

/** A destination ready to dial: what the plan names, the PJSIP dial string, its ring time. */
export interface DialTarget {
  target: string;
  endpoint: string;
  ringTimeoutSeconds: number;
}

/** What to do next with a call, decided from what has happened so far. */
export type ProgramAction =
  | { kind: 'ring'; step: string; destinations: DialTarget[] }
  | { kind: 'voicemail'; step: string; greetingMedia: string }
  /** Give up: `sipCode` from the plan, or null for the response matching the last attempt. */
  | { kind: 'fail'; sipCode: number | null };

export type AttemptResult = 'answered' | 'busy' | 'no-answer' | 'failed' | 'screened-out' | 'cancelled';

export interface AttemptRecord {
  step: string;
  target: string;
  result: AttemptResult;
}

/**
 * The route a call follows. The session executes it (dial legs, whisper, screening, voicemail);
 * what to do next is decided here from the history, with no I/O. Destinations come only from
 * saved configuration: nothing the caller sends can choose a dial target.
 */
export interface RouteProgram {
  next(history: readonly AttemptRecord[]): ProgramAction;
  /** Played to the answering party only, before the caller is connected. */
  whisperMedia: string | null;
  /** The answering party must press 1 to take the call. */
  screening: boolean;
  /** Caller ID shown to destinations. */
  callerIdNumber: string | null;
}

/** A tracking number with one destination and no plan: ring it once. */
export function singleDestinationProgram(d: DialTarget, callerIdNumber: string | null): RouteProgram {
  return {
    next: (history) => (history.length === 0 ? { kind: 'ring', step: 'destination', destinations: [d] } : { kind: 'fail', sipCode: null }),
    whisperMedia: null,
    screening: false,
    callerIdNumber,
  };
}

/** Names a leg's outcome for the call record and for the plan's next step. */
export function attemptResult(o: LegOutcome): AttemptResult {
  if (o.kind === 'answered') return 'answered';
  const { disposition } = callOutcome({ answered: false, endedBy: 'destination', dialStatus: o.dialStatus, destinationCause: o.cause, ringTimedOut: o.timedOut });
  return disposition === 'busy' || disposition === 'no-answer' ? disposition : 'failed';
}
