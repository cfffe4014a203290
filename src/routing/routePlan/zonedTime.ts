import type { Weekday } from './types.js';

export interface ZonedTime {
  /** Local calendar date, `YYYY-MM-DD`. */
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight (0–1439). */
  minutes: number;
}

const WEEKDAY_BY_SHORT: Record<string, Weekday> = {
  Mon: 'mon',
  Tue: 'tue',
  Wed: 'wed',
  Thu: 'thu',
  Fri: 'fri',
  Sat: 'sat',
  Sun: 'sun',
};

// Building a DateTimeFormat costs far more than formatting with one; plans reuse a handful of zones.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      // h23, not hour12:false: some engines render midnight as "24" with hour12:false.
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * The zone as the runtime names it (`america/new_york` → `America/New_York`), or null when unknown.
 *
 * @example canonicalTimeZone('europe/london') // 'Europe/London'
 */
export function canonicalTimeZone(timeZone: string): string | null {
  if (!isKnownTimeZone(timeZone)) return null;
  return formatterFor(timeZone).resolvedOptions().timeZone;
}

/** True when the runtime knows this IANA zone (`America/New_York`, `UTC`). */
export function isKnownTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall-clock date, weekday and time of an instant in a zone. The zone's rules (tzdata) decide the
 * offset of that instant, so DST changes need no special handling: 02:30 on a spring-forward day never
 * occurs, 01:30 on a fall-back day occurs twice, and both are what the clock on the wall shows.
 *
 * @example zonedTime(new Date('2026-03-08T07:30:00Z'), 'America/New_York') // { date: '2026-03-08', weekday: 'sun', minutes: 210 } (03:30 EDT)
 */
export function zonedTime(now: Date, timeZone: string): ZonedTime {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timeZone).formatToParts(now)) parts[p.type] = p.value;
  const weekday = WEEKDAY_BY_SHORT[parts.weekday ?? ''];
  if (!weekday) throw new RangeError(`unexpected weekday ${String(parts.weekday)} for ${timeZone}`);
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    weekday,
    minutes: Number(parts.hour) * 60 + Number(parts.minute),
  };
}

/** `"09:30"` → 570; `"24:00"` → 1440; null when not `HH:MM` within 00:00–24:00. */
export function parseClock(value: string): number | null {
  const m = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(value);
  if (!m) return null;
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  return minutes > 1440 ? null : minutes;
}
