/** What privacy requests read and erase, and the requests themselves: works of ./store.ts. */
import { and, asc, desc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import { deleteConversionsOfCalls } from './conversionRepository.js';
import { textBefore } from './dialectSql.js';
import { deleteCallEventsOf } from './eventRepository.js';
import type { CallRow, PrivacyRequestRow, RecordingRow, VisitRow } from './schema.js';
import { affected, raw, row, rows, type Work } from './store.js';

/** The subject's calls: any spelling of the number, in these accounts (undefined: all). One indexed IN. */
export function callsOfCaller(spellings: readonly string[], accountIds: readonly number[] | undefined): Work<CallRow[]> {
  return function* ({ db, t }) {
    const where: SQL[] = [inArray(t.calls.callerNumber, [...spellings])];
    if (accountIds !== undefined) where.push(inAccounts(t.calls.accountId, accountIds));
    return yield* rows(db.select().from(t.calls).where(and(...where)).orderBy(asc(t.calls.id)));
  };
}

export function recordingsOfCalls(callIds: readonly number[]): Work<RecordingRow[]> {
  return function* ({ db, t }) {
    if (callIds.length === 0) return [];
    return yield* rows(db.select().from(t.recordings).where(inArray(t.recordings.callId, [...callIds])).orderBy(asc(t.recordings.id)));
  };
}

/** The calls that came from these web visits, in these accounts (undefined: all). */
export function callsOfVisits(visitIds: readonly number[], accountIds: readonly number[] | undefined): Work<CallRow[]> {
  return function* ({ db, t }) {
    if (visitIds.length === 0) return [];
    const where: SQL[] = [inArray(t.calls.visitId, [...visitIds])];
    if (accountIds !== undefined) where.push(inAccounts(t.calls.accountId, accountIds));
    return yield* rows(db.select().from(t.calls).where(and(...where)).orderBy(asc(t.calls.id)));
  };
}

/** Every visit of these browsers (the snippet's visitor ids), in these accounts (undefined: all). */
export function visitsOfVisitors(visitorIds: readonly string[], accountIds: readonly number[] | undefined): Work<VisitRow[]> {
  return function* ({ db, t }) {
    if (visitorIds.length === 0) return [];
    const where: SQL[] = [inArray(t.visits.visitorId, [...visitorIds])];
    if (accountIds !== undefined) where.push(inAccounts(t.visits.accountId, accountIds));
    return yield* rows(db.select().from(t.visits).where(and(...where)).orderBy(asc(t.visits.id)));
  };
}

export function visitsByIds(ids: readonly number[]): Work<VisitRow[]> {
  return function* ({ db, t }) {
    if (ids.length === 0) return [];
    return yield* rows(db.select().from(t.visits).where(inArray(t.visits.id, [...ids])).orderBy(asc(t.visits.id)));
  };
}

/**
 * The database half of an erasure: the calls keep what the reports count (account, number,
 * source/medium/campaign, landing page, times, outcome) and lose who called (number → keyed hash,
 * name), the web visit they came from and its click ids; the visits go; the recordings' media jobs go
 * (their files are deleted before this runs, and the rows say `deleted`).
 * `callers`: the calls to anonymise, grouped by what their caller number becomes. Run it as a
 * transaction, then checkpointWal.
 */
export function anonymiseCallRows(
  callers: ReadonlyArray<{ callIds: readonly number[]; erasedNumber: string | null }>,
  recordingIds: readonly number[],
  visitIds: readonly number[],
): Work<void> {
  return function* (q) {
    const { db, t, dialect } = q;
    // Freed space is zeroed as the changes are made (openDatabase sets secure_delete on SQLite).
    for (const { callIds, erasedNumber } of callers) {
      if (callIds.length === 0) continue;
      // The landing page keeps its path (reports group by it) but not its query (gclid and the like).
      const set = { callerNumber: erasedNumber, callerName: null, visitId: null, clickIds: null, referrer: null, landingPage: textBefore(dialect, t.calls.landingPage, '?') };
      yield* affected(db.update(t.calls).set(set).where(inArray(t.calls.id, [...callIds])));
      // The call events hold the caller as the call was (number, name, click ids): they go, and
      // any delivery of them not yet made with them. Recording events hold no caller and stay.
      yield* deleteCallEventsOf(callIds)(q);
      // Conversions hold the click ids (and a hashed number sent to Meta): they go too.
      yield* deleteConversionsOfCalls(callIds)(q);
    }
    if (recordingIds.length > 0) yield* affected(db.delete(t.mediaJobs).where(inArray(t.mediaJobs.recordingId, [...recordingIds])));
    if (visitIds.length > 0) yield* affected(db.delete(t.visits).where(inArray(t.visits.id, [...visitIds])));
  };
}

/**
 * SQLite: the old pages still sit in the write-ahead log until a checkpoint copies the new ones over
 * them. PostgreSQL's own write-ahead log and checkpoints are the server's (a checkpoint needs a
 * superuser), so there this reports false.
 */
export function checkpointWal(): Work<{ walCheckpointed: boolean }> {
  return function* ({ dialect }) {
    if (dialect !== 'sqlite') return { walCheckpointed: false };
    const [checkpoint] = yield* raw<{ busy: number }>(sql`PRAGMA wal_checkpoint(TRUNCATE)`);
    return { walCheckpointed: checkpoint?.busy === 0 };
  };
}

export function recordPrivacyRequest(request: Omit<PrivacyRequestRow, 'id'>): Work<PrivacyRequestRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.privacyRequests).values(request).returning()))!;
  };
}

export function findPrivacyRequest(id: number): Work<PrivacyRequestRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.privacyRequests).where(eq(t.privacyRequests.id, id)));
  };
}

/** Stores what a request did once it has its id (an export names its archive after the request). */
export function setPrivacyRequestResult(id: number, result: string): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.privacyRequests).set({ result }).where(eq(t.privacyRequests.id, id)));
  };
}

/** The requests about these accounts, or about an agency in `agencyIds` (undefined: every request). */
export function listPrivacyRequests(accountIds: readonly number[] | undefined, agencyIds: readonly number[] = []): Work<PrivacyRequestRow[]> {
  return function* ({ db, t }) {
    const r = t.privacyRequests;
    const q = db.select().from(r);
    const mine = or(inAccounts(r.accountId, accountIds ?? []), inAccounts(r.agencyId, agencyIds));
    return yield* rows((accountIds === undefined ? q : q.where(mine)).orderBy(desc(r.id)));
  };
}

export function privacyRequestsOfSubject(subjectHash: string): Work<PrivacyRequestRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.privacyRequests).where(eq(t.privacyRequests.subjectHash, subjectHash)));
  };
}
