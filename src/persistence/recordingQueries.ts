import { and, asc, eq, isNotNull, lt, notInArray, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { heldBy } from './nodeScope.js';
import { accounts, calls, recordings, type RecordingRow } from './schema.js';

/**
 * What the API and the retention job read and write about stored recordings. Capture and transcode
 * (`recordingRepository.ts`) own the rows' life up to `ready`; this file owns their removal.
 */

export function findRecording(db: Db, id: number): RecordingRow | undefined {
  return db.select().from(recordings).where(eq(recordings.id, id)).get();
}

export function recordingsOfCall(db: Db, callId: number): RecordingRow[] {
  return db.select().from(recordings).where(eq(recordings.callId, callId)).orderBy(asc(recordings.id)).all();
}

/**
 * Marks a recording deleted or expired and mirrors the status on its call, in one synchronous
 * transaction (better-sqlite3: an async callback would not roll back).
 */
export function markRecordingRemoved(
  db: Db,
  id: number,
  status: 'deleted' | 'expired',
  reason: string,
  now: number = Date.now(),
): RecordingRow | undefined {
  return db.transaction((tx) => {
    const row = tx
      .update(recordings)
      .set({ status, statusReason: reason, deletedAt: now })
      .where(eq(recordings.id, id))
      .returning()
      .get();
    if (row) tx.update(calls).set({ recordingStatus: status }).where(eq(calls.id, row.callId)).run();
    return row;
  });
}

const DAY_MS = 86_400_000;

export interface PurgeCandidate {
  recording: RecordingRow;
  retentionDays: number;
  arrivedAt: number;
}

/**
 * Recordings of calls that arrived more than their account's `recording_retention_days` before `now`
 * and are not already deleted or expired. Accounts without retention keep everything.
 */
export function expiredRecordings(db: Db, now: number, nodeId: string): PurgeCandidate[] {
  return db
    .select({ recording: recordings, retentionDays: accounts.recordingRetentionDays, arrivedAt: calls.arrivedAt })
    .from(recordings)
    .innerJoin(calls, eq(calls.id, recordings.callId))
    .innerJoin(accounts, eq(accounts.id, calls.accountId))
    .where(
      and(
        isNotNull(accounts.recordingRetentionDays),
        notInArray(recordings.status, ['deleted', 'expired']),
        heldBy(recordings.nodeId, nodeId),
        lt(calls.arrivedAt, sql`${now} - ${accounts.recordingRetentionDays} * ${DAY_MS}`),
      ),
    )
    .orderBy(asc(recordings.id))
    .all()
    .map((r) => ({ recording: r.recording, retentionDays: r.retentionDays ?? 0, arrivedAt: r.arrivedAt }));
}
