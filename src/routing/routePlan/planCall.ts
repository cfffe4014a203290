import type { CallRouteState, PlanReason, RoutePlan } from './types.js';
import { parseClock, zonedTime } from './zonedTime.js';

export interface PlanCallResult {
  /** First step to ring; null: go straight to the final action (after hours without an after-hours step). */
  step: string | null;
  reason: PlanReason;
}

/** Whether the plan's schedule is open at this instant, and why not when it is not. */
export function scheduleStatus(plan: Pick<RoutePlan, 'schedule' | 'timeZone'>, now: Date): PlanReason {
  const schedule = plan.schedule;
  if (!schedule) return 'no-schedule';
  const local = zonedTime(now, plan.timeZone);
  if (schedule.closedDates.includes(local.date)) return 'closed-date';
  for (const [start, end] of schedule.open[local.weekday] ?? []) {
    const from = parseClock(start);
    const to = parseClock(end);
    // Half-open [start, end): 17:00 is closed for "09:00"–"17:00".
    if (from !== null && to !== null && local.minutes >= from && local.minutes < to) return 'open';
  }
  return 'after-hours';
}

/**
 * Where a call starts: the first step during open hours (or always, without a schedule), the
 * after-hours step outside them and on closed dates — read in the plan's time zone.
 *
 * @example
 * planCall(plan, { now: new Date('2026-11-23T15:00:00Z') }) // { step: 'office', reason: 'open' } (10:00 in New York)
 */
export function planCall(plan: RoutePlan, call: { now: Date }): PlanCallResult {
  const reason = scheduleStatus(plan, call.now);
  if (reason === 'open' || reason === 'no-schedule') return { step: plan.steps[0]?.name ?? null, reason };
  return { step: plan.schedule?.afterHoursStep ?? null, reason };
}

/** The state a call starts with: `planCall`, no attempts yet. */
export function startCall(plan: RoutePlan, call: { now: Date }): CallRouteState {
  const { step, reason } = planCall(plan, call);
  return { startStep: step, reason, attempts: [] };
}

/**
 * The steps a call starting at `startStep` may ring, in order. During open hours (or without a
 * schedule) these are the steps before the after-hours step; from the after-hours step, it and
 * every step after it.
 */
export function stepChain(plan: RoutePlan, startStep: string | null): string[] {
  if (startStep === null) return [];
  const names = plan.steps.map((s) => s.name);
  const start = names.indexOf(startStep);
  if (start < 0) return [];
  const afterHours = plan.schedule?.afterHoursStep ?? null;
  const split = afterHours === null ? -1 : names.indexOf(afterHours);
  const end = split > start ? split : names.length;
  return names.slice(start, end);
}
