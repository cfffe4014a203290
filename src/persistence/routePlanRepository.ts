import { and, asc, eq, notInArray, sql } from 'drizzle-orm';
import { nextAction } from '../routing/routePlan/nextAction.js';
import type {
  CallRouteState,
  CallerIdMode,
  NextAction,
  RoundRobinState,
  RoutePlan,
  RoutePlanDefinition,
} from '../routing/routePlan/types.js';
import type { Db } from './openDatabase.js';
import type { RoutePlanRow } from './schema.js';
import { affected, lock, row, rows, runOnSqlite, type Store, type Work } from './store.js';
import { createVersionedCache } from './versionedCache.js';

/** A plan as stored; the caller has validated it (validateRoutePlan) and normalised its destinations. */
export interface RoutePlanInput {
  accountId: number;
  name: string;
  timeZone: string;
  callerIdMode: CallerIdMode;
  definition: RoutePlanDefinition;
}

function definitionJson(d: RoutePlanDefinition): string {
  // Fixed key order, so the stored JSON reads the same whatever order the request had.
  return JSON.stringify({ steps: d.steps, schedule: d.schedule, whisper: d.whisper, screening: d.screening, final: d.final });
}

/** The row as the router uses it. The definition was validated before it was written. */
export function toRoutePlan(row: RoutePlanRow): RoutePlan {
  const d = JSON.parse(row.definition) as RoutePlanDefinition;
  return {
    id: row.id,
    accountId: row.accountId,
    name: row.name,
    timeZone: row.timeZone,
    callerIdMode: row.callerIdMode,
    steps: d.steps,
    schedule: d.schedule ?? null,
    whisper: d.whisper ?? null,
    screening: d.screening ?? false,
    final: d.final,
  };
}

export function createRoutePlan(input: RoutePlanInput, now: number = Date.now()): Work<RoutePlanRow> {
  return function* ({ db, t }) {
    const values = {
      accountId: input.accountId,
      name: input.name,
      timeZone: input.timeZone,
      callerIdMode: input.callerIdMode,
      definition: definitionJson(input.definition),
      createdAt: now,
      updatedAt: now,
    };
    return (yield* row(db.insert(t.routePlans).values(values).returning()))!;
  };
}

export function getRoutePlanRow(id: number): Work<RoutePlanRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.routePlans).where(eq(t.routePlans.id, id)));
  };
}

/**
 * The plan a call follows, read once when the call arrives (one primary-key probe); the session
 * keeps this snapshot for the whole call, so an edit never changes a call in progress. On SQLite,
 * synchronously (the call path there).
 */
export function loadRoutePlan(db: Db, id: number): RoutePlan | undefined {
  const found = runOnSqlite(db, getRoutePlanRow(id));
  return found ? toRoutePlan(found) : undefined;
}

export function listRoutePlans(filter: { accountId?: number } = {}): Work<RoutePlanRow[]> {
  return function* ({ db, t }) {
    const q = db.select().from(t.routePlans);
    const filtered = filter.accountId === undefined ? q : q.where(eq(t.routePlans.accountId, filter.accountId));
    return yield* rows(filtered.orderBy(asc(t.routePlans.id)));
  };
}

/**
 * Replaces a plan's name, zone, caller ID mode and definition. Round-robin counters of steps that
 * no longer exist are dropped; those of steps kept stay (the spreading carries on). Run it as a transaction.
 */
export function updateRoutePlan(id: number, input: Omit<RoutePlanInput, 'accountId'>, now: number = Date.now()): Work<RoutePlanRow | undefined> {
  return function* ({ db, t }) {
    const set = { name: input.name, timeZone: input.timeZone, callerIdMode: input.callerIdMode, definition: definitionJson(input.definition), updatedAt: now };
    const updated = yield* row(db.update(t.routePlans).set(set).where(eq(t.routePlans.id, id)).returning());
    if (!updated) return undefined;
    const kept = input.definition.steps.map((step) => step.name);
    const rr = t.routePlanRoundRobin;
    yield* affected(db.delete(rr).where(and(eq(rr.planId, id), notInArray(rr.stepName, kept))));
    return updated;
  };
}

/** Ids of the tracking numbers whose calls follow this plan. */
export function trackingNumbersUsingPlan(planId: number): Work<number[]> {
  return function* ({ db, t }) {
    const n = t.trackingNumbers;
    return (yield* rows(db.select({ id: n.id }).from(n).where(eq(n.routePlanId, planId)).orderBy(asc(n.id)))).map((r) => r.id);
  };
}

/**
 * Ids of the plans that play an announcement (custom whisper or voicemail greeting), so deleting
 * the announcement can be refused like one a tracking number uses. Reads every plan: an admin
 * action, never on a call's path.
 */
export function routePlansUsingAnnouncement(announcementId: number): Work<number[]> {
  return function* (q) {
    return (yield* listRoutePlans()(q))
      .map(toRoutePlan)
      .filter((p) => (p.whisper?.sound === 'custom' && p.whisper.announcementId === announcementId) || (p.final.kind === 'voicemail' && p.final.greeting === announcementId))
      .map((p) => p.id);
  };
}

/** Deletes a plan no tracking number uses: 'in-use' (nothing deleted) when some do. Run it as a transaction. */
export function deleteRoutePlan(id: number): Work<'deleted' | 'not-found' | 'in-use'> {
  return function* ({ db, t }) {
    const used = yield* row(db.select({ id: t.trackingNumbers.id }).from(t.trackingNumbers).where(eq(t.trackingNumbers.routePlanId, id)).limit(1));
    if (used) return 'in-use';
    yield* affected(db.delete(t.routePlanRoundRobin).where(eq(t.routePlanRoundRobin.planId, id)));
    return (yield* affected(db.delete(t.routePlans).where(eq(t.routePlans.id, id)))) > 0 ? 'deleted' : 'not-found';
  };
}

