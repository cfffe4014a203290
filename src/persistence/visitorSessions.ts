/**
 * Visitor sessions of the website snippet and the pool assignment they make, on either dialect
 * (works of ./store.ts). Assignment is a read-then-write (two page views must not get one number):
 * each session work runs as a transaction holding the account's assignment lock — SQLite's immediate
 * transaction holds the whole file; on PostgreSQL, several routers assign from one pool one at a time.
 */
import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import { choosePoolNumber, holdState } from '../attribution/poolAssignment.js';
import { resolveTouch, type AttributedTouch } from '../attribution/resolveTouch.js';
import type { AccountRow, NumberPoolRow, TrackingNumberRow, VisitRow } from './schema.js';
import { affected, lock, raw, row, rows, type Work } from './store.js';

/** The lock scope every assignment of an account's pool numbers holds (lock(ASSIGNMENT, accountId)). */
const ASSIGNMENT = 'pool-assignment';

export interface VisitorSession {
  visitorId: string;
  visit: VisitRow;
  /** The number to show: the visitor's pool number, else the fallback or source-level number; null: keep the page's. */
  number: TrackingNumberRow | null;
  /** The visitor holds a pool number, which the page must keep alive. */
  holding: boolean;
  idleReleaseSeconds: number | null;
}

export interface OpenSessionInput {
  account: Pick<AccountRow, 'id' | 'attributionModel' | 'attributionWindowDays'>;
  /** From the visitor's browser; unknown or absent ids get `newVisitorId`. */
  visitorId: string | null;
  touch: AttributedTouch;
  now: number;
  newVisitorId: () => string;
}

export function poolsOf(filter: { accountId?: number } = {}): Work<NumberPoolRow[]> {
  return function* ({ db, t }) {
    const q = db.select().from(t.numberPools);
    const filtered = filter.accountId === undefined ? q : q.where(eq(t.numberPools.accountId, filter.accountId));
    return yield* rows(filtered.orderBy(asc(t.numberPools.id)));
  };
}

export function poolById(id: number): Work<NumberPoolRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.numberPools).where(eq(t.numberPools.id, id)));
  };
}

function enabledNumber(id: number | null): Work<TrackingNumberRow | undefined> {
  return function* ({ db, t }) {
    if (id === null) return undefined;
    const number = yield* row(db.select().from(t.trackingNumbers).where(eq(t.trackingNumbers.id, id)));
    return number?.enabled ? number : undefined;
  };
}

/** The pool a source's visitors use: the pool for that source, else the account's catch-all (source null). */
function poolForSource(accountId: number, source: string): Work<NumberPoolRow | undefined> {
  return function* (q) {
    const pools = yield* poolsOf({ accountId })(q);
    const lower = source.toLowerCase();
    return pools.find((p) => p.source !== null && p.source.toLowerCase() === lower) ?? pools.find((p) => p.source === null);
  };
}

/**
 * The source-level number for a touch: an enabled number outside pools whose source is the touch's
 * (case-insensitive), preferring one whose medium, then campaign, also match.
 */
export function sourceLevelNumber(accountId: number, touch: Pick<AttributedTouch, 'source' | 'medium' | 'campaign'>): Work<TrackingNumberRow | undefined> {
  return function* ({ db, t }) {
    const { trackingNumbers } = t;
    const candidates = yield* rows(
      db
        .select()
        .from(trackingNumbers)
        .where(and(eq(trackingNumbers.accountId, accountId), isNull(trackingNumbers.poolId), eq(trackingNumbers.enabled, true)))
        .orderBy(asc(trackingNumbers.id)),
    );
    const eqi = (a: string | null, b: string | null) => a !== null && b !== null && a.toLowerCase() === b.toLowerCase();
    let best: TrackingNumberRow | undefined;
    let bestScore = -1;
    for (const number of candidates) {
      if (!eqi(number.source, touch.source)) continue;
      const score = (eqi(number.medium, touch.medium) ? 2 : 0) + (eqi(number.campaign, touch.campaign) ? 1 : 0);
      if (score > bestScore) {
        best = number;
        bestScore = score;
      }
    }
    return best;
  };
}

/**
 * What a visitor who opted out (Do Not Track, Global Privacy Control) is shown: the source-level
 * number, else the fallback number of the pool their source would use. Nothing is written.
 */
export function optOutNumber(accountId: number, touch: Pick<AttributedTouch, 'source' | 'medium' | 'campaign'>): Work<TrackingNumberRow | null> {
  return function* (q) {
    const pool = yield* poolForSource(accountId, touch.source)(q);
    return (yield* sourceLevelNumber(accountId, touch)(q)) ?? (yield* enabledNumber(pool?.fallbackTrackingNumberId ?? null)(q)) ?? null;
  };
}

interface PoolNumberState {
  id: number;
  lastReleased: number | null;
  holderId: number | null;
  holderSeen: number | null;
}

