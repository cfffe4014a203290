import { describe, expect, it } from 'vitest';
import { planCall, scheduleStatus, stepChain, zonedTime, type RoutePlan } from '../../src/routing/routePlan/index.js';

function plan(over: Partial<RoutePlan> = {}): RoutePlan {
  return {
    id: 1,
    accountId: 1,
    name: 'plan',
    timeZone: 'America/New_York',
    callerIdMode: 'caller',
    steps: [
      { name: 'office', strategy: 'sequential', destinations: [{ target: '+15550001111' }], ringTimeoutSeconds: 20 },
      { name: 'backup', strategy: 'sequential', destinations: [{ target: '+15550002222' }], ringTimeoutSeconds: 20 },
      { name: 'night', strategy: 'sequential', destinations: [{ target: '+15550003333' }], ringTimeoutSeconds: 20 },
      { name: 'night-2', strategy: 'sequential', destinations: [{ target: '+15550004444' }], ringTimeoutSeconds: 20 },
    ],
    schedule: {
      open: {
        mon: [['09:00', '17:00']],
        tue: [['09:00', '17:00']],
        wed: [['09:00', '17:00']],
        thu: [['09:00', '17:00']],
        fri: [['09:00', '17:00']],
        sat: [['09:00', '17:00']],
        sun: [['09:00', '17:00']],
      },
      closedDates: [],
      afterHoursStep: 'night',
    },
    whisper: null,
    screening: false,
    final: { kind: 'voicemail', greeting: 'default' },
    ...over,
  };
}

const everyDay = (intervals: [string, string][]) =>
  Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, intervals]));

describe('zonedTime', () => {
  it.each([
    // instant, zone, local date, weekday, HH:MM
    ['2026-03-08T06:59:00Z', 'America/New_York', '2026-03-08', 'sun', '01:59'], // last EST minute
    ['2026-03-08T07:00:00Z', 'America/New_York', '2026-03-08', 'sun', '03:00'], // 02:00 never happens
    ['2026-11-01T05:30:00Z', 'America/New_York', '2026-11-01', 'sun', '01:30'], // 01:30 EDT
    ['2026-11-01T06:30:00Z', 'America/New_York', '2026-11-01', 'sun', '01:30'], // 01:30 EST, again
    ['2026-03-29T00:59:00Z', 'Europe/London', '2026-03-29', 'sun', '00:59'],
    ['2026-03-29T01:00:00Z', 'Europe/London', '2026-03-29', 'sun', '02:00'],
    ['2026-10-25T00:30:00Z', 'Europe/London', '2026-10-25', 'sun', '01:30'],
    ['2026-10-25T01:30:00Z', 'Europe/London', '2026-10-25', 'sun', '01:30'],
    ['2026-11-27T15:00:00Z', 'Asia/Tokyo', '2026-11-28', 'sat', '00:00'], // midnight, not "24:00"
    ['2026-11-23T04:59:00Z', 'America/New_York', '2026-11-22', 'sun', '23:59'],
  ])('%s in %s is %s %s %s', (instant, zone, date, weekday, hhmm) => {
    const t = zonedTime(new Date(instant), zone);
    const [h, m] = hhmm.split(':').map(Number);
    expect(t).toEqual({ date, weekday, minutes: (h ?? 0) * 60 + (m ?? 0) });
  });
});

