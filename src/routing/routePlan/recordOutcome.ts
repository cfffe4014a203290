import { ATTEMPT_OUTCOMES, type Attempt, type CallRouteState } from './types.js';

/**
 * The state after one destination's ring ended. Record every destination of a simultaneous ring
 * (the winner `answered`, the others `cancelled`, or each one's failure) before asking `nextAction`.
 *
 * @example recordAttempt(state, { step: 'office', target: '+15550001111', outcome: 'busy' })
 */
export function recordAttempt(state: CallRouteState, attempt: Attempt): CallRouteState {
  return { ...state, attempts: [...state.attempts, { ...attempt }] };
}

/** The route-plan columns of a call record (`calls.routeStep`, `answeredDestination`, `destinationsTried`). */
export interface RouteOutcomeFields {
  /** The step that answered, else the last step rung; null when nothing was rung. */
  routeStep: string | null;
  answeredDestination: string | null;
  /** JSON array of every attempt in order; null when nothing was rung. */
  destinationsTried: string | null;
}

/**
 * What the call record says about routing, from a call's state (at answer, and again at release).
 *
 * @example
 * routeOutcomeFields({ startStep: 'office', reason: 'open', attempts: [
 *   { step: 'office', target: '+15550001111', outcome: 'no-answer' },
 *   { step: 'office', target: '+15550002222', outcome: 'answered' } ] })
 * // { routeStep: 'office', answeredDestination: '+15550002222', destinationsTried: '[{"step":"office",...},...]' }
 */
export function routeOutcomeFields(state: CallRouteState): RouteOutcomeFields {
  const answered = state.attempts.find((a) => a.outcome === 'answered');
  const last = state.attempts[state.attempts.length - 1];
  return {
    routeStep: answered?.step ?? last?.step ?? null,
    answeredDestination: answered?.target ?? null,
    destinationsTried:
      state.attempts.length === 0
        ? null
        : JSON.stringify(state.attempts.map((a) => ({ step: a.step, target: a.target, outcome: a.outcome }))),
  };
}

/** Reads `calls.destinationsTried` back (the API renders it as an array); malformed entries are skipped. */
export function parseDestinationsTried(json: string | null): Attempt[] {
  if (json === null) return [];
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  const out: Attempt[] = [];
  for (const v of value) {
    if (typeof v !== 'object' || v === null) continue;
    // The session writes `result` (its AttemptRecord), routeOutcomeFields writes `outcome`: read both.
    const { step, target, outcome: o, result } = v as Record<string, unknown>;
    const outcome = o ?? result;
    if (typeof step === 'string' && typeof target === 'string' && (ATTEMPT_OUTCOMES as readonly unknown[]).includes(outcome)) {
      out.push({ step, target, outcome: outcome as Attempt['outcome'] });
    }
  }
  return out;
}
