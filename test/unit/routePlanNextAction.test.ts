import { describe, expect, it } from 'vitest';
import {
  nextAction,
  parseDestinationsTried,
  presentedCallerId,
  recordAttempt,
  routeOutcomeFields,
  smoothWeightedPick,
  startCall,
  type Attempt,
  type CallRouteState,
  type NextAction,
  type RoundRobinState,
  type RoutePlan,
} from '../../src/routing/routePlan/index.js';

const OPEN = new Date('2026-11-23T15:00:00Z'); // Monday 10:00 in New York
const CLOSED = new Date('2026-11-23T23:00:00Z'); // Monday 18:00

function plan(over: Partial<RoutePlan> = {}): RoutePlan {
  return {
    id: 7,
    accountId: 1,
    name: 'sales',
    timeZone: 'America/New_York',
    callerIdMode: 'caller',
    steps: [
      {
        name: 'desk',
        strategy: 'sequential',
        destinations: [{ target: '+15550000001', ringTimeoutSeconds: 10 }, { target: '+15550000002' }],
        ringTimeoutSeconds: 20,
      },
      {
        name: 'team',
        strategy: 'simultaneous',
        destinations: [{ target: '+15550000003' }, { target: 'sip:agent@pbx.example.com' }],
        ringTimeoutSeconds: 25,
      },
      {
        name: 'night',
        strategy: 'round-robin',
        destinations: [
          { target: '+15550000004', weight: 2 },
          { target: '+15550000005', weight: 1 },
        ],
        ringTimeoutSeconds: 15,
      },
    ],
    schedule: {
      open: { mon: [['09:00', '17:00']] },
      closedDates: [],
      afterHoursStep: 'night',
    },
    whisper: { sound: 'custom', announcementId: 4, text: 'call from Google Ads' },
    screening: true,
    final: { kind: 'voicemail', greeting: 'default' },
    ...over,
  };
}

/** Plays a call through its plan: each ring ends with the outcomes given, in order. */
function play(p: RoutePlan, now: Date, outcomes: Attempt['outcome'][][], rr: RoundRobinState = {}) {
  let state: CallRouteState = startCall(p, { now });
  const actions: NextAction[] = [];
  for (;;) {
    const action = nextAction(p, state, rr);
    actions.push(action);
    if (action.kind !== 'ring') break;
    if (action.roundRobin) rr[action.roundRobin.step] = action.roundRobin.counters;
    const ring = outcomes.shift();
    if (!ring) break;
    action.destinations.forEach((d, i) => {
      state = recordAttempt(state, { step: action.step, target: d.target, outcome: ring[i] ?? 'no-answer' });
    });
  }
  return { actions, state };
}

const rung = (actions: NextAction[]) =>
  actions.map((a) => (a.kind === 'ring' ? `${a.step}:${a.destinations.map((d) => `${d.target}/${d.ringTimeoutSeconds}`).join('+')}` : a.kind));