describe('scheduleStatus: 09:00–17:00 every day', () => {
  it.each([
    // New York: EST is UTC-5, EDT is UTC-4
    ['NY Saturday before spring-forward, 08:00 EST', '2026-03-07T13:00:00Z', 'America/New_York', 'after-hours'],
    ['NY Saturday before spring-forward, 09:00 EST', '2026-03-07T14:00:00Z', 'America/New_York', 'open'],
    ['NY spring-forward Sunday, 13:00Z is 09:00 EDT', '2026-03-08T13:00:00Z', 'America/New_York', 'open'],
    ['NY spring-forward Sunday, 12:59Z is 08:59 EDT', '2026-03-08T12:59:00Z', 'America/New_York', 'after-hours'],
    ['NY spring-forward Sunday, 21:00Z is 17:00 EDT (closed)', '2026-03-08T21:00:00Z', 'America/New_York', 'after-hours'],
    ['NY fall-back Sunday, 13:00Z is 08:00 EST', '2026-11-01T13:00:00Z', 'America/New_York', 'after-hours'],
    ['NY fall-back Sunday, 14:00Z is 09:00 EST', '2026-11-01T14:00:00Z', 'America/New_York', 'open'],
    ['NY Saturday before fall-back, 13:00Z is 09:00 EDT', '2026-10-31T13:00:00Z', 'America/New_York', 'open'],
    ['NY fall-back Sunday, 21:59Z is 16:59 EST', '2026-11-01T21:59:00Z', 'America/New_York', 'open'],
    // London: GMT is UTC, BST is UTC+1
    ['London Saturday before spring-forward, 08:30 GMT', '2026-03-28T08:30:00Z', 'Europe/London', 'after-hours'],
    ['London spring-forward Sunday, 08:30Z is 09:30 BST', '2026-03-29T08:30:00Z', 'Europe/London', 'open'],
    ['London spring-forward Sunday, 16:00Z is 17:00 BST (closed)', '2026-03-29T16:00:00Z', 'Europe/London', 'after-hours'],
    ['London Saturday before fall-back, 16:30Z is 17:30 BST', '2026-10-24T16:30:00Z', 'Europe/London', 'after-hours'],
    ['London fall-back Sunday, 16:30Z is 16:30 GMT', '2026-10-25T16:30:00Z', 'Europe/London', 'open'],
    ['London fall-back Sunday, 08:30Z is 08:30 GMT', '2026-10-25T08:30:00Z', 'Europe/London', 'after-hours'],
  ])('%s → %s', (_name, instant, timeZone, expected) => {
    expect(scheduleStatus(plan({ timeZone }), new Date(instant))).toBe(expected);
  });
});

describe('scheduleStatus: hours inside the DST gap and overlap', () => {
  const sundays = (intervals: [string, string][]) => ({
    open: { sun: intervals },
    closedDates: [],
    afterHoursStep: 'night',
  });
  it.each([
    // NY spring forward 2026-03-08: 02:00–03:00 does not exist.
    ['NY 02:00–03:00 never opens: 01:59 EST', 'America/New_York', [['02:00', '03:00']], '2026-03-08T06:59:00Z', 'after-hours'],
    ['NY 02:00–03:00 never opens: 03:00 EDT', 'America/New_York', [['02:00', '03:00']], '2026-03-08T07:00:00Z', 'after-hours'],
    ['NY 02:30–04:00 opens at 03:00 EDT', 'America/New_York', [['02:30', '04:00']], '2026-03-08T07:00:00Z', 'open'],
    // NY fall back 2026-11-01: 01:00–02:00 happens twice, open both times.
    ['NY 01:00–02:00 first 01:00 (EDT)', 'America/New_York', [['01:00', '02:00']], '2026-11-01T05:00:00Z', 'open'],
    ['NY 01:00–02:00 second 01:00 (EST)', 'America/New_York', [['01:00', '02:00']], '2026-11-01T06:00:00Z', 'open'],
    ['NY 01:00–02:00 second 01:59 (EST)', 'America/New_York', [['01:00', '02:00']], '2026-11-01T06:59:00Z', 'open'],
    ['NY 01:00–02:00 closes at 02:00 EST', 'America/New_York', [['01:00', '02:00']], '2026-11-01T07:00:00Z', 'after-hours'],
    // London spring forward 2026-03-29: 01:00–02:00 does not exist.
    ['London 01:00–02:00 never opens: 00:59 GMT', 'Europe/London', [['01:00', '02:00']], '2026-03-29T00:59:00Z', 'after-hours'],
    ['London 01:00–02:00 never opens: 02:00 BST', 'Europe/London', [['01:00', '02:00']], '2026-03-29T01:00:00Z', 'after-hours'],
    // London fall back 2026-10-25: 01:00–02:00 twice.
    ['London 01:00–02:00 first (BST)', 'Europe/London', [['01:00', '02:00']], '2026-10-25T00:30:00Z', 'open'],
    ['London 01:00–02:00 second (GMT)', 'Europe/London', [['01:00', '02:00']], '2026-10-25T01:30:00Z', 'open'],
    ['London 01:00–02:00 after (02:00 GMT)', 'Europe/London', [['01:00', '02:00']], '2026-10-25T02:00:00Z', 'after-hours'],
  ] as const)('%s → %s', (_name, timeZone, intervals, instant, expected) => {
    const p = plan({ timeZone, schedule: sundays(intervals.map(([a, b]) => [a, b] as [string, string])) });
    expect(scheduleStatus(p, new Date(instant))).toBe(expected);
  });
});

