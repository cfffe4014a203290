import { describe, expect, it } from 'vitest';
import { normalizeDestination } from '../../src/api/normalizeDestination.js';
import type { AllowlistEntry } from '../../src/routing/dialAllowlist.js';
import { validateRoutePlan, type PlanInput } from '../../src/routing/routePlan/index.js';

function input(over: Partial<PlanInput> = {}): PlanInput {
  return {
    timeZone: 'America/New_York',
    steps: [
      { name: 'office', strategy: 'sequential', destinations: [{ target: '(555) 000-1111' }], ringTimeoutSeconds: 20 },
      { name: 'night', strategy: 'round-robin', destinations: [{ target: '+15550002222', weight: 3 }, { target: 'sip:a@pbx.example.com' }], ringTimeoutSeconds: 20 },
    ],
    schedule: { open: { mon: [['09:00', '12:00'], ['13:00', '17:00']] }, closedDates: ['2026-12-25'], afterHoursStep: 'night' },
    whisper: null,
    screening: false,
    final: { kind: 'voicemail', greeting: 'default' },
    ...over,
  };
}

const opts = (allowlist: AllowlistEntry[] = []) => ({
  allowlist,
  defaultCountryCode: '1',
  normalizeTarget: (raw: string) => normalizeDestination(raw, '1'),
});

const allDay = Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [['00:00', '24:00']]]));

describe('validateRoutePlan', () => {
  it('accepts a good plan and stores destinations normalised', () => {
    const { issues, plan } = validateRoutePlan(input(), opts());
    expect(issues).toEqual([]);
    expect(plan.steps[0]?.destinations[0]?.target).toBe('+15550001111');
  });

  it.each([
    ['unknown time zone', { timeZone: 'Mars/Olympus' }, 'timeZone', /Mars\/Olympus is not a known IANA time zone/],
    ['empty time zone', { timeZone: '' }, 'timeZone', /not a known IANA time zone/],
    [
      'overlapping hours',
      { schedule: { open: { tue: [['09:00', '17:00'], ['16:00', '18:00']] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open.tue.1',
      /09:00–17:00 and 16:00–18:00 overlap/,
    ],
    [
      'hours contained in earlier long hours overlap (not just the neighbour)',
      { schedule: { open: { tue: [['08:00', '18:00'], ['09:00', '10:00'], ['12:00', '13:00']] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open.tue.1',
      /overlap/,
    ],
    [
      'hours crossing midnight',
      { schedule: { open: { fri: [['22:00', '02:00']] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open.fri.0',
      /ends before it starts; hours past midnight go on the next weekday/,
    ],
    [
      'a time that is not HH:MM',
      { schedule: { open: { fri: [['9am', '17:00']] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open.fri.0',
      /start 9am is not a time/,
    ],
    [
      'a start of 24:00',
      { schedule: { open: { fri: [['24:00', '24:00']] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open.fri.0',
      /start 24:00 is not a time/,
    ],
    [
      'a closed date that does not exist',
      { schedule: { open: { mon: [['09:00', '17:00']] }, closedDates: ['2026-02-30'], afterHoursStep: 'night' } },
      'schedule.closedDates.0',
      /2026-02-30 is not a date/,
    ],
    [
      'an after-hours step that does not exist',
      { schedule: { open: { mon: [['09:00', '17:00']] }, closedDates: [], afterHoursStep: 'nite' } },
      'schedule.afterHoursStep',
      /no step is named nite/,
    ],
    [
      'the after-hours step first: nothing rings in open hours',
      { schedule: { open: { mon: [['09:00', '17:00']] }, closedDates: [], afterHoursStep: 'office' } },
      'schedule.afterHoursStep',
      /office is the first step/,
    ],
    [
      'no open hours: open-hours steps unreachable',
      { schedule: { open: { mon: [] }, closedDates: [], afterHoursStep: 'night' } },
      'schedule.open',
      /nobody can reach step office/,
    ],
    [
      'open around the clock: after-hours steps unreachable',
      { schedule: { open: allDay, closedDates: [], afterHoursStep: 'night' } },
      'schedule.afterHoursStep',
      /open around the clock.*nobody can reach step night/,
    ],
    [
      'duplicate step names',
      { steps: [input().steps[0]!, { ...input().steps[1]!, name: 'office' }], schedule: null },
      'steps.1.name',
      /another step is already named office/,
    ],
    [
      'a destination listed twice in a step',
      { steps: [{ name: 'a', strategy: 'simultaneous', destinations: [{ target: '+15550001111' }, { target: '555-000-1111' }], ringTimeoutSeconds: 20 }], schedule: null },
      'steps.0.destinations.1.target',
      /\+15550001111 is listed twice in step a/,
    ],
    [
      'a weight on a sequential step',
      { steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target: '+15550001111', weight: 2 }], ringTimeoutSeconds: 20 }], schedule: null },
      'steps.0.destinations.0.weight',
      /only round-robin steps use weights \(step a is sequential\)/,
    ],
    [
      'a destination that is not a number or URI',
      { steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target: 'call bob' }], ringTimeoutSeconds: 20 }], schedule: null },
      'steps.0.destinations.0.target',
      /call bob is not an E.164 number or a sip:user@host\[:port\] URI/,
    ],
    [
      'a custom whisper without an announcement',
      { whisper: { sound: 'custom' } },
      'whisper.announcementId',
      /required when whisper.sound is 'custom'/,
    ],
  ] as const)('%s', (_name, over, field, message) => {
    const { issues } = validateRoutePlan(input(over as Partial<PlanInput>), opts());
    expect(issues[0]).toMatchObject({ field, kind: 'invalid' });
    expect(issues[0]?.message).toMatch(message);
  });

  it.each([
    ['a premium-rate destination', '+19005550100', [], /steps.0.destinations.0.target: \+19005550100 is a premium-rate number/],
    ['UK premium-rate +449', '+449098790000', [{ kind: 'prefix', value: '+44' }], /\+449098790000 is a premium-rate number \(UK 09/],
    ['outside the allowed country codes', '+33123456789', [{ kind: 'prefix', value: '+1' }], /\+33123456789 is outside the dial allowlist \(\+1\)/],
  ] as const)('refuses %s naming it', (_name, target, allowlist, message) => {
    const plan = input({ steps: [{ name: 'a', strategy: 'sequential', destinations: [{ target }], ringTimeoutSeconds: 20 }], schedule: null });
    const { issues } = validateRoutePlan(plan, opts([...allowlist]));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: 'steps.0.destinations.0.target', kind: 'not-allowed' });
    expect(issues[0]?.message).toMatch(message);
  });

  it('stores the time zone as the runtime names it', () => {
    expect(validateRoutePlan(input({ timeZone: 'europe/london' }), opts()).plan.timeZone).toBe('Europe/London');
  });

  it('hours that only touch do not overlap, and a schedule with closed dates can reach its after-hours step', () => {
    const schedule = { open: allDay, closedDates: ['2026-12-25'], afterHoursStep: 'night' };
    expect(validateRoutePlan(input({ schedule }), opts()).issues).toEqual([]);
    const touching = { open: { mon: [['09:00', '12:00'], ['12:00', '17:00']] as [string, string][] }, closedDates: [], afterHoursStep: 'night' };
    expect(validateRoutePlan(input({ schedule: touching }), opts()).issues).toEqual([]);
  });
});
