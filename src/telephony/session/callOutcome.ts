import type { CallDisposition } from '../../persistence/schema.js';

/** Q.850 causes we act on. */
export const CAUSE = {
  unallocated: 1,
  normalClearing: 16,
  userBusy: 17,
  noUserResponse: 18,
  noAnswer: 19,
  callRejected: 21,
  noCircuit: 34,
  failure: 38,
  /** What Asterisk hangs a leg up with when its RTP stopped for rtp_timeout seconds (res_pjsip_sdp_rtp). */
  requestedChannelUnavailable: 44,
} as const;

/** Who or what ended a call, as its record says. */
export type RecordEndedBy = CallFacts['endedBy'] | 'media-timeout';

/**
 * What the record says ended the call: a connected leg that Asterisk hung up for lack of RTP
 * (the party vanished: no BYE, no more audio) is `media-timeout`, whichever party it was; the
 * hangup cause (44) stays on the record too.
 *
 * @example recordEndedBy({ endedBy: 'caller', endingCause: 44, answered: true }) // 'media-timeout'
 */
export function recordEndedBy(f: { endedBy: CallFacts['endedBy']; endingCause: number | null; answered: boolean }): RecordEndedBy {
  if (f.answered && (f.endedBy === 'caller' || f.endedBy === 'destination') && f.endingCause === CAUSE.requestedChannelUnavailable) {
    return 'media-timeout';
  }
  return f.endedBy;
}

/** What the session saw of a call, enough to decide its record's outcome. */
export interface CallFacts {
  answered: boolean;
  /** Who ended the call first. */
  endedBy: 'caller' | 'destination' | 'router' | 'system';
  /** ARI's dial status of the destination leg, if any (BUSY, NOANSWER, CHANUNAVAIL, CONGESTION, ...). */
  dialStatus: string | null;
  /** Q.850 cause of the destination leg's end, if it ended. */
  destinationCause: number | null;
  /** Our own ring timer fired. */
  ringTimedOut: boolean;
}

export interface CallOutcome {
  disposition: Exclude<CallDisposition, 'rejected'>;
  /** SIP response the caller gets (200 when answered). */
  sipCode: number;
  /** Q.850 cause we hang the caller up with when the call was not answered. */
  callerCause: number;
}

/**
 * Maps what happened to a record outcome and the response the caller gets: busy → 486,
 * no answer → 480, failure → 503, caller gone while ringing → caller-abandoned (487).
 *
 * @example callOutcome({ answered: false, endedBy: 'destination', dialStatus: 'BUSY', destinationCause: 17, ringTimedOut: false })
 * // { disposition: 'busy', sipCode: 486, callerCause: 17 }
 */
export function callOutcome(f: CallFacts): CallOutcome {
  if (f.answered) return { disposition: 'answered', sipCode: 200, callerCause: CAUSE.normalClearing };
  if (f.endedBy === 'caller') return { disposition: 'caller-abandoned', sipCode: 487, callerCause: CAUSE.normalClearing };
  if (f.ringTimedOut || f.dialStatus === 'NOANSWER' || f.destinationCause === CAUSE.noAnswer || f.destinationCause === CAUSE.noUserResponse) {
    return { disposition: 'no-answer', sipCode: 480, callerCause: CAUSE.noAnswer };
  }
  if (f.dialStatus === 'BUSY' || f.destinationCause === CAUSE.userBusy) {
    return { disposition: 'busy', sipCode: 486, callerCause: CAUSE.userBusy };
  }
  return { disposition: 'failed', sipCode: 503, callerCause: CAUSE.noCircuit };
}
