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
import { routePlanRoundRobin, routePlans, trackingNumbers, type RoutePlanRow } from './schema.js';

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

export function createRoutePlan(db: Db, input: RoutePlanInput, now: number = Date.now()): RoutePlanRow {
  return db
    .insert(routePlans)
    .values({
      accountId: input.accountId,
      name: input.name,
      timeZone: input.timeZone,
      callerIdMode: input.callerIdMode,
      definition: definitionJson(input.definition),
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .get();
}

export function getRoutePlanRow(db: Db, id: number): RoutePlanRow | undefined {
  return db.select().from(routePlans).where(eq(routePlans.id, id)).get();
}

/**
 * The plan a call follows, read once when the call arrives (one primary-key probe); the session
 * keeps this snapshot for the whole call, so an edit never changes a call in progress.
 */
export function loadRoutePlan(db: Db, id: number): RoutePlan | undefined {
  const row = getRoutePlanRow(db, id);
  return row ? toRoutePlan(row) : undefined;
}

export function listRoutePlans(db: Db, filter: { accountId?: number } = {}): RoutePlanRow[] {
  const q = db.select().from(routePlans);
  const filtered = filter.accountId === undefined ? q : q.where(eq(routePlans.accountId, filter.accountId));
  return filtered.orderBy(asc(routePlans.id)).all();
}

/**
 * Replaces a plan's name, zone, caller ID mode and definition. Round-robin counters of steps that
 * no longer exist are dropped; those of steps kept stay (the spreading carries on).
 */
export function updateRoutePlan(
  db: Db,
  id: number,
  input: Omit<RoutePlanInput, 'accountId'>,
  now: number = Date.now(),
): RoutePlanRow | undefined {
  return db.transaction((tx) => {
    const row = tx
      .update(routePlans)
      .set({
        name: input.name,
        timeZone: input.timeZone,
        callerIdMode: input.callerIdMode,
        definition: definitionJson(input.definition),
        updatedAt: now,
      })
      .where(eq(routePlans.id, id))
      .returning()
      .get();
    if (!row) return undefined;
    const kept = input.definition.steps.map((s) => s.name);
    tx.delete(routePlanRoundRobin)
      .where(and(eq(routePlanRoundRobin.planId, id), notInArray(routePlanRoundRobin.stepName, kept)))
      .run();
    return row;
  });
}

/** Ids of the tracking numbers whose calls follow this plan. */
export function trackingNumbersUsingPlan(db: Db, planId: number): number[] {
  return db
    .select({ id: trackingNumbers.id })
    .from(trackingNumbers)
    .where(eq(trackingNumbers.routePlanId, planId))
    .orderBy(asc(trackingNumbers.id))
    .all()
    .map((r) => r.id);
}

/**
 * Ids of the plans that play an announcement (custom whisper or voicemail greeting), so deleting
 * the announcement can be refused like one a tracking number uses. Reads every plan: an admin
 * action, never on a call's path.
 */
export function routePlansUsingAnnouncement(db: Db, announcementId: number): number[] {
  return listRoutePlans(db)
    .map(toRoutePlan)
    .filter(
      (p) =>
        (p.whisper?.sound === 'custom' && p.whisper.announcementId === announcementId) ||
        (p.final.kind === 'voicemail' && p.final.greeting === announcementId),
    )
    .map((p) => p.id);
}

/** Deletes a plan no tracking number uses: 'in-use' (nothing deleted) when some do. */
export function deleteRoutePlan(db: Db, id: number): 'deleted' | 'not-found' | 'in-use' {
  return db.transaction((tx) => {
    const used = tx.select({ id: trackingNumbers.id }).from(trackingNumbers).where(eq(trackingNumbers.routePlanId, id)).limit(1).get();
    if (used) return 'in-use';
    tx.delete(routePlanRoundRobin).where(eq(routePlanRoundRobin.planId, id)).run();
    const deleted = tx.delete(routePlans).where(eq(routePlans.id, id)).returning({ id: routePlans.id }).get();
    return deleted ? 'deleted' : 'not-found';
  });
}

/** Round-robin counters of every round-robin step of a plan. */
export function loadRoundRobinState(db: Db, planId: number): RoundRobinState {
  const out: RoundRobinState = {};
  for (const row of db.select().from(routePlanRoundRobin).where(eq(routePlanRoundRobin.planId, planId)).all()) {
    try {
      out[row.stepName] = JSON.parse(row.counters) as Record<string, number>;
    } catch {
      out[row.stepName] = {};
    }
  }
  return out;
}

export function saveRoundRobinCounters(
  db: Db,
  planId: number,
  step: string,
  counters: Record<string, number>,
  now: number = Date.now(),
): void {
  const json = JSON.stringify(counters);
  db.insert(routePlanRoundRobin)
    .values({ planId, stepName: step, counters: json, calls: 1, updatedAt: now })
    .onConflictDoUpdate({
      target: [routePlanRoundRobin.planId, routePlanRoundRobin.stepName],
      set: { counters: json, calls: sql`${routePlanRoundRobin.calls} + 1`, updatedAt: now },
    })
    .run();
}

/**
 * `nextAction` with the plan's round-robin counters read and, when the action picks a round-robin
 * destination, written back — in one synchronous transaction, so calls arriving together (in this
 * process or another router on the same database) never read the same counters and pick the same
 * destination. What CallSession calls at arrival and after each ring.
 *
 * @example
 * const plan = loadRoutePlan(db, number.routePlanId)!;
 * let state = startCall(plan, { now: new Date() });
 * const action = takeNextAction(db, plan, state); // { kind: 'ring', step, destinations, ... }
 */
export function takeNextAction(db: Db, plan: RoutePlan, state: CallRouteState, now: number = Date.now()): NextAction {
  return db.transaction((tx) => {
    const txDb = tx as unknown as Db;
    const action = nextAction(plan, state, loadRoundRobinState(txDb, plan.id));
    if (action.kind === 'ring' && action.roundRobin) {
      saveRoundRobinCounters(txDb, plan.id, action.roundRobin.step, action.roundRobin.counters, now);
    }
    return action;
  });
}
