import { and, asc, desc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import { deleteConversionsOfCalls } from './conversionRepository.js';
import { deleteCallEventsOf } from './eventRepository.js';
import type { Db } from './openDatabase.js';
import { calls, mediaJobs, privacyRequests, recordings, visits, type CallRow, type PrivacyRequestRow, type RecordingRow, type VisitRow } from './schema.js';

/** The subject's calls: any spelling of the number, in these accounts (undefined: all). One indexed IN. */
export function callsOfCaller(db: Db, spellings: readonly string[], accountIds: readonly number[] | undefined): CallRow[] {
  const where: SQL[] = [inArray(calls.callerNumber, [...spellings])];
  if (accountIds !== undefined) where.push(inAccounts(calls.accountId, accountIds));
  return db.select().from(calls).where(and(...where)).orderBy(asc(calls.id)).all();
}

export function recordingsOfCalls(db: Db, callIds: readonly number[]): RecordingRow[] {
  if (callIds.length === 0) return [];
  return db.select().from(recordings).where(inArray(recordings.callId, [...callIds])).orderBy(asc(recordings.id)).all();
}

/** The calls that came from these web visits, in these accounts (undefined: all). */
export function callsOfVisits(db: Db, visitIds: readonly number[], accountIds: readonly number[] | undefined): CallRow[] {
  if (visitIds.length === 0) return [];
  const where: SQL[] = [inArray(calls.visitId, [...visitIds])];
  if (accountIds !== undefined) where.push(inAccounts(calls.accountId, accountIds));
  return db.select().from(calls).where(and(...where)).orderBy(asc(calls.id)).all();
}

/** Every visit of these browsers (the snippet's visitor ids), in these accounts (undefined: all). */
export function visitsOfVisitors(db: Db, visitorIds: readonly string[], accountIds: readonly number[] | undefined): VisitRow[] {
  if (visitorIds.length === 0) return [];
  const where: SQL[] = [inArray(visits.visitorId, [...visitorIds])];
  if (accountIds !== undefined) where.push(inAccounts(visits.accountId, accountIds));
  return db.select().from(visits).where(and(...where)).orderBy(asc(visits.id)).all();
}

export function visitsByIds(db: Db, ids: readonly number[]): VisitRow[] {
  if (ids.length === 0) return [];
  return db.select().from(visits).where(inArray(visits.id, [...ids])).orderBy(asc(visits.id)).all();
}

/**
 * The database half of an erasure, in one transaction: the calls keep what the reports count (account,
 * number, source/medium/campaign, landing page, times, outcome) and lose who called (number → keyed
 * hash, name), the web visit they came from and its click ids; the visits go; the recordings' media
 * jobs go (their files are deleted before this runs, and the rows say `deleted`).
 * `callers`: the calls to anonymise, grouped by what their caller number becomes.
 */
export function eraseCallerRows(
  db: Db,
  callers: ReadonlyArray<{ callIds: readonly number[]; erasedNumber: string | null }>,
  recordingIds: readonly number[],
  visitIds: readonly number[],
): { walCheckpointed: boolean } {
  anonymiseCallRows(db, callers, recordingIds, visitIds);
  return checkpointWal(db);
}

/** eraseCallerRows' transaction, for callers that checkpoint once after many batches (retention). */
export function anonymiseCallRows(
  db: Db,
  callers: ReadonlyArray<{ callIds: readonly number[]; erasedNumber: string | null }>,
  recordingIds: readonly number[],
  visitIds: readonly number[],
): void {
  // Freed space is zeroed as the changes are made (openDatabase sets secure_delete).
  db.transaction((tx) => {
    for (const { callIds, erasedNumber } of callers) {
      if (callIds.length === 0) continue;
      tx.update(calls)
        // The landing page keeps its path (reports group by it) but not its query (gclid and the like).
        .set({
          callerNumber: erasedNumber,
          callerName: null,
          visitId: null,
          clickIds: null,
          referrer: null,
          landingPage: sql`substr(${calls.landingPage}, 1, instr(${calls.landingPage} || '?', '?') - 1)`,
        })
        .where(inArray(calls.id, [...callIds]))
        .run();
      // The call events hold the caller as the call was (number, name, click ids): they go, and
      // any delivery of them not yet made with them. Recording events hold no caller and stay.
      deleteCallEventsOf(tx as unknown as Db, callIds);
      // Conversions hold the click ids (and a hashed number sent to Meta): they go too.
      deleteConversionsOfCalls(tx as unknown as Db, callIds);
    }
    if (recordingIds.length > 0) tx.delete(mediaJobs).where(inArray(mediaJobs.recordingId, [...recordingIds])).run();
    if (visitIds.length > 0) tx.delete(visits).where(inArray(visits.id, [...visitIds])).run();
  });
}

/** The old pages still sit in the write-ahead log until a checkpoint copies the new ones over them. */
export function checkpointWal(db: Db): { walCheckpointed: boolean } {
  const [checkpoint] = db.$client.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
  return { walCheckpointed: checkpoint?.busy === 0 };
}

export function recordPrivacyRequest(db: Db, row: Omit<PrivacyRequestRow, 'id'>): PrivacyRequestRow {
  return db.insert(privacyRequests).values(row).returning().get();
}

export function findPrivacyRequest(db: Db, id: number): PrivacyRequestRow | undefined {
  return db.select().from(privacyRequests).where(eq(privacyRequests.id, id)).get();
}

/** Stores what a request did once it has its id (an export names its archive after the request). */
export function setPrivacyRequestResult(db: Db, id: number, result: string): void {
  db.update(privacyRequests).set({ result }).where(eq(privacyRequests.id, id)).run();
}

/** The requests about these accounts, or about an agency in `agencyIds` (undefined: every request). */
export function listPrivacyRequests(db: Db, accountIds: readonly number[] | undefined, agencyIds: readonly number[] = []): PrivacyRequestRow[] {
  const q = db.select().from(privacyRequests);
  const mine = or(inAccounts(privacyRequests.accountId, accountIds ?? []), inAccounts(privacyRequests.agencyId, agencyIds));
  return (accountIds === undefined ? q : q.where(mine)).orderBy(desc(privacyRequests.id)).all();
}

export function privacyRequestsOfSubject(db: Db, subjectHash: string): PrivacyRequestRow[] {
  return db.select().from(privacyRequests).where(eq(privacyRequests.subjectHash, subjectHash)).all();
}
