/** What the retention job reads and deletes: works of ./store.ts. */
import { and, asc, count, eq, gt, inArray, isNotNull, isNull, lt, min, notInArray, or, sql } from 'drizzle-orm';
import type { AccountRow, CallRow } from './schema.js';
import { affected, row, rows, type QueryContext, type Work } from './store.js';

type Due = { due: number; oldestKept: number | null };

/** The accounts and how long each keeps what (null: kept). */
export function accountRetention(accountIds?: readonly number[]): Work<Array<Pick<AccountRow, 'id' | 'recordingRetentionDays' | 'callRetentionDays' | 'visitRetentionDays' | 'auditRetentionDays'>>> {
  return function* ({ db, t }) {
    const a = t.accounts;
    const all = yield* rows(
      db
        .select({ id: a.id, recordingRetentionDays: a.recordingRetentionDays, callRetentionDays: a.callRetentionDays, visitRetentionDays: a.visitRetentionDays, auditRetentionDays: a.auditRetentionDays })
        .from(a)
        .orderBy(asc(a.id)),
    );
    return accountIds === undefined ? all : all.filter((r) => accountIds.includes(r.id));
  };
}

type Cursor = { arrivedAt: number; id: number };

export function callsCursor(accountId: number): Work<Cursor | null> {
  return function* ({ db, t }) {
    const found = yield* row(db.select().from(t.retentionCursors).where(eq(t.retentionCursors.accountId, accountId)));
    return found ? { arrivedAt: found.callsArrivedAt, id: found.callsId } : null;
  };
}

export function saveCallsCursor(accountId: number, c: Cursor): Work<void> {
  return function* ({ db, t }) {
    const r = t.retentionCursors;
    yield* affected(db.insert(r).values({ accountId, callsArrivedAt: c.arrivedAt, callsId: c.id }).onConflictDoUpdate({ target: r.accountId, set: { callsArrivedAt: c.arrivedAt, callsId: c.id } }));
  };
}

/** The keyset condition "after the cursor, before the cutoff" on (account_id, arrived_at): the index's range. */
function callsWindow({ t }: QueryContext, accountId: number, cutoff: number, after: Cursor | null) {
  const { calls } = t;
  const past = after === null ? undefined : or(gt(calls.arrivedAt, after.arrivedAt), and(eq(calls.arrivedAt, after.arrivedAt), gt(calls.id, after.id)));
  return and(eq(calls.accountId, accountId), lt(calls.arrivedAt, cutoff), past);
}

/** The next calls of an account past its retention, oldest first, after the cursor (calls_account_arrived_idx). */
export function callsPastRetention(accountId: number, cutoff: number, after: Cursor | null, limit: number): Work<CallRow[]> {
  return function* (q) {
    const { calls } = q.t;
    return yield* rows(q.db.select().from(calls).where(callsWindow(q, accountId, cutoff, after)).orderBy(asc(calls.arrivedAt), asc(calls.id)).limit(limit));
  };
}

/** How many calls the next run anonymises, and when the oldest kept one arrived. */
export function callsDue(accountId: number, cutoff: number, after: Cursor | null): Work<Due> {
  return function* (q) {
    const { db, t } = q;
    const due = (yield* row(db.select({ n: count() }).from(t.calls).where(callsWindow(q, accountId, cutoff, after))))?.n ?? 0;
    const kept = (yield* row(db.select({ at: min(t.calls.arrivedAt) }).from(t.calls).where(and(eq(t.calls.accountId, accountId), sql`${t.calls.arrivedAt} >= ${cutoff}`))))?.at;
    return { due, oldestKept: kept ?? null };
  };
}

/** Deletes up to `limit` visits of an account last seen before the cutoff, oldest first; returns how many went. */
export function deleteVisitsBefore(accountId: number, cutoff: number, limit: number): Work<number> {
  return function* ({ db, t }) {
    const v = t.visits;
    const oldest = db.select({ id: v.id }).from(v).where(and(eq(v.accountId, accountId), lt(v.lastSeenAt, cutoff))).orderBy(asc(v.id)).limit(limit);
    return yield* affected(db.delete(v).where(inArray(v.id, oldest)));
  };
}

export function visitsDue(accountId: number, cutoff: number): Work<Due> {
  return function* ({ db, t }) {
    const v = t.visits;
    const due = (yield* row(db.select({ n: count() }).from(v).where(and(eq(v.accountId, accountId), lt(v.lastSeenAt, cutoff)))))?.n ?? 0;
    const kept = (yield* row(db.select({ at: min(v.lastSeenAt) }).from(v).where(and(eq(v.accountId, accountId), sql`${v.lastSeenAt} >= ${cutoff}`))))?.at;
    return { due, oldestKept: kept ?? null };
  };
}

/** Deletes up to `limit` audit entries of an account (null: the installation's own) from before the cutoff, oldest first. */
export function deleteAuditBefore(accountId: number | null, cutoff: number, limit: number): Work<number> {
  return function* ({ db, t }) {
    const log = t.auditLog;
    const mine = accountId === null ? isNull(log.accountId) : eq(log.accountId, accountId);
    const oldest = db.select({ id: log.id }).from(log).where(and(mine, lt(log.at, cutoff))).orderBy(asc(log.id)).limit(limit);
    return yield* affected(db.delete(log).where(inArray(log.id, oldest)));
  };
}

export function auditDue(accountId: number | null, cutoff: number): Work<Due> {
  return function* ({ db, t }) {
    const log = t.auditLog;
    const mine = accountId === null ? isNull(log.accountId) : eq(log.accountId, accountId);
    const due = (yield* row(db.select({ n: count() }).from(log).where(and(mine, lt(log.at, cutoff)))))?.n ?? 0;
    const kept = (yield* row(db.select({ at: min(log.at) }).from(log).where(and(mine, sql`${log.at} >= ${cutoff}`))))?.at;
    return { due, oldestKept: kept ?? null };
  };
}

/** Sign-in sessions and reset tokens that can no longer be used (ended, revoked or expired before the cutoff). */
export function deleteDeadSignIns(cutoff: number): Work<number> {
  return function* ({ db, t }) {
    const s = t.sessions;
    const ended = yield* affected(db.delete(s).where(or(lt(s.expiresAt, cutoff), and(isNotNull(s.revokedAt), lt(s.revokedAt, cutoff)))));
    return ended + (yield* affected(db.delete(t.passwordResets).where(lt(t.passwordResets.expiresAt, cutoff))));
  };
}

/** Recordings of an account the next run purges (their call arrived before the cutoff), and the oldest kept call's arrival. */
export function recordingsDue(accountId: number, cutoff: number): Work<Due> {
  return function* ({ db, t }) {
    const { calls, recordings } = t;
    const live = and(eq(calls.accountId, accountId), notInArray(recordings.status, ['deleted', 'expired']));
    const joined = () => db.select({ n: count(), at: min(calls.arrivedAt) }).from(recordings).innerJoin(calls, eq(calls.id, recordings.callId));
    const due = (yield* row(joined().where(and(live, lt(calls.arrivedAt, cutoff)))))?.n ?? 0;
    const kept = (yield* row(joined().where(and(live, sql`${calls.arrivedAt} >= ${cutoff}`))))?.at;
    return { due, oldestKept: kept ?? null };
  };
}
