/**
 * A route plan as the router reads it (the `definition` JSON of `route_plans` plus its columns).
 * Everything here is plain data: the decisions over it are pure functions (planCall, nextAction).
 */

export const RING_STRATEGIES = ['simultaneous', 'sequential', 'round-robin'] as const;
export type RingStrategy = (typeof RING_STRATEGIES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface PlanDestination {
  /** E.164 number (through the outbound trunk) or a sip: URI. */
  target: string;
  /** Round-robin share (1–100, default 1); ignored by the other strategies. */
  weight?: number;
  /** Overrides the step's ring timeout for this destination. */
  ringTimeoutSeconds?: number;
}

export interface PlanStep {
  /** Unique within the plan; the call record names it. */
  name: string;
  /**
   * simultaneous: every destination at once, first to answer wins and the others are cancelled.
   * sequential: one at a time in order, the next after each failure or timeout.
   * round-robin: one destination picked by smooth weighted round robin (fair across calls and
   * restarts), then failover to the following ones in order, one at a time.
   */
  strategy: RingStrategy;
  destinations: PlanDestination[];
  ringTimeoutSeconds: number;
}

/** `"HH:MM"` 24-hour local times; `end` may be `"24:00"`. An interval never crosses midnight. */
export type OpenInterval = [start: string, end: string];

export interface PlanSchedule {
  /** Open hours per weekday in the plan's time zone; a weekday not listed (or `[]`) is closed all day. */
  open: Partial<Record<Weekday, OpenInterval[]>>;
  /** Local dates (`YYYY-MM-DD`, in the plan's zone) closed all day, e.g. holidays. */
  closedDates: string[];
  /**
   * Where calls go outside open hours. The after-hours step splits `steps`: the steps before it ring
   * during open hours, it and the steps after it ring outside open hours. Null: outside open hours the
   * call goes straight to the plan's final action (voicemail or rejection).
   */
  afterHoursStep: string | null;
}

export interface PlanWhisper {
  /** default: the whisper sound shipped with callroute; custom: an uploaded announcement. */
  sound: 'default' | 'custom';
  announcementId?: number;
  /** What the message says (shown to admins, e.g. "call from Google Ads"); not synthesised. */
  text?: string;
}

export type PlanFinal =
  | { kind: 'voicemail'; greeting: 'default' | number }
  | { kind: 'reject'; sipCode: number };

/** The JSON stored in `route_plans.definition`. */
export interface RoutePlanDefinition {
  steps: PlanStep[];
  schedule: PlanSchedule | null;
  /** Played to the answering party only, before the caller is connected. */
  whisper: PlanWhisper | null;
  /** The answering party must press 1 to take the call; otherwise the plan moves on. */
  screening: boolean;
  /** What happens when every step failed. */
  final: PlanFinal;
}

export type CallerIdMode = 'caller' | 'tracking';

export interface RoutePlan extends RoutePlanDefinition {
  id: number;
  accountId: number;
  name: string;
  /** IANA time zone, e.g. America/New_York. */
  timeZone: string;
  /** Caller ID the destination sees: the caller's number (default) or the tracking number. */
  callerIdMode: CallerIdMode;
}

/**
 * How one destination's ring ended.
 * - answered: it answered (and accepted, when screening is on) and was connected.
 * - screened-out: it answered but did not press 1 (e.g. its own voicemail picked up).
 * - cancelled: another destination of a simultaneous ring answered first, or the caller hung up.
 */
export const ATTEMPT_OUTCOMES = ['answered', 'busy', 'no-answer', 'failed', 'screened-out', 'cancelled'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

export interface Attempt {
  step: string;
  target: string;
  outcome: AttemptOutcome;
}

/** Which part of the plan a call follows, decided once when it arrives (planCall). */
export type PlanReason = 'no-schedule' | 'open' | 'after-hours' | 'closed-date';

/**
 * A call's progress through its plan, kept by the session (plain data, so it can be logged and
 * persisted). Start with `startCall(plan, { now })`, append with `recordAttempt`.
 */
export interface CallRouteState {
  /** The step the call started at; null: straight to the final action (after hours, no after-hours step). */
  startStep: string | null;
  reason: PlanReason;
  /** Every destination rung, in the order the rings ended. */
  attempts: Attempt[];
}

/** Smooth weighted round-robin counters per round-robin step: `{ [stepName]: { [target]: currentWeight } }`. */
export type RoundRobinState = Record<string, Record<string, number>>;

export interface RingDestination {
  target: string;
  ringTimeoutSeconds: number;
}

export type NextAction =
  | {
      kind: 'ring';
      step: string;
      strategy: RingStrategy;
      /**
       * Ring these now: all of them for a simultaneous step (first to answer wins, cancel the rest),
       * exactly one otherwise. Targets come only from the saved plan, never from the call.
       */
      destinations: RingDestination[];
      /** Caller ID mode of the plan (see `presentedCallerId`). */
      callerId: CallerIdMode;
      /** ARI media URI to play to the answering party only, before connecting; null: no whisper. */
      whisperMedia: string | null;
      /** Ask the answering party to press 1 before connecting. */
      screening: boolean;
      /**
       * Round-robin counters after this pick, to persist (saveRoundRobinCounters) in the same
       * synchronous turn as the read, so concurrent calls spread. Absent when nothing changed.
       */
      roundRobin?: { step: string; counters: Record<string, number> };
    }
  | { kind: 'voicemail'; greeting: 'default' | number; greetingMedia: string }
  | { kind: 'reject'; sipCode: number }
  /** A destination answered: nothing more to ring. */
  | { kind: 'connected'; step: string; target: string };