/** Round-robin counters of every round-robin step of a plan. */
export function roundRobinState(planId: number): Work<RoundRobinState> {
  return function* ({ db, t }) {
    const out: RoundRobinState = {};
    for (const r of yield* rows(db.select().from(t.routePlanRoundRobin).where(eq(t.routePlanRoundRobin.planId, planId)))) {
      try {
        out[r.stepName] = JSON.parse(r.counters) as Record<string, number>;
      } catch {
        out[r.stepName] = {};
      }
    }
    return out;
  };
}

/** roundRobinState on SQLite, synchronously. */
export function loadRoundRobinState(db: Db, planId: number): RoundRobinState {
  return runOnSqlite(db, roundRobinState(planId));
}

export function saveRoundRobinCounters(planId: number, step: string, counters: Record<string, number>, now: number = Date.now()): Work<void> {
  return function* ({ db, t }) {
    const rr = t.routePlanRoundRobin;
    const json = JSON.stringify(counters);
    yield* affected(
      db
        .insert(rr)
        .values({ planId, stepName: step, counters: json, calls: 1, updatedAt: now })
        .onConflictDoUpdate({ target: [rr.planId, rr.stepName], set: { counters: json, calls: sql`${rr.calls} + 1`, updatedAt: now } }),
    );
  };
}

/** The lock scope of a plan's round-robin counters (lock(ROUND_ROBIN, planId)). */
const ROUND_ROBIN = 'round-robin';

/**
 * `nextAction` with the plan's round-robin counters read and, when the action picks a round-robin
 * destination, written back — as one transaction holding the plan's lock, so calls arriving together
 * (in this process or another router on the same database) never read the same counters and pick the
 * same destination. Run it as a transaction.
 */
export function nextActionTaken(plan: RoutePlan, state: CallRouteState, now: number = Date.now()): Work<NextAction> {
  return function* (q) {
    yield* lock(ROUND_ROBIN, plan.id);
    const action = nextAction(plan, state, yield* roundRobinState(plan.id)(q));
    if (action.kind === 'ring' && action.roundRobin) yield* saveRoundRobinCounters(plan.id, action.roundRobin.step, action.roundRobin.counters, now)(q);
    return action;
  };
}

/**
 * nextActionTaken on SQLite, synchronously, in one immediate transaction: what CallSession calls at
 * arrival and after each ring.
 *
 * @example
 * const plan = loadRoutePlan(db, number.routePlanId)!;
 * let state = startCall(plan, { now: new Date() });
 * const action = takeNextAction(db, plan, state); // { kind: 'ring', step, destinations, ... }
 */
export function takeNextAction(db: Db, plan: RoutePlan, state: CallRouteState, now: number = Date.now()): NextAction {
  return runOnSqlite(db, nextActionTaken(plan, state, now), { transaction: true });
}

/**
 * What changes when any plan is created, edited or deleted: their number, and the sum and latest of
 * their update times (an edit always moves its plan's update time forward).
 */
export function routePlansVersion(): Work<string> {
  return function* ({ db, t }) {
    const p = t.routePlans;
    const v = yield* row(db.select({ n: sql<number>`count(*)`, latest: sql<number | null>`max(${p.updatedAt})`, sum: sql<number | null>`sum(${p.updatedAt})` }).from(p));
    return `${v?.n ?? 0}:${v?.latest ?? 0}:${v?.sum ?? 0}`;
  };
}

/**
 * Route plans and their round-robin counters in memory, for a call path that must not wait for the
 * database (PostgreSQL): a plan is looked up by id at arrival, and `takeNextAction` picks the next
 * destinations at once, writing the counters behind the call. The plans are read again when
 * routePlansVersion moves (timer, and after API writes). Each node spreads its own calls round robin
 * from the counters it loaded; with several nodes the spread is even per node (each writes its
 * counters back for the next start).
 */
export function createRoutePlanCache(store: Store, options: { intervalMs?: number; onError?: (err: unknown) => void } = {}) {
  const counters = new Map<number, RoundRobinState>();
  const saving = new Map<number, Promise<void>>();
  const cache = createVersionedCache<ReadonlyMap<number, RoutePlan>>({
    version: () => store.run(routePlansVersion()),
    load: async () => {
      const plans = (await store.run(listRoutePlans())).map(toRoutePlan);
      for (const plan of plans) if (!counters.has(plan.id)) counters.set(plan.id, await store.run(roundRobinState(plan.id)));
      return new Map(plans.map((plan) => [plan.id, plan]));
    },
    initial: new Map(),
    ...options,
  });
  return {
    ...cache,
    plan: (id: number): RoutePlan | undefined => cache.current().get(id),
    takeNextAction(plan: RoutePlan, state: CallRouteState, now: number = Date.now()): NextAction {
      const action = nextAction(plan, state, counters.get(plan.id) ?? {});
      if (action.kind === 'ring' && action.roundRobin) {
        const { step, counters: next } = action.roundRobin;
        counters.set(plan.id, { ...(counters.get(plan.id) ?? {}), [step]: next });
        // One plan's saves in order (each query may take another pooled connection): the last pick's counters win.
        const saved = (saving.get(plan.id) ?? Promise.resolve())
          .then(() => store.run(saveRoundRobinCounters(plan.id, step, next, now)))
          .catch((err: unknown) => options.onError?.(err));
        saving.set(plan.id, saved);
        void saved.finally(() => {
          if (saving.get(plan.id) === saved) saving.delete(plan.id);
        });
      }
      return action;
    },
    /** Resolves once every counter picked so far is written (shutdown, tests). */
    async settled(): Promise<void> {
      await Promise.all([...saving.values()]);
    },
  };
}
