import { ASTERISK_SOUNDS_DIR } from '../resolveRoute.js';
import { stepChain } from './planCall.js';
import { smoothWeightedPick } from './smoothWeightedRoundRobin.js';
import type { CallRouteState, NextAction, PlanStep, RingDestination, RoundRobinState, RoutePlan } from './types.js';

/** Sound names under ASTERISK_SOUNDS_DIR that ship with callroute (installed with the other sounds). */
export const DEFAULT_WHISPER_SOUND = 'whisper-default';
export const DEFAULT_VOICEMAIL_GREETING_SOUND = 'voicemail-greeting';

function soundMedia(name: string): string {
  return `sound:${ASTERISK_SOUNDS_DIR}/${name}`;
}

/** ARI media URI of the plan's whisper, or null without one. */
export function whisperMedia(plan: Pick<RoutePlan, 'whisper'>): string | null {
  const w = plan.whisper;
  if (!w) return null;
  if (w.sound === 'custom' && w.announcementId !== undefined) return soundMedia(`announcement-${w.announcementId}`);
  return soundMedia(DEFAULT_WHISPER_SOUND);
}

/** ARI media URI of a voicemail greeting: the shipped default or an uploaded announcement. */
export function greetingMedia(greeting: 'default' | number): string {
  return greeting === 'default' ? soundMedia(DEFAULT_VOICEMAIL_GREETING_SOUND) : soundMedia(`announcement-${greeting}`);
}

/**
 * The caller ID number the destination sees.
 *
 * @example presentedCallerId({ callerIdMode: 'tracking' }, { callerNumber: '+15559876543', did: '+15551230000' }) // '+15551230000'
 */
export function presentedCallerId(
  plan: Pick<RoutePlan, 'callerIdMode'>,
  call: { callerNumber: string; did: string },
): string {
  return plan.callerIdMode === 'tracking' ? call.did : call.callerNumber;
}

function ringDestination(step: PlanStep, index: number): RingDestination {
  const d = step.destinations[index];
  if (!d) throw new RangeError(`step ${step.name} has no destination ${index}`);
  return { target: d.target, ringTimeoutSeconds: d.ringTimeoutSeconds ?? step.ringTimeoutSeconds };
}

/**
 * What to ring within one step, given the attempts already made in it; null when the step is spent.
 * Only the saved plan's destinations are ever returned: nothing a caller sends (DTMF, caller ID,
 * SIP headers) reaches this choice, so an inbound call cannot be turned into a call to a number of
 * the caller's choosing (toll-fraud guard; the destinations themselves passed the dial allowlist
 * when the plan was saved).
 */
function ringInStep(
  step: PlanStep,
  tried: readonly string[],
  rr: RoundRobinState,
): Pick<Extract<NextAction, { kind: 'ring' }>, 'destinations' | 'roundRobin'> | null {
  const n = step.destinations.length;
  if (n === 0) return null;
  if (step.strategy === 'simultaneous') {
    // One round: every destination at once. Once it has ended the step is spent.
    if (tried.length > 0) return null;
    return { destinations: step.destinations.map((_, i) => ringDestination(step, i)) };
  }
  if (step.strategy === 'sequential') {
    const i = step.destinations.findIndex((d) => !tried.includes(d.target));
    return i < 0 ? null : { destinations: [ringDestination(step, i)] };
  }
  // round-robin: the first ring of the step is the weighted pick (and moves the counters); after a
  // failure the step fails over through the destinations following the pick, wrapping around.
  if (tried.length === 0) {
    const { index, counters } = smoothWeightedPick(rr[step.name] ?? {}, step.destinations);
    return { destinations: [ringDestination(step, index)], roundRobin: { step: step.name, counters } };
  }
  const first = step.destinations.findIndex((d) => d.target === tried[0]);
  for (let k = 1; k <= n; k += 1) {
    const i = (Math.max(first, 0) + k) % n;
    const d = step.destinations[i];
    if (d && !tried.includes(d.target)) return { destinations: [ringDestination(step, i)] };
  }
  return null;
}

/**
 * The next thing to do for a call: ring (which step, which destinations, how), or — every step
 * spent — the plan's final action, or nothing (`connected`) once a destination answered.
 * Pure: the same plan, state and counters give the same answer. The session calls it when the call
 * arrives (after `startCall`) and after each ring ends (after `recordAttempt` for every destination
 * of that ring), and persists `roundRobin` when present.
 *
 * @example
 * const state = startCall(plan, { now: new Date() });
 * nextAction(plan, state, {})
 * // { kind: 'ring', step: 'office', strategy: 'sequential', destinations: [{ target: '+15550001111', ringTimeoutSeconds: 20 }], ... }
 * nextAction(plan, recordAttempt(state, { step: 'office', target: '+15550001111', outcome: 'no-answer' }), {})
 * // { kind: 'ring', step: 'office', destinations: [{ target: '+15550002222', ... }], ... }
 */
export function nextAction(plan: RoutePlan, state: CallRouteState, rr: RoundRobinState): NextAction {
  const answered = state.attempts.find((a) => a.outcome === 'answered');
  if (answered) return { kind: 'connected', step: answered.step, target: answered.target };

  const chain = stepChain(plan, state.startStep);
  const last = state.attempts[state.attempts.length - 1];
  // Resume at the step of the last ring (a later step never rings before an earlier one is spent).
  const from = last ? Math.max(chain.indexOf(last.step), 0) : 0;
  for (const name of chain.slice(from)) {
    const step = plan.steps.find((s) => s.name === name);
    if (!step) continue;
    const tried = state.attempts.filter((a) => a.step === name).map((a) => a.target);
    const ring = ringInStep(step, tried, rr);
    if (ring) {
      return {
        kind: 'ring',
        step: name,
        strategy: step.strategy,
        ...ring,
        callerId: plan.callerIdMode,
        whisperMedia: whisperMedia(plan),
        screening: plan.screening,
      };
    }
  }
  const final = plan.final;
  if (final.kind === 'voicemail') {
    return { kind: 'voicemail', greeting: final.greeting, greetingMedia: greetingMedia(final.greeting) };
  }
  return { kind: 'reject', sipCode: final.sipCode };
}