describe('nextAction', () => {
  it.each([
    [
      'sequential: first destination answers',
      OPEN,
      [['answered']],
      ['desk:+15550000001/10', 'connected'],
    ],
    [
      'sequential: next destination after a timeout, per-destination timeout then the step timeout',
      OPEN,
      [['no-answer'], ['answered']],
      ['desk:+15550000001/10', 'desk:+15550000002/20', 'connected'],
    ],
    [
      'busy and failed move on like a timeout; then the simultaneous step rings both at once',
      OPEN,
      [['busy'], ['failed'], ['cancelled', 'answered']],
      ['desk:+15550000001/10', 'desk:+15550000002/20', 'team:+15550000003/25+sip:agent@pbx.example.com/25', 'connected'],
    ],
    [
      'screening refused counts as a failure; open hours stop before the after-hours step: voicemail',
      OPEN,
      [['no-answer'], ['screened-out'], ['no-answer', 'busy']],
      ['desk:+15550000001/10', 'desk:+15550000002/20', 'team:+15550000003/25+sip:agent@pbx.example.com/25', 'voicemail'],
    ],
    [
      'after hours: round-robin pick, then failover to the other, then the final action',
      CLOSED,
      [['no-answer'], ['no-answer']],
      ['night:+15550000004/15', 'night:+15550000005/15', 'voicemail'],
    ],
  ] as const)('%s', (_name, now, outcomes, expected) => {
    const { actions } = play(plan(), now, outcomes.map((r) => [...r]));
    expect(rung(actions)).toEqual(expected);
  });

  it('a ring carries the plan’s caller ID mode, whisper and screening', () => {
    const action = nextAction(plan({ callerIdMode: 'tracking' }), startCall(plan(), { now: OPEN }), {});
    expect(action).toEqual({
      kind: 'ring',
      step: 'desk',
      strategy: 'sequential',
      destinations: [{ target: '+15550000001', ringTimeoutSeconds: 10 }],
      callerId: 'tracking',
      whisperMedia: 'sound:/var/lib/asterisk/sounds/callroute/announcement-4',
      screening: true,
    });
  });

  it.each([
    ['default whisper sound', { sound: 'default' } as const, 'sound:/var/lib/asterisk/sounds/callroute/whisper-default'],
    ['no whisper', null, null],
  ])('%s', (_name, whisper, media) => {
    const action = nextAction(plan({ whisper }), startCall(plan(), { now: OPEN }), {});
    expect(action.kind === 'ring' && action.whisperMedia).toBe(media);
  });

  it.each([
    ['voicemail with an uploaded greeting', { kind: 'voicemail', greeting: 9 } as const, { kind: 'voicemail', greeting: 9, greetingMedia: 'sound:/var/lib/asterisk/sounds/callroute/announcement-9' }],
    ['voicemail with the default greeting', { kind: 'voicemail', greeting: 'default' } as const, { kind: 'voicemail', greeting: 'default', greetingMedia: 'sound:/var/lib/asterisk/sounds/callroute/voicemail-greeting' }],
    ['a final rejection', { kind: 'reject', sipCode: 480 } as const, { kind: 'reject', sipCode: 480 }],
  ])('every step spent → %s', (_name, final, expected) => {
    const { actions } = play(plan({ final }), CLOSED, [['busy'], ['busy']]);
    expect(actions.at(-1)).toEqual(expected);
  });

  it('after hours with no after-hours step goes straight to the final action, ringing nobody', () => {
    const p = plan({ schedule: { open: { mon: [['09:00', '17:00']] }, closedDates: [], afterHoursStep: null } });
    const { actions, state } = play(p, CLOSED, []);
    expect(rung(actions)).toEqual(['voicemail']);
    expect(routeOutcomeFields(state)).toEqual({ routeStep: null, answeredDestination: null, destinationsTried: null });
  });

  it('a simultaneous step is spent after one round, whatever its outcomes', () => {
    const p = plan({ schedule: null, steps: [plan().steps[1]!] });
    const { actions } = play(p, OPEN, [['no-answer', 'failed']]);
    expect(rung(actions)).toEqual(['team:+15550000003/25+sip:agent@pbx.example.com/25', 'voicemail']);
  });
});

