import { and, asc, eq, isNotNull, lt, notInArray, sql } from 'drizzle-orm';
import { heldBy } from './nodeScope.js';
import type { RecordingRow } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

/**
 * What the API and the retention job read and write about stored recordings. Capture and transcode
 * (`recordingRepository.ts`) own the rows' life up to `ready`; this file owns their removal.
 */

export function findRecording(id: number): Work<RecordingRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.recordings).where(eq(t.recordings.id, id)));
  };
}

export function recordingsOfCall(callId: number): Work<RecordingRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.recordings).where(eq(t.recordings.callId, callId)).orderBy(asc(t.recordings.id)));
  };
}

/** Marks a recording deleted or expired and mirrors the status on its call. Run it as a transaction. */
export function markRecordingRemoved(id: number, status: 'deleted' | 'expired', reason: string, now: number = Date.now()): Work<RecordingRow | undefined> {
  return function* ({ db, t }) {
    const removed = yield* row(db.update(t.recordings).set({ status, statusReason: reason, deletedAt: now }).where(eq(t.recordings.id, id)).returning());
    if (removed) yield* affected(db.update(t.calls).set({ recordingStatus: status }).where(eq(t.calls.id, removed.callId)));
    return removed;
  };
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
export function expiredRecordings(now: number, nodeId: string): Work<PurgeCandidate[]> {
  return function* ({ db, t }) {
    const { recordings, calls, accounts } = t;
    const found = yield* rows(
      db
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
        .orderBy(asc(recordings.id)),
    );
    return found.map((r) => ({ recording: r.recording, retentionDays: r.retentionDays ?? 0, arrivedAt: r.arrivedAt }));
  };
}
