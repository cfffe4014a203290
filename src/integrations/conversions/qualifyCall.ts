import type { CallRow, LeadStatus } from '../../persistence/schema.js';

/** What makes a call a conversion for one destination (as CallRail's "send calls that are…"). */
export interface ConversionRules {
  /** Only answered calls (the default). */
  answeredOnly: boolean;
  /** Talk time at least this long (seconds); 0: any. */
  minTalkSeconds: number;
  /** Only a caller's first call to the account. */
  firstTimeCallersOnly: boolean;
  /** Only calls carrying this tag (without case). */
  tag: string | null;
  /** Only calls with this lead status. */
  leadStatus: LeadStatus | null;
  /** Meta only: send the caller's number, SHA-256 hashed as Meta asks, to match the caller (off unless chosen). */
  sendHashedCallerNumber: boolean;
}

export const DEFAULT_CONVERSION_RULES: ConversionRules = {
  answeredOnly: true,
  minTalkSeconds: 0,
  firstTimeCallersOnly: false,
  tag: null,
  leadStatus: null,
  sendHashedCallerNumber: false,
};

export type Qualification = { qualifies: true } | { qualifies: false; reason: string };

/**
 * Whether a finished call meets the rules. Pure: the caller decides when to ask (at the call's end,
 * and again when it is tagged or its lead status set). A restricted caller's call never qualifies.
 *
 * @example qualifyCall(call, { ...DEFAULT_CONVERSION_RULES, minTalkSeconds: 60 }) // { qualifies: false, reason: 'talked 12 s, fewer than 60' }
 */
export function qualifyCall(call: Pick<CallRow, 'finished' | 'disposition' | 'talkSeconds' | 'firstTimeCaller' | 'tags' | 'leadStatus' | 'restricted'>, rules: ConversionRules): Qualification {
  if (call.restricted) return { qualifies: false, reason: 'the caller restricted processing' };
  if (!call.finished) return { qualifies: false, reason: 'the call is in progress' };
  if (rules.answeredOnly && call.disposition !== 'answered') return { qualifies: false, reason: `not answered (${call.disposition ?? 'unknown'})` };
  const talk = call.talkSeconds ?? 0;
  if (talk < rules.minTalkSeconds) return { qualifies: false, reason: `talked ${Math.round(talk)} s, fewer than ${rules.minTalkSeconds}` };
  if (rules.firstTimeCallersOnly && call.firstTimeCaller !== true) return { qualifies: false, reason: 'not a first-time caller' };
  if (rules.tag !== null) {
    const wanted = rules.tag.toLowerCase();
    const tags = call.tags ? (JSON.parse(call.tags) as string[]) : [];
    if (!tags.some((t) => t.toLowerCase() === wanted)) return { qualifies: false, reason: `not tagged ${rules.tag}` };
  }
  if (rules.leadStatus !== null && call.leadStatus !== rules.leadStatus) return { qualifies: false, reason: `lead status is not ${rules.leadStatus}` };
  return { qualifies: true };
}