describe('round-robin', () => {
  const rrPlan = (weights: number[]) =>
    plan({
      schedule: null,
      steps: [
        {
          name: 'agents',
          strategy: 'round-robin',
          destinations: weights.map((weight, i) => ({ target: `+1555000010${i}`, weight })),
          ringTimeoutSeconds: 15,
        },
      ],
    });

  /** The first destination rung for each of `calls` calls, counters carried from call to call. */
  function firstPicks(p: RoutePlan, calls: number, rr: RoundRobinState = {}): string[] {
    const picks: string[] = [];
    for (let i = 0; i < calls; i += 1) {
      const { actions } = play(p, OPEN, [['answered']], rr);
      const first = actions[0];
      picks.push(first?.kind === 'ring' ? (first.destinations[0]?.target.slice(-1) ?? '?') : '-');
    }
    return picks;
  }

  it.each([
    ['equal weights take turns', [1, 1, 1], 6, '012012'],
    ['weights 2:1 interleave', [2, 1], 6, '010010'],
    ['weights 5:1:1 spread smoothly, not in a burst (nginx: a a b a c a a)', [5, 1, 1], 7, '0010200'],
    ['weights 3:1 over 8 calls: 6 and 2', [3, 1], 8, '00100010'],
  ])('%s', (_name, weights, calls, expected) => {
    expect(firstPicks(rrPlan(weights), calls).join('')).toBe(expected);
  });

  it('spreading survives a restart: the persisted counters carry on where they were', () => {
    const p = rrPlan([1, 1, 1]);
    const rr: RoundRobinState = {};
    const before = firstPicks(p, 2, rr);
    const persisted: RoundRobinState = JSON.parse(JSON.stringify(rr));
    expect([...before, ...firstPicks(p, 4, persisted)].join('')).toBe('012012');
  });

  it('a plan edit keeps the counters of destinations that stayed and starts new ones at 0', () => {
    expect(smoothWeightedPick({ a: 3, gone: 9 }, [{ target: 'a' }, { target: 'b' }])).toEqual({
      index: 0,
      counters: { a: 2, b: 1 },
    });
  });

  it('fails over from the pick to the following destinations in order, wrapping around', () => {
    const p = rrPlan([1, 1, 1]);
    const rr: RoundRobinState = { agents: { '+15550000100': -2, '+15550000101': 2, '+15550000102': 0 } };
    const { actions } = play(p, OPEN, [['no-answer'], ['busy'], ['no-answer']], rr);
    expect(rung(actions)).toEqual([
      'agents:+15550000101/15',
      'agents:+15550000102/15',
      'agents:+15550000100/15',
      'voicemail',
    ]);
    // Only the first ring of the step moves the counters.
    expect(actions.filter((a) => a.kind === 'ring' && a.roundRobin).length).toBe(1);
  });
});

describe('call record fields', () => {
  it('names the step and destination that answered, and every destination tried in order', () => {
    const { state } = play(plan(), OPEN, [['no-answer'], ['busy'], ['cancelled', 'answered']]);
    const fields = routeOutcomeFields(state);
    expect(fields.routeStep).toBe('team');
    expect(fields.answeredDestination).toBe('sip:agent@pbx.example.com');
    expect(parseDestinationsTried(fields.destinationsTried)).toEqual([
      { step: 'desk', target: '+15550000001', outcome: 'no-answer' },
      { step: 'desk', target: '+15550000002', outcome: 'busy' },
      { step: 'team', target: '+15550000003', outcome: 'cancelled' },
      { step: 'team', target: 'sip:agent@pbx.example.com', outcome: 'answered' },
    ]);
  });

  it('without an answer names the last step rung', () => {
    const { state } = play(plan(), CLOSED, [['busy'], ['no-answer']]);
    expect(routeOutcomeFields(state)).toMatchObject({ routeStep: 'night', answeredDestination: null });
  });

  it.each([
    ['null', null, []],
    ['not JSON', '{', []],
    ['not an array', '{}', []],
    ['bad entries skipped', '[{"step":"a","target":"b","outcome":"answered"},{"step":1},{"step":"a","target":"b","outcome":"nope"}]', [{ step: 'a', target: 'b', outcome: 'answered' }]],
  ])('parseDestinationsTried: %s', (_name, json, expected) => {
    expect(parseDestinationsTried(json)).toEqual(expected);
  });

  it('recordAttempt does not change the state it was given', () => {
    const state = startCall(plan(), { now: OPEN });
    recordAttempt(state, { step: 'desk', target: '+15550000001', outcome: 'busy' });
    expect(state.attempts).toEqual([]);
  });
});

describe('presentedCallerId', () => {
  it.each([
    ['caller', '+15559876543'],
    ['tracking', '+15551230000'],
  ] as const)('%s → %s', (mode, expected) => {
    expect(presentedCallerId({ callerIdMode: mode }, { callerNumber: '+15559876543', did: '+15551230000' })).toBe(expected);
  });
});
