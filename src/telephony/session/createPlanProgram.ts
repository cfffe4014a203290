import { dialEndpoint } from '../../routing/resolveRoute.js';
import { presentedCallerId, recordAttempt, startCall, whisperMedia } from '../../routing/routePlan/index.js';
import type { CallRouteState, NextAction, RoutePlan } from '../../routing/routePlan/types.js';
import type { RouteProgram } from './routeProgram.js';

/**
 * The route program of a tracking number with a route plan: the plan's pure decisions
 * (`startCall`, `nextAction` through `takeNextAction`, which also keeps the round-robin counters)
 * turned into actions the session executes. Targets come only from the saved plan.
 */
export function createPlanProgram(deps: {
  plan: RoutePlan;
  /** The routing clock: which part of the schedule applies. */
  now: Date;
  callerNumber: string | null;
  did: string;
  outboundEndpoint: string;
  takeNextAction: (plan: RoutePlan, state: CallRouteState) => NextAction;
}): RouteProgram {
  const { plan } = deps;
  let state = startCall(plan, { now: deps.now });
  let recorded = 0;
  return {
    next(history) {
      for (const h of history.slice(recorded)) state = recordAttempt(state, { step: h.step, target: h.target, outcome: h.result });
      recorded = history.length;
      const a = deps.takeNextAction(plan, state);
      switch (a.kind) {
        case 'ring':
          return {
            kind: 'ring',
            step: a.step,
            destinations: a.destinations.map((d) => ({
              target: d.target,
              endpoint: dialEndpoint(d.target, deps.outboundEndpoint),
              ringTimeoutSeconds: d.ringTimeoutSeconds,
            })),
          };
        case 'voicemail':
          return { kind: 'voicemail', step: 'voicemail', greetingMedia: a.greetingMedia };
        case 'reject':
          return { kind: 'fail', sipCode: a.sipCode };
        default:
          return { kind: 'fail', sipCode: null };
      }
    },
    whisperMedia: whisperMedia(plan),
    screening: plan.screening,
    callerIdNumber: deps.callerNumber ? presentedCallerId(plan, { callerNumber: deps.callerNumber, did: deps.did }) : deps.did,
  };
}
