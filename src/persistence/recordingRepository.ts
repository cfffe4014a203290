import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import { largerOf } from './dialectSql.js';
import { heldBy } from './nodeScope.js';
import type { MediaJobRow, RecordingChannels, RecordingRow, RecordingStatus, recordings } from './schema.js';
import { affected, lock, row, rows, type Work } from './store.js';

/**
 * Recordings and their transcode jobs: works of ./store.ts. Every change of a recording's status also
 * writes calls.recording_status in the same transaction (run them as transactions), so the call record never disagrees
 * with its recording. Once a recording is ready, missing, failed, deleted or expired, the pipeline
 * cannot move it again: a late job never resurrects a recording an admin deleted.
 */

export interface NewRecording {
  callId: number;
  accountId: number | null;
  channels: RecordingChannels;
  /** Asterisk live-recording names, in channel order (dual: [caller, answering party]). */
  asteriskNames: string[];
  startedAt: number;
  /** call (default) or voicemail. */
  kind?: 'call' | 'voicemail';
  /** The node whose Asterisk writes the file (NODE_ID); '' when nodes have no names (tests). */
  nodeId?: string;
}

export interface RecordingFileFacts {
  /** Relative to the recordings directory. */
  path: string;
  format: string;
  codec: string;
  contentType: string;
  /** Of the plaintext audio, as served. */
  sizeBytes: number;
  durationSeconds: number;
  /** Hex SHA-256 of the plaintext audio (the download ETag). */
  sha256: string;
  keyId: string | null;
  readyAt: number;
}

/** Statuses the pipeline may still change. */
const IN_PROGRESS: RecordingStatus[] = ['recording', 'processing'];

function setStatus(id: number, from: RecordingStatus[], values: Partial<typeof recordings.$inferInsert> & { status: RecordingStatus }): Work<boolean> {
  return function* ({ db, t }) {
    const r = t.recordings;
    const changed = yield* row(db.update(r).set(values).where(and(eq(r.id, id), inArray(r.status, from))).returning({ callId: r.callId }));
    if (!changed) return false;
    yield* affected(db.update(t.calls).set({ recordingStatus: values.status }).where(eq(t.calls.id, changed.callId)));
    return true;
  };
}

/** Inserts a recording as 'recording' and marks its call. `id`: one reserved beforehand, else the database gives one. */
export function insertRecording(r: NewRecording, id?: number): Work<RecordingRow> {
  return function* ({ db, t }) {
    const values = {
      ...(id === undefined ? {} : { id }),
      callId: r.callId,
      accountId: r.accountId,
      status: 'recording' as const,
      kind: r.kind ?? 'call',
      channels: r.channels,
      asteriskNames: JSON.stringify(r.asteriskNames),
      startedAt: r.startedAt,
      nodeId: r.nodeId ?? '',
    };
    const inserted = (yield* row(db.insert(t.recordings).values(values).returning()))!;
    yield* affected(db.update(t.calls).set({ recordingStatus: 'recording' }).where(eq(t.calls.id, r.callId)));
    return inserted;
  };
}

/** Asterisk stopped recording: the WAV(s) wait for the transcode job. False when not 'recording'. */
export function markRecordingStopped(id: number, stoppedAt: number): Work<boolean> {
  return setStatus(id, ['recording'], { status: 'processing', stoppedAt });
}

/** The audio cannot be found (no WAV, empty WAV, lost RecordingFinished...): said, never silently absent. */
export function markRecordingMissing(id: number, reason: string): Work<boolean> {
  return setStatus(id, IN_PROGRESS, { status: 'missing', statusReason: reason });
}

export function markRecordingReady(id: number, f: RecordingFileFacts): Work<boolean> {
  return setStatus(id, IN_PROGRESS, { status: 'ready', statusReason: null, ...f });
}

export function markRecordingFailed(id: number, reason: string): Work<boolean> {
  return setStatus(id, IN_PROGRESS, { status: 'failed', statusReason: reason });
}

export function getRecording(id: number): Work<RecordingRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.recordings).where(eq(t.recordings.id, id)));
  };
}

export function listRecordingsForCall(callId: number): Work<RecordingRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.recordings).where(eq(t.recordings.callId, callId)).orderBy(asc(t.recordings.id)));
  };
}

/** The recordings still marked as recording on any of these calls, oldest first (one query). */
export function recordingsInProgressOf(callIds: readonly number[]): Work<RecordingRow[]> {
  return function* ({ db, t }) {
    if (callIds.length === 0) return [];
    return yield* rows(db.select().from(t.recordings).where(and(inArray(t.recordings.callId, [...callIds]), eq(t.recordings.status, 'recording'))).orderBy(asc(t.recordings.id)));
  };
}

