import { runOnSqlite } from '../../src/persistence/store.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/persistence/accountRepository.js';
import { createAnnouncement } from '../../src/persistence/announcementRepository.js';
import { findDisallowedDestinations, loadAllowlist } from '../../src/persistence/dialAllowlistRepository.js';
import { createTrackingNumber } from '../../src/persistence/trackingNumberRepository.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import {
  createRoutePlan,
  createRoutePlanCache,
  deleteRoutePlan,
  roundRobinState,
  loadRoundRobinState,
  loadRoutePlan,
  routePlansUsingAnnouncement,
  takeNextAction,
  updateRoutePlan,
} from '../../src/persistence/routePlanRepository.js';
import { recordAttempt, startCall, type RoutePlanDefinition } from '../../src/routing/routePlan/index.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

let dir: string;
let dbPath: string;
let db: Db;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'callroute-rr-'));
  dbPath = join(dir, 'test.db');
  db = openDatabase(dbPath);
});

afterEach(() => {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
});

const definition = (weights: number[]): RoutePlanDefinition => ({
  steps: [
    {
      name: 'agents',
      strategy: 'round-robin',
      destinations: weights.map((weight, i) => ({ target: `+1555000010${i}`, weight })),
      ringTimeoutSeconds: 20,
    },
  ],
  schedule: null,
  whisper: null,
  screening: false,
  final: { kind: 'reject', sipCode: 480 },
});

function newPlan(weights: number[]): number {
  const account = runOnSqlite(db, createAccount({ name: 'Acme' }));
  return (runOnSqlite(db, createRoutePlan({ accountId: account.id, name: 'rr', timeZone: 'UTC', callerIdMode: 'caller', definition: definition(weights) }))).id;
}

/** The destination the first ring of a new call goes to (digit after the prefix). */
function firstRing(planId: number): string {
  const plan = loadRoutePlan(db, planId);
  if (!plan) throw new Error('no plan');
  const action = takeNextAction(db, plan, startCall(plan, { now: new Date() }));
  return action.kind === 'ring' ? (action.destinations[0]?.target.slice(-1) ?? '?') : action.kind;
}

describe('round-robin counters persisted', () => {
  it('spread calls by weight across calls, and carry on after the router restarts', () => {
    const id = newPlan([2, 1, 1]);
    const before = [firstRing(id), firstRing(id), firstRing(id)];
    db.$client.close();
    db = openDatabase(dbPath); // a restart: only the database remains
    const after = [firstRing(id), firstRing(id), firstRing(id), firstRing(id), firstRing(id)];
    expect([...before, ...after].join('')).toBe('01200120');
    expect(loadRoundRobinState(db, id).agents).toBeDefined();
  });

  it('calls arriving together (no ring ended yet) each get the next turn', () => {
    const id = newPlan([1, 1, 1]);
    const plan = loadRoutePlan(db, id)!;
    const states = [0, 1, 2].map(() => startCall(plan, { now: new Date() }));
    const picks = states.map((s) => {
      const a = takeNextAction(db, plan, s);
      return a.kind === 'ring' ? a.destinations[0]?.target : a.kind;
    });
    expect(new Set(picks).size).toBe(3);
  });

  it('failover within a call does not move the counters', () => {
    const id = newPlan([1, 1]);
    const plan = loadRoutePlan(db, id)!;
    let state = startCall(plan, { now: new Date() });
    const first = takeNextAction(db, plan, state);
    expect(first.kind === 'ring' && first.destinations[0]?.target).toBe('+15550000100');
    const counters = loadRoundRobinState(db, id);
    state = recordAttempt(state, { step: 'agents', target: '+15550000100', outcome: 'no-answer' });
    const second = takeNextAction(db, plan, state);
    expect(second.kind === 'ring' && second.destinations[0]?.target).toBe('+15550000101');
    expect(loadRoundRobinState(db, id)).toEqual(counters);
    state = recordAttempt(state, { step: 'agents', target: '+15550000101', outcome: 'busy' });
    expect(takeNextAction(db, plan, state)).toEqual({ kind: 'reject', sipCode: 480 });
    // The next call starts with the other destination.
    expect(firstRing(id)).toBe('1');
  });

  it('an edit drops the counters of removed steps; deleting the plan drops them all', () => {
    const id = newPlan([1, 1]);
    firstRing(id);
    const renamed = definition([1, 1]);
    renamed.steps[0] = { ...renamed.steps[0]!, name: 'renamed' };
    runOnSqlite(db, updateRoutePlan(id, { name: 'rr', timeZone: 'UTC', callerIdMode: 'caller', definition: renamed }), { transaction: true });
    expect(loadRoundRobinState(db, id)).toEqual({});
    firstRing(id);
    expect(Object.keys(loadRoundRobinState(db, id))).toEqual(['renamed']);
    expect(runOnSqlite(db, deleteRoutePlan(id), { transaction: true })).toBe('deleted');
    expect(loadRoundRobinState(db, id)).toEqual({});
  });
});

