import { and, asc, count, eq, gt, isNotNull, lt, min, notInArray, or, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { accounts, auditLog, calls, passwordResets, recordings, retentionCursors, sessions, visits, type AccountRow, type CallRow } from './schema.js';

/** The accounts and how long each keeps what (null: kept). */
export function accountRetention(db: Db, accountIds?: readonly number[]): Array<Pick<AccountRow, 'id' | 'recordingRetentionDays' | 'callRetentionDays' | 'visitRetentionDays' | 'auditRetentionDays'>> {
  const rows = db
    .select({
      id: accounts.id,
      recordingRetentionDays: accounts.recordingRetentionDays,
      callRetentionDays: accounts.callRetentionDays,
      visitRetentionDays: accounts.visitRetentionDays,
      auditRetentionDays: accounts.auditRetentionDays,
    })
    .from(accounts)
    .orderBy(asc(accounts.id))
    .all();
  return accountIds === undefined ? rows : rows.filter((r) => accountIds.includes(r.id));
}

type Cursor = { arrivedAt: number; id: number };

export function callsCursor(db: Db, accountId: number): Cursor | null {
  const row = db.select().from(retentionCursors).where(eq(retentionCursors.accountId, accountId)).get();
  return row ? { arrivedAt: row.callsArrivedAt, id: row.callsId } : null;
}

export function saveCallsCursor(db: Db, accountId: number, c: Cursor): void {
  db.insert(retentionCursors)
    .values({ accountId, callsArrivedAt: c.arrivedAt, callsId: c.id })
    .onConflictDoUpdate({ target: retentionCursors.accountId, set: { callsArrivedAt: c.arrivedAt, callsId: c.id } })
    .run();
}

/** The keyset condition "after the cursor, before the cutoff" on (account_id, arrived_at): the index's range. */
function callsWindow(accountId: number, cutoff: number, after: Cursor | null) {
  const past = after === null ? undefined : or(gt(calls.arrivedAt, after.arrivedAt), and(eq(calls.arrivedAt, after.arrivedAt), gt(calls.id, after.id)));
  return and(eq(calls.accountId, accountId), lt(calls.arrivedAt, cutoff), past);
}

/** The next calls of an account past its retention, oldest first, after the cursor (calls_account_arrived_idx). */
export function callsPastRetention(db: Db, accountId: number, cutoff: number, after: Cursor | null, limit: number): CallRow[] {
  return db.select().from(calls).where(callsWindow(accountId, cutoff, after)).orderBy(asc(calls.arrivedAt), asc(calls.id)).limit(limit).all();
}

/** How many calls the next run anonymises, and when the oldest kept one arrived. */
export function callsDue(db: Db, accountId: number, cutoff: number, after: Cursor | null): { due: number; oldestKept: number | null } {
  const due = db.select({ n: count() }).from(calls).where(callsWindow(accountId, cutoff, after)).get()?.n ?? 0;
  const kept = db
    .select({ at: min(calls.arrivedAt) })
    .from(calls)
    .where(and(eq(calls.accountId, accountId), sql`${calls.arrivedAt} >= ${cutoff}`))
    .get()?.at;
  return { due, oldestKept: kept ?? null };
}

/** Deletes up to `limit` visits of an account last seen before the cutoff; returns how many went. */
export function deleteVisitsBefore(db: Db, accountId: number, cutoff: number, limit: number): number {
  return db.$client
    .prepare('DELETE FROM visits WHERE id IN (SELECT id FROM visits WHERE account_id = ? AND last_seen_at < ? ORDER BY id LIMIT ?)')
    .run(accountId, cutoff, limit).changes;
}

export function visitsDue(db: Db, accountId: number, cutoff: number): { due: number; oldestKept: number | null } {
  const due = db.select({ n: count() }).from(visits).where(and(eq(visits.accountId, accountId), lt(visits.lastSeenAt, cutoff))).get()?.n ?? 0;
  const kept = db.select({ at: min(visits.lastSeenAt) }).from(visits).where(and(eq(visits.accountId, accountId), sql`${visits.lastSeenAt} >= ${cutoff}`)).get()?.at;
  return { due, oldestKept: kept ?? null };
}

/** Deletes up to `limit` audit entries of an account (null: the installation's own) from before the cutoff. */
export function deleteAuditBefore(db: Db, accountId: number | null, cutoff: number, limit: number): number {
  const where = accountId === null ? 'account_id IS NULL' : 'account_id = ?';
  const params = accountId === null ? [cutoff, limit] : [accountId, cutoff, limit];
  return db.$client.prepare(`DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE ${where} AND at < ? ORDER BY id LIMIT ?)`).run(...params).changes;
}

export function auditDue(db: Db, accountId: number | null, cutoff: number): { due: number; oldestKept: number | null } {
  const mine = accountId === null ? sql`${auditLog.accountId} IS NULL` : eq(auditLog.accountId, accountId);
  const due = db.select({ n: count() }).from(auditLog).where(and(mine, lt(auditLog.at, cutoff))).get()?.n ?? 0;
  const kept = db.select({ at: min(auditLog.at) }).from(auditLog).where(and(mine, sql`${auditLog.at} >= ${cutoff}`)).get()?.at;
  return { due, oldestKept: kept ?? null };
}

/** Sign-in sessions and reset tokens that can no longer be used (ended, revoked or expired before the cutoff). */
export function deleteDeadSignIns(db: Db, cutoff: number): number {
  const ended = db
    .delete(sessions)
    .where(or(lt(sessions.expiresAt, cutoff), and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, cutoff))))
    .run().changes;
  return ended + db.delete(passwordResets).where(lt(passwordResets.expiresAt, cutoff)).run().changes;
}

/** Recordings of an account the next run purges (their call arrived before the cutoff), and the oldest kept call's arrival. */
export function recordingsDue(db: Db, accountId: number, cutoff: number): { due: number; oldestKept: number | null } {
  const live = and(eq(calls.accountId, accountId), notInArray(recordings.status, ['deleted', 'expired']));
  const due = db.select({ n: count() }).from(recordings).innerJoin(calls, eq(calls.id, recordings.callId)).where(and(live, lt(calls.arrivedAt, cutoff))).get()?.n ?? 0;
  const kept = db
    .select({ at: min(calls.arrivedAt) })
    .from(recordings)
    .innerJoin(calls, eq(calls.id, recordings.callId))
    .where(and(live, sql`${calls.arrivedAt} >= ${cutoff}`))
    .get()?.at;
  return { due, oldestKept: kept ?? null };
}
