/**
 * A call's life as explicit states. `ended` is reachable from everywhere: a hangup is a normal
 * transition, not an exception. Terminal states are sticky: a late event never rewrites them.
 */
export type CallState = 'received' | 'routing' | 'dialing' | 'bridged' | 'ending' | 'ended' | 'rejected';

const ALLOWED: Readonly<Record<CallState, readonly CallState[]>> = {
  received: ['routing', 'ending', 'ended'],
  routing: ['dialing', 'rejected', 'ending', 'ended'],
  dialing: ['bridged', 'ending', 'ended'],
  bridged: ['ending', 'ended'],
  ending: ['ended'],
  rejected: ['ended'],
  ended: [],
};

/** True when `to` may follow `from`. */
export function canTransition(from: CallState, to: CallState): boolean {
  return ALLOWED[from].includes(to);
}

/** The state after asking for `to`: `to` when allowed, otherwise unchanged (late or duplicate events). */
export function nextState(from: CallState, to: CallState): CallState {
  return canTransition(from, to) ? to : from;
}

/** States after which no new work may start for the call. */
export function isOver(state: CallState): boolean {
  return state === 'ending' || state === 'ended' || state === 'rejected';
}
