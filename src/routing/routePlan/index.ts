/** Route plans: pure decisions over plain data (no ARI, no database). */
export * from './types.js';
export { zonedTime, isKnownTimeZone, canonicalTimeZone, parseClock, type ZonedTime } from './zonedTime.js';
export { planCall, scheduleStatus, startCall, stepChain, type PlanCallResult } from './planCall.js';
export { smoothWeightedPick } from './smoothWeightedRoundRobin.js';
export {
  nextAction,
  whisperMedia,
  greetingMedia,
  presentedCallerId,
  DEFAULT_WHISPER_SOUND,
  DEFAULT_VOICEMAIL_GREETING_SOUND,
} from './nextAction.js';
export { recordAttempt, routeOutcomeFields, parseDestinationsTried, type RouteOutcomeFields } from './recordOutcome.js';
export { validateRoutePlan, type PlanIssue, type PlanInput, type ValidatePlanOptions } from './validateRoutePlan.js';