/**
 * Each enabled number of the pool with its live holder (the visit whose release is not written) and
 * its latest release. The correlated subqueries are single seeks on visits(tracking_number_id,
 * released_at), so the cost does not grow with the visit history.
 */
function poolNumberStates(pool: Pick<NumberPoolRow, 'id' | 'accountId'>): Work<PoolNumberState[]> {
  return function* ({ t }) {
    const { trackingNumbers: tn, visits } = t;
    return yield* raw<PoolNumberState>(sql`
      SELECT ${tn.id} AS "id",
        (SELECT max(v.released_at) FROM ${visits} v WHERE v.tracking_number_id = ${tn.id}) AS "lastReleased",
        (SELECT v.id FROM ${visits} v WHERE v.tracking_number_id = ${tn.id} AND v.released_at IS NULL ORDER BY v.id DESC LIMIT 1) AS "holderId",
        (SELECT v.last_seen_at FROM ${visits} v WHERE v.tracking_number_id = ${tn.id} AND v.released_at IS NULL ORDER BY v.id DESC LIMIT 1) AS "holderSeen"
      FROM ${tn}
      WHERE ${tn.accountId} = ${pool.accountId} AND ${tn.poolId} = ${pool.id} AND ${eq(tn.enabled, true)}
      ORDER BY ${tn.id}`);
  };
}

/** Which number of the pool a new visit gets now, what idled out, and how full the pool is. */
export function choosePoolNumberNow(pool: NumberPoolRow, now: number): Work<ReturnType<typeof choosePoolNumber>> {
  return function* (q) {
    const states = (yield* poolNumberStates(pool)(q)).map((r) => ({
      trackingNumberId: r.id,
      holder: r.holderId === null || r.holderSeen === null ? null : { visitId: r.holderId, lastSeenAt: r.holderSeen, releasedAt: null },
      lastReleasedAt: r.lastReleased,
    }));
    return choosePoolNumber(states, pool, now);
  };
}

function touchOfVisit(v: VisitRow): AttributedTouch {
  return {
    source: v.source ?? 'direct',
    medium: v.medium,
    campaign: v.campaign,
    landingPage: v.landingPage,
    referrer: v.referrer,
    utm: v.utm,
    clickIds: v.clickIds,
    direct: (v.source ?? 'direct') === 'direct' && v.utm === null && v.clickIds === null,
  };
}

/** The visitor's latest visit (visits_visitor_idx). */
export function latestVisit(accountId: number, visitorId: string): Work<VisitRow | undefined> {
  return function* ({ db, t }) {
    const { visits } = t;
    return yield* row(db.select().from(visits).where(and(eq(visits.accountId, accountId), eq(visits.visitorId, visitorId))).orderBy(desc(visits.id)).limit(1));
  };
}

/**
 * A live hold of this visit (its number still enabled and in the same pool), with the pool.
 * `resumeIdle`: a hold that idled out still counts while its release is unwritten — nobody else got
 * the number since (assignment writes the release first) — so a page whose heartbeats were late
 * (a throttled background tab) keeps its number instead of having it change under the visitor.
 */
function liveHold(v: VisitRow, now: number, resumeIdle = false): Work<{ pool: NumberPoolRow; number: TrackingNumberRow } | undefined> {
  return function* (q) {
    if (v.poolId === null || v.trackingNumberId === null || v.releasedAt !== null) return undefined;
    const pool = yield* poolById(v.poolId)(q);
    const number = yield* enabledNumber(v.trackingNumberId)(q);
    if (!pool || !number || number.poolId !== pool.id) return undefined;
    return resumeIdle || holdState(v, pool, now) === 'held' ? { pool, number } : undefined;
  };
}

function seen(visitId: number, now: number): Work<VisitRow> {
  return function* ({ db, t }) {
    return (yield* row(db.update(t.visits).set({ lastSeenAt: now }).where(eq(t.visits.id, visitId)).returning()))!;
  };
}

/**
 * A page view of a visitor who is not opted out (run it as a transaction):
 * - the visitor's latest visit still holds a pool number → the same visit goes on (heartbeat);
 * - else a new visit, attributed by the account's model (first/last touch within the window), gets
 *   the least recently used free number of its source's pool; an exhausted pool shows its fallback
 *   number (counted); without a pool, the source-level number.
 */
export function openVisitorSession(input: OpenSessionInput): Work<VisitorSession> {
  return function* (q) {
    const { account, now } = input;
    yield* lock(ASSIGNMENT, account.id);
    const known = input.visitorId === null ? undefined : yield* latestVisit(account.id, input.visitorId)(q);
    const visitorId = known ? (input.visitorId as string) : input.newVisitorId();
    if (known) {
      const live = yield* liveHold(known, now)(q);
      if (live) {
        const visit = yield* seen(known.id, now)(q);
        return { visitorId, visit, number: live.number, holding: true, idleReleaseSeconds: live.pool.idleReleaseSeconds };
      }
    }
    const resolved = resolveTouch({
      current: input.touch,
      previous: known ? { touch: touchOfVisit(known), firstVisitAt: known.firstVisitAt } : undefined,
      model: account.attributionModel,
      windowDays: account.attributionWindowDays,
      now,
    });
    return yield* assignNewVisit({ accountId: account.id, visitorId, touch: resolved.touch, firstVisitAt: resolved.firstVisitAt, now, countExhaustion: true })(q);
  };
}