describe('scheduleStatus: weekday boundaries at midnight (Asia/Tokyo, UTC+9, local date differs from UTC)', () => {
  const p = plan({
    timeZone: 'Asia/Tokyo',
    schedule: {
      open: { fri: [['22:00', '24:00']], sat: [['00:00', '02:00']] },
      closedDates: [],
      afterHoursStep: 'night',
    },
  });
  it.each([
    ['Fri 21:59', '2026-11-27T12:59:00Z', 'after-hours'],
    ['Fri 22:00', '2026-11-27T13:00:00Z', 'open'],
    ['Fri 23:59', '2026-11-27T14:59:00Z', 'open'],
    ['Sat 00:00 (Saturday hours, not Friday 24:00)', '2026-11-27T15:00:00Z', 'open'],
    ['Sat 01:59', '2026-11-27T16:59:00Z', 'open'],
    ['Sat 02:00', '2026-11-27T17:00:00Z', 'after-hours'],
    ['Thu 23:59 (no Thursday hours)', '2026-11-26T14:59:00Z', 'after-hours'],
    ['Sun 00:00 (no Sunday hours)', '2026-11-28T15:00:00Z', 'after-hours'],
  ])('%s → %s', (_name, instant, expected) => {
    expect(scheduleStatus(p, new Date(instant))).toBe(expected);
  });
});

describe('scheduleStatus: closed dates are local dates in the plan zone', () => {
  const p = plan({ schedule: { open: everyDay([['00:00', '24:00']]), closedDates: ['2026-12-25'], afterHoursStep: 'night' } });
  it.each([
    ['Dec 24 23:59 EST (already Dec 25 in UTC)', '2026-12-25T04:59:00Z', 'open'],
    ['Dec 25 00:00 EST', '2026-12-25T05:00:00Z', 'closed-date'],
    ['Dec 25 10:00 EST (a Friday with hours)', '2026-12-25T15:00:00Z', 'closed-date'],
    ['Dec 25 23:59 EST (Dec 26 in UTC)', '2026-12-26T04:59:00Z', 'closed-date'],
    ['Dec 26 00:00 EST', '2026-12-26T05:00:00Z', 'open'],
  ])('%s → %s', (_name, instant, expected) => {
    expect(scheduleStatus(p, new Date(instant))).toBe(expected);
  });
});

describe('planCall', () => {
  it.each([
    ['open hours start at the first step', plan(), '2026-11-23T15:00:00Z', { step: 'office', reason: 'open' }],
    ['after hours start at the after-hours step', plan(), '2026-11-23T23:00:00Z', { step: 'night', reason: 'after-hours' }],
    [
      'closed date starts at the after-hours step',
      plan({ schedule: { open: everyDay([['00:00', '24:00']]), closedDates: ['2026-11-23'], afterHoursStep: 'night' } }),
      '2026-11-23T15:00:00Z',
      { step: 'night', reason: 'closed-date' },
    ],
    ['no schedule: always the first step', plan({ schedule: null }), '2026-11-23T23:00:00Z', { step: 'office', reason: 'no-schedule' }],
    [
      'after hours without an after-hours step: straight to the final action',
      plan({ schedule: { open: everyDay([['09:00', '17:00']]), closedDates: [], afterHoursStep: null } }),
      '2026-11-23T23:00:00Z',
      { step: null, reason: 'after-hours' },
    ],
  ])('%s', (_name, p, instant, expected) => {
    expect(planCall(p, { now: new Date(instant) })).toEqual(expected);
  });
});

describe('stepChain: the after-hours step splits the steps', () => {
  it.each([
    ['open hours: the steps before the after-hours step', plan(), 'office', ['office', 'backup']],
    ['after hours: the after-hours step and those after it', plan(), 'night', ['night', 'night-2']],
    ['no schedule: every step', plan({ schedule: null }), 'office', ['office', 'backup', 'night', 'night-2']],
    [
      'no after-hours step: every step in open hours',
      plan({ schedule: { open: everyDay([['09:00', '17:00']]), closedDates: [], afterHoursStep: null } }),
      'office',
      ['office', 'backup', 'night', 'night-2'],
    ],
    ['no start: nothing', plan(), null, []],
  ])('%s', (_name, p, start, expected) => {
    expect(stepChain(p, start)).toEqual(expected);
  });
});