/** The Asterisk names stored with a recording. */
export function recordingAsteriskNames(row: Pick<RecordingRow, 'asteriskNames'>): string[] {
  const v: unknown = JSON.parse(row.asteriskNames);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

// ---- media jobs ----

/** Queues a transcode job unless one is already queued or running for the recording. Returns its id. Run it as a transaction. */
export function enqueueMediaJob(recordingId: number, now: number): Work<number> {
  return function* ({ db, t }) {
    // Two enqueues of one recording at once (PostgreSQL runs them side by side) must not both see no job.
    yield* lock('media-job', recordingId);
    const j = t.mediaJobs;
    const existing = yield* row(db.select({ id: j.id }).from(j).where(and(eq(j.recordingId, recordingId), inArray(j.status, ['queued', 'running']))));
    if (existing) return existing.id;
    // The job goes to the node whose disk holds the recording's file.
    const nodeId = (yield* row(db.select({ nodeId: t.recordings.nodeId }).from(t.recordings).where(eq(t.recordings.id, recordingId))))?.nodeId ?? '';
    return (yield* row(db.insert(j).values({ recordingId, status: 'queued', createdAt: now, updatedAt: now, nodeId }).returning({ id: j.id })))!.id;
  };
}

/**
 * Takes the oldest queued job whose retry delay has passed (`updated_at + attempts × retryDelayMs`),
 * marks it running and counts the attempt. The attempt is counted before the work, so a job that
 * crashes the process every time still runs out of attempts. Run it as a transaction.
 */
export function claimNextMediaJob(now: number, retryDelayMs: number, nodeId: string): Work<MediaJobRow | undefined> {
  return function* ({ db, t }) {
    const j = t.mediaJobs;
    const next = yield* row(
      db
        .select()
        .from(j)
        .where(and(eq(j.status, 'queued'), heldBy(j.nodeId, nodeId), lte(sql`${j.updatedAt} + ${j.attempts} * ${retryDelayMs}`, now)))
        .orderBy(asc(j.id))
        .limit(1),
    );
    if (!next) return undefined;
    return yield* row(db.update(j).set({ status: 'running', attempts: next.attempts + 1, updatedAt: now }).where(eq(j.id, next.id)).returning());
  };
}

/** When the next queued job becomes eligible (ms since the epoch), or null when none is queued. */
export function nextQueuedMediaJobAt(retryDelayMs: number, nodeId: string): Work<number | null> {
  return function* ({ db, t }) {
    const j = t.mediaJobs;
    const next = yield* row(db.select({ at: sql<number | null>`min(${j.updatedAt} + ${j.attempts} * ${retryDelayMs})` }).from(j).where(and(eq(j.status, 'queued'), heldBy(j.nodeId, nodeId))));
    return next?.at ?? null;
  };
}

/**
 * Recordings stopped ('processing') that have no queued or running job: a crash between
 * markRecordingStopped and the enqueue leaves these. Ids, oldest first.
 */
export function listProcessingRecordingsWithoutJob(nodeId: string): Work<number[]> {
  return function* ({ db, t }) {
    const { recordings: r, mediaJobs: j } = t;
    const noJob = sql`not exists (select 1 from ${j} where ${j.recordingId} = ${r.id} and ${j.status} in ('queued', 'running'))`;
    return (yield* rows(db.select({ id: r.id }).from(r).where(and(eq(r.status, 'processing'), heldBy(r.nodeId, nodeId), noJob)).orderBy(asc(r.id)))).map((x) => x.id);
  };
}

/**
 * After a crash: this node's jobs left 'running' go back to 'queued' (their attempt stays counted);
 * another node's running jobs are its own. Returns how many.
 */
export function requeueRunningMediaJobs(now: number, nodeId: string): Work<number> {
  return function* ({ db, t }) {
    const j = t.mediaJobs;
    return yield* affected(db.update(j).set({ status: 'queued', updatedAt: now }).where(and(eq(j.status, 'running'), heldBy(j.nodeId, nodeId))));
  };
}

export function finishMediaJob(jobId: number, now: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.mediaJobs).set({ status: 'done', lastError: null, updatedAt: now }).where(eq(t.mediaJobs.id, jobId)));
  };
}

/** A failed attempt: back to 'queued' for a retry, or 'failed' for good. */
export function failMediaJob(jobId: number, error: string, now: number, final: boolean): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.mediaJobs).set({ status: final ? 'failed' : 'queued', lastError: error.slice(0, 2000), updatedAt: now }).where(eq(t.mediaJobs.id, jobId)));
  };
}

/** A job interrupted by shutdown: queued again without using up an attempt. */
export function releaseMediaJob(jobId: number, now: number): Work<void> {
  return function* ({ db, t, dialect }) {
    const j = t.mediaJobs;
    yield* affected(db.update(j).set({ status: 'queued', attempts: largerOf(dialect, sql`${j.attempts} - 1`, 0), updatedAt: now }).where(and(eq(j.id, jobId), eq(j.status, 'running'))));
  };
}

export function getMediaJob(jobId: number): Work<MediaJobRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.mediaJobs).where(eq(t.mediaJobs.id, jobId)));
  };
}

export function listMediaJobsForRecording(recordingId: number): Work<MediaJobRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.mediaJobs).where(eq(t.mediaJobs.recordingId, recordingId)).orderBy(asc(t.mediaJobs.id)));
  };
}