function assignNewVisit(a: { accountId: number; visitorId: string; touch: AttributedTouch; firstVisitAt: number; now: number; countExhaustion: boolean }): Work<VisitorSession> {
  return function* (q) {
    const { db, t } = q;
    const { visits, numberPools } = t;
    const { touch, now } = a;
    const base = {
      accountId: a.accountId,
      visitorId: a.visitorId,
      lastSeenAt: now,
      landingPage: touch.landingPage,
      referrer: touch.referrer,
      utm: touch.utm,
      clickIds: touch.clickIds,
      source: touch.source,
      medium: touch.medium,
      campaign: touch.campaign,
      firstVisitAt: a.firstVisitAt,
      createdAt: now,
    };
    const insertVisit = (values: typeof base & Partial<VisitRow>) => row(db.insert(visits).values(values).returning());
    const pool = yield* poolForSource(a.accountId, touch.source)(q);
    if (!pool) {
      const visit = (yield* insertVisit(base))!;
      return { visitorId: a.visitorId, visit, number: (yield* sourceLevelNumber(a.accountId, touch)(q)) ?? null, holding: false, idleReleaseSeconds: null };
    }
    const choice = yield* choosePoolNumberNow(pool, now)(q);
    for (const e of choice.expired) {
      yield* affected(db.update(visits).set({ releasedAt: e.releasedAt }).where(and(eq(visits.id, e.visitId), isNull(visits.releasedAt))));
    }
    if (choice.trackingNumberId === null) {
      if (a.countExhaustion) {
        yield* affected(db.update(numberPools).set({ exhaustedCount: sql`${numberPools.exhaustedCount} + 1` }).where(eq(numberPools.id, pool.id)));
      }
      // No number on the visit: the fallback is shared, so a call on it must not match this visitor.
      const visit = (yield* insertVisit({ ...base, poolId: pool.id }))!;
      const number = (yield* enabledNumber(pool.fallbackTrackingNumberId)(q)) ?? (yield* sourceLevelNumber(a.accountId, touch)(q)) ?? null;
      return { visitorId: a.visitorId, visit, number, holding: false, idleReleaseSeconds: pool.idleReleaseSeconds };
    }
    const visit = (yield* insertVisit({ ...base, poolId: pool.id, trackingNumberId: choice.trackingNumberId, assignedAt: now }))!;
    return {
      visitorId: a.visitorId,
      visit,
      number: (yield* enabledNumber(choice.trackingNumberId)(q)) ?? null,
      holding: true,
      idleReleaseSeconds: pool.idleReleaseSeconds,
    };
  };
}

/**
 * The page's keep-alive (run it as a transaction). A hold is extended (also one that idled out while
 * nobody took its number). A visit whose pool was exhausted (or whose number went to someone else)
 * gets a number if one is free now, with the same attribution (not counted as another exhaustion).
 * Undefined when the visitor has no visit.
 */
export function heartbeatVisitor(accountId: number, visitorId: string, now: number): Work<VisitorSession | undefined> {
  return function* (q) {
    yield* lock(ASSIGNMENT, accountId);
    const known = yield* latestVisit(accountId, visitorId)(q);
    if (!known) return undefined;
    const live = yield* liveHold(known, now, true)(q);
    if (live) {
      const visit = yield* seen(known.id, now)(q);
      return { visitorId, visit, number: live.number, holding: true, idleReleaseSeconds: live.pool.idleReleaseSeconds };
    }
    if (known.poolId === null) {
      const visit = yield* seen(known.id, now)(q);
      return { visitorId, visit, number: (yield* sourceLevelNumber(accountId, touchOfVisit(known))(q)) ?? null, holding: false, idleReleaseSeconds: null };
    }
    const pool = yield* poolById(known.poolId)(q);
    const retry = yield* assignNewVisit({ accountId, visitorId, touch: touchOfVisit(known), firstVisitAt: known.firstVisitAt, now, countExhaustion: false })(q);
    if (!retry.holding && known.trackingNumberId === null && pool) {
      // Still exhausted: keep one visit row per exhausted visitor rather than one per heartbeat.
      yield* affected(q.db.delete(q.t.visits).where(eq(q.t.visits.id, retry.visit.id)));
      const visit = yield* seen(known.id, now)(q);
      return { ...retry, visit };
    }
    return retry;
  };
}
