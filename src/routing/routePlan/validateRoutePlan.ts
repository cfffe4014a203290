import { checkDialTarget, type AllowlistEntry } from '../dialAllowlist.js';
import { canonicalTimeZone, parseClock } from './zonedTime.js';
import { WEEKDAYS, type PlanSchedule, type RoutePlanDefinition } from './types.js';

/** One thing wrong with a plan: where (a path under the plan, e.g. `steps.0.destinations.1.target`) and what. */
export interface PlanIssue {
  field: string;
  message: string;
  /** not-allowed: the toll-fraud guard refused a destination; invalid: anything else. */
  kind: 'invalid' | 'not-allowed';
}

export interface ValidatePlanOptions {
  allowlist: readonly AllowlistEntry[];
  defaultCountryCode: string;
  /** Stored form of a destination (E.164 or sip: URI), null when it is neither. */
  normalizeTarget: (raw: string) => string | null;
}

/** A plan as an admin writes it; shape already checked by the API's JSON schema. */
export interface PlanInput extends RoutePlanDefinition {
  timeZone: string;
}

function isRealDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === value;
}

function scheduleIssues(schedule: PlanSchedule, issues: PlanIssue[]): { anyOpen: boolean; alwaysOpen: boolean } {
  let anyOpen = false;
  let alwaysOpen = true;
  for (const day of WEEKDAYS) {
    const intervals = schedule.open[day] ?? [];
    const parsed: { from: number; to: number; i: number }[] = [];
    intervals.forEach(([start, end], i) => {
      const field = `schedule.open.${day}.${i}`;
      const from = parseClock(start);
      const to = parseClock(end);
      if (from === null || from >= 1440) {
        issues.push({ field, kind: 'invalid', message: `${field}: start ${start} is not a time HH:MM from 00:00 to 23:59` });
      } else if (to === null) {
        issues.push({ field, kind: 'invalid', message: `${field}: end ${end} is not a time HH:MM from 00:01 to 24:00` });
      } else if (to <= from) {
        issues.push({
          field,
          kind: 'invalid',
          message: `${field}: ${start}–${end} ends before it starts; hours past midnight go on the next weekday (e.g. ${start}–24:00 and 00:00–${end})`,
        });
      } else {
        parsed.push({ from, to, i });
      }
    });
    parsed.sort((a, b) => a.from - b.from);
    let covered = 0;
    // The interval reaching latest so far: overlap is checked against it, not just the previous one.
    let prev: { from: number; to: number; i: number } | undefined;
    for (const cur of parsed) {
      if (prev && cur.from < prev.to) {
        const a = intervals[prev.i];
        const b = intervals[cur.i];
        issues.push({
          field: `schedule.open.${day}.${Math.max(prev.i, cur.i)}`,
          kind: 'invalid',
          message: `schedule.open.${day}: hours ${a?.[0]}–${a?.[1]} and ${b?.[0]}–${b?.[1]} overlap`,
        });
      }
      if (cur.from <= covered) covered = Math.max(covered, cur.to);
      if (!prev || cur.to > prev.to) prev = cur;
    }
    if (parsed.length > 0) anyOpen = true;
    if (covered < 1440) alwaysOpen = false;
  }
  schedule.closedDates.forEach((d, i) => {
    if (!isRealDate(d)) issues.push({ field: `schedule.closedDates.${i}`, kind: 'invalid', message: `schedule.closedDates.${i}: ${d} is not a date YYYY-MM-DD` });
  });
  return { anyOpen, alwaysOpen: alwaysOpen && schedule.closedDates.length === 0 };
}

/**
 * Everything wrong with a plan (empty when it can be saved), and the plan in stored form (destinations
 * normalised, the time zone as the runtime names it). Checks: a known time zone; unique step names; destinations valid, unique within a
 * step and allowed by the dial allowlist (premium-rate always refused); weights only on round-robin
 * steps; open hours well-formed and not overlapping; closed dates real; the after-hours step exists;
 * and that every step can be reached (some open hours for the steps before the after-hours step,
 * some closed time for the after-hours steps).
 *
 * @example
 * validateRoutePlan({ timeZone: 'Mars/Olympus', ... }, opts).issues
 * // [{ field: 'timeZone', kind: 'invalid', message: 'timeZone: Mars/Olympus is not a known IANA time zone ...' }]
 */