describe('findDisallowedDestinations', () => {
  it('names rows saved before the guard existed (e.g. by an older version), for a start-up warning', () => {
    const account = runOnSqlite(db, createAccount({ name: 'Acme' }));
    runOnSqlite(db, createTrackingNumber({ accountId: account.id, did: '+15551230000', destination: '+19005550100' }));
    runOnSqlite(db, createTrackingNumber({ accountId: account.id, did: '+15551230001', destination: '+15550001111' }));
    const plan = runOnSqlite(db, createRoutePlan({ accountId: account.id, name: 'legacy', timeZone: 'UTC', callerIdMode: 'caller', definition: definition([1]) }));
    expect(runOnSqlite(db, findDisallowedDestinations(runOnSqlite(db, loadAllowlist()), '1'))).toEqual([
      'tracking number 1 (+15551230000) destination: +19005550100 is a premium-rate number (US/Canada 900 premium-rate service); premium-rate destinations are never dialed',
    ]);
    expect(runOnSqlite(db, findDisallowedDestinations([{ kind: 'prefix', value: '+44' }], '1'))).toEqual([
      `route plan ${plan.id} (legacy) step agents: +15550000100 is outside the dial allowlist (+44)`,
      'tracking number 1 (+15551230000) destination: +19005550100 is a premium-rate number (US/Canada 900 premium-rate service); premium-rate destinations are never dialed',
      'tracking number 2 (+15551230001) destination: +15550001111 is outside the dial allowlist (+44)',
    ]);
  });
});

describe('routePlansUsingAnnouncement', () => {
  it('finds plans whose whisper or voicemail greeting plays the announcement', () => {
    const account = runOnSqlite(db, createAccount({ name: 'Acme' }));
    const a = (runOnSqlite(db, createAnnouncement({ accountId: account.id, name: 'a', soundName: 'callroute/announcement-1' }))).id;
    const b = (runOnSqlite(db, createAnnouncement({ accountId: account.id, name: 'b', soundName: 'callroute/announcement-2' }))).id;
    const base = { accountId: account.id, timeZone: 'UTC', callerIdMode: 'caller' as const };
    const whisper = (runOnSqlite(db, createRoutePlan({ ...base, name: 'w', definition: { ...definition([1]), whisper: { sound: 'custom', announcementId: a } } }))).id;
    const greeting = (runOnSqlite(db, createRoutePlan({ ...base, name: 'g', definition: { ...definition([1]), final: { kind: 'voicemail', greeting: a } } }))).id;
    runOnSqlite(db, createRoutePlan({ ...base, name: 'none', definition: definition([1]) }));
    expect(runOnSqlite(db, routePlansUsingAnnouncement(a))).toEqual([whisper, greeting]);
    expect(runOnSqlite(db, routePlansUsingAnnouncement(b))).toEqual([]);
  });
});

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('route plans in memory (the call path where the database is a round trip) on %s', (_dialect, open) => {
  it('know every plan at once, pick round robin as the transaction does, write the counters behind, and take an edit at the next look', async () => {
    const store = await open();
    const cache = createRoutePlanCache(store);
    try {
      const account = await store.run(createAccount({ name: 'Acme' }));
      const id = (await store.run(createRoutePlan({ accountId: account.id, name: 'rr', timeZone: 'UTC', callerIdMode: 'caller', definition: definition([2, 1, 1]) }))).id;
      await cache.refresh();
      const plan = cache.plan(id)!;
      const ring = () => {
        const a = cache.takeNextAction(plan, startCall(plan, { now: new Date() }));
        return a.kind === 'ring' ? (a.destinations[0]?.target.slice(-1) ?? '?') : a.kind;
      };
      // The weights' order, as 'spread calls by weight' above sees it through the transaction.
      expect([ring(), ring(), ring(), ring()].join('')).toBe('0120');
      await cache.settled();
      expect((await store.run(roundRobinState(id))).agents).toBeDefined();
      // A new node (or a restart) carries on from the counters written.
      const next = createRoutePlanCache(store);
      await next.refresh();
      const again = next.takeNextAction(next.plan(id)!, startCall(plan, { now: new Date() }));
      expect(again.kind === 'ring' && again.destinations[0]?.target.slice(-1)).toBe('0');
      await store.run(updateRoutePlan(id, { name: 'rr', timeZone: 'UTC', callerIdMode: 'caller', definition: { ...definition([1]), final: { kind: 'reject', sipCode: 486 } } }, Date.now() + 1), { transaction: true });
      await cache.refresh();
      expect(cache.plan(id)?.final).toEqual({ kind: 'reject', sipCode: 486 });
      expect(await store.run(deleteRoutePlan(id), { transaction: true })).toBe('deleted');
      await cache.refresh();
      expect(cache.plan(id)).toBeUndefined();
    } finally {
      cache.stop();
      await store.close();
    }
  });
});