export function validateRoutePlan(input: PlanInput, opts: ValidatePlanOptions): { issues: PlanIssue[]; plan: PlanInput } {
  const issues: PlanIssue[] = [];
  const timeZone = canonicalTimeZone(input.timeZone);
  if (timeZone === null) {
    issues.push({
      field: 'timeZone',
      kind: 'invalid',
      message: `timeZone: ${input.timeZone} is not a known IANA time zone (e.g. America/New_York, Europe/London, UTC)`,
    });
  }

  const names = new Set<string>();
  const steps = input.steps.map((step, si) => {
    if (names.has(step.name)) {
      issues.push({ field: `steps.${si}.name`, kind: 'invalid', message: `steps.${si}.name: another step is already named ${step.name}` });
    }
    names.add(step.name);
    const seen = new Set<string>();
    const destinations = step.destinations.map((d, di) => {
      const field = `steps.${si}.destinations.${di}`;
      if (d.weight !== undefined && step.strategy !== 'round-robin') {
        issues.push({ field: `${field}.weight`, kind: 'invalid', message: `${field}.weight: only round-robin steps use weights (step ${step.name} is ${step.strategy})` });
      }
      const target = opts.normalizeTarget(d.target);
      if (target === null) {
        issues.push({ field: `${field}.target`, kind: 'invalid', message: `${field}.target: ${d.target} is not an E.164 number or a sip:user@host[:port] URI` });
        return d;
      }
      if (seen.has(target)) {
        issues.push({ field: `${field}.target`, kind: 'invalid', message: `${field}.target: ${target} is listed twice in step ${step.name}` });
      }
      seen.add(target);
      const check = checkDialTarget(target, opts.allowlist, { defaultCountryCode: opts.defaultCountryCode });
      if (!check.ok) {
        issues.push({
          field: `${field}.target`,
          kind: check.reason === 'invalid' ? 'invalid' : 'not-allowed',
          message: `${field}.target: ${check.message}`,
        });
      }
      return { ...d, target };
    });
    return { ...step, destinations };
  });

  const schedule = input.schedule;
  if (schedule) {
    const { anyOpen, alwaysOpen } = scheduleIssues(schedule, issues);
    const after = schedule.afterHoursStep;
    const afterIndex = after === null ? -1 : input.steps.findIndex((s) => s.name === after);
    if (after !== null && afterIndex < 0) {
      issues.push({ field: 'schedule.afterHoursStep', kind: 'invalid', message: `schedule.afterHoursStep: no step is named ${after}` });
    } else if (afterIndex === 0) {
      issues.push({
        field: 'schedule.afterHoursStep',
        kind: 'invalid',
        message: `schedule.afterHoursStep: ${after} is the first step, so no step would ring during open hours (steps before it ring during open hours)`,
      });
    }
    const openSteps = (afterIndex < 0 ? input.steps : input.steps.slice(0, afterIndex)).map((s) => s.name);
    if (!anyOpen && openSteps.length > 0) {
      issues.push({
        field: 'schedule.open',
        kind: 'invalid',
        message: `schedule.open has no open hours, so nobody can reach step ${openSteps.join(', ')}`,
      });
    }
    if (alwaysOpen && afterIndex > 0) {
      issues.push({
        field: 'schedule.afterHoursStep',
        kind: 'invalid',
        message: `schedule is open around the clock with no closed dates, so nobody can reach step ${input.steps
          .slice(afterIndex)
          .map((s) => s.name)
          .join(', ')}`,
      });
    }
  }

  const whisper = input.whisper;
  if (whisper) {
    if (whisper.sound === 'custom' && whisper.announcementId === undefined) {
      issues.push({ field: 'whisper.announcementId', kind: 'invalid', message: "whisper.announcementId is required when whisper.sound is 'custom'" });
    }
    if (whisper.sound !== 'custom' && whisper.announcementId !== undefined) {
      issues.push({ field: 'whisper.announcementId', kind: 'invalid', message: "whisper.announcementId is only allowed when whisper.sound is 'custom'" });
    }
  }

  return { issues, plan: { ...input, timeZone: timeZone ?? input.timeZone, steps } };
}
