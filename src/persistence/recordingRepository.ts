import { and, asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { heldBy } from './nodeScope.js';
import { calls, mediaJobs, recordings, type MediaJobRow, type RecordingChannels, type RecordingRow, type RecordingStatus } from './schema.js';

/**
 * Recordings and their transcode jobs. Every change of a recording's status also writes
 * calls.recording_status in the same synchronous transaction, so the call record never disagrees
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

function setStatus(db: Db, id: number, from: RecordingStatus[], values: Partial<typeof recordings.$inferInsert> & { status: RecordingStatus }): boolean {
  return db.transaction((tx) => {
    const row = tx
      .update(recordings)
      .set(values)
      .where(and(eq(recordings.id, id), inArray(recordings.status, from)))
      .returning({ callId: recordings.callId })
      .get();
    if (!row) return false;
    tx.update(calls).set({ recordingStatus: values.status }).where(eq(calls.id, row.callId)).run();
    return true;
  });
}

/** Inserts a recording as 'recording' and marks its call. */
export function insertRecording(db: Db, r: NewRecording): RecordingRow {
  return db.transaction((tx) => {
    const row = tx
      .insert(recordings)
      .values({
        callId: r.callId,
        accountId: r.accountId,
        status: 'recording',
        kind: r.kind ?? 'call',
        channels: r.channels,
        asteriskNames: JSON.stringify(r.asteriskNames),
        startedAt: r.startedAt,
        nodeId: r.nodeId ?? '',
      })
      .returning()
      .get();
    tx.update(calls).set({ recordingStatus: 'recording' }).where(eq(calls.id, r.callId)).run();
    return row;
  });
}

/** Asterisk stopped recording: the WAV(s) wait for the transcode job. False when not 'recording'. */
export function markRecordingStopped(db: Db, id: number, stoppedAt: number): boolean {
  return setStatus(db, id, ['recording'], { status: 'processing', stoppedAt });
}

/** The audio cannot be found (no WAV, empty WAV, lost RecordingFinished...): said, never silently absent. */
export function markRecordingMissing(db: Db, id: number, reason: string): boolean {
  return setStatus(db, id, IN_PROGRESS, { status: 'missing', statusReason: reason });
}

export function markRecordingReady(db: Db, id: number, f: RecordingFileFacts): boolean {
  return setStatus(db, id, IN_PROGRESS, { status: 'ready', statusReason: null, ...f });
}

export function markRecordingFailed(db: Db, id: number, reason: string): boolean {
  return setStatus(db, id, IN_PROGRESS, { status: 'failed', statusReason: reason });
}

export function getRecording(db: Db, id: number): RecordingRow | undefined {
  return db.select().from(recordings).where(eq(recordings.id, id)).get();
}

export function listRecordingsForCall(db: Db, callId: number): RecordingRow[] {
  return db.select().from(recordings).where(eq(recordings.callId, callId)).orderBy(asc(recordings.id)).all();
}

/** The Asterisk names stored with a recording. */
export function recordingAsteriskNames(row: Pick<RecordingRow, 'asteriskNames'>): string[] {
  const v: unknown = JSON.parse(row.asteriskNames);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

// ---- media jobs ----

/** Queues a transcode job unless one is already queued or running for the recording. Returns its id. */
export function enqueueMediaJob(db: Db, recordingId: number, now: number): number {
  return db.transaction((tx) => {
    const existing = tx
      .select({ id: mediaJobs.id })
      .from(mediaJobs)
      .where(and(eq(mediaJobs.recordingId, recordingId), inArray(mediaJobs.status, ['queued', 'running'])))
      .get();
    if (existing) return existing.id;
    // The job goes to the node whose disk holds the recording's file.
    const nodeId = tx.select({ nodeId: recordings.nodeId }).from(recordings).where(eq(recordings.id, recordingId)).get()?.nodeId ?? '';
    return tx.insert(mediaJobs).values({ recordingId, status: 'queued', createdAt: now, updatedAt: now, nodeId }).returning({ id: mediaJobs.id }).get().id;
  });
}

/**
 * Takes the oldest queued job whose retry delay has passed (`updated_at + attempts × retryDelayMs`),
 * marks it running and counts the attempt. The attempt is counted before the work, so a job that
 * crashes the process every time still runs out of attempts.
 */
export function claimNextMediaJob(db: Db, now: number, retryDelayMs: number, nodeId: string): MediaJobRow | undefined {
  return db.transaction((tx) => {
    const next = tx
      .select()
      .from(mediaJobs)
      .where(and(eq(mediaJobs.status, 'queued'), heldBy(mediaJobs.nodeId, nodeId), lte(sql`${mediaJobs.updatedAt} + ${mediaJobs.attempts} * ${retryDelayMs}`, now)))
      .orderBy(asc(mediaJobs.id))
      .limit(1)
      .get();
    if (!next) return undefined;
    return tx
      .update(mediaJobs)
      .set({ status: 'running', attempts: next.attempts + 1, updatedAt: now })
      .where(eq(mediaJobs.id, next.id))
      .returning()
      .get();
  });
}

/** When the next queued job becomes eligible (ms since the epoch), or null when none is queued. */
export function nextQueuedMediaJobAt(db: Db, retryDelayMs: number, nodeId: string): number | null {
  const row = db
    .select({ at: sql<number>`min(${mediaJobs.updatedAt} + ${mediaJobs.attempts} * ${retryDelayMs})` })
    .from(mediaJobs)
    .where(and(eq(mediaJobs.status, 'queued'), heldBy(mediaJobs.nodeId, nodeId)))
    .get();
  return row?.at ?? null;
}

/**
 * Recordings stopped ('processing') that have no queued or running job: a crash between
 * markRecordingStopped and the enqueue leaves these. Ids, oldest first.
 */
export function listProcessingRecordingsWithoutJob(db: Db, nodeId: string): number[] {
  return db
    .select({ id: recordings.id })
    .from(recordings)
    .where(
      and(
        eq(recordings.status, 'processing'),
        heldBy(recordings.nodeId, nodeId),
        sql`not exists (select 1 from ${mediaJobs} where ${mediaJobs.recordingId} = ${recordings.id} and ${mediaJobs.status} in ('queued', 'running'))`,
      ),
    )
    .orderBy(asc(recordings.id))
    .all()
    .map((r) => r.id);
}

/**
 * After a crash: this node's jobs left 'running' go back to 'queued' (their attempt stays counted);
 * another node's running jobs are its own. Returns how many.
 */
export function requeueRunningMediaJobs(db: Db, now: number, nodeId: string): number {
  return db
    .update(mediaJobs)
    .set({ status: 'queued', updatedAt: now })
    .where(and(eq(mediaJobs.status, 'running'), heldBy(mediaJobs.nodeId, nodeId)))
    .run().changes;
}

export function finishMediaJob(db: Db, jobId: number, now: number): void {
  db.update(mediaJobs).set({ status: 'done', lastError: null, updatedAt: now }).where(eq(mediaJobs.id, jobId)).run();
}

/** A failed attempt: back to 'queued' for a retry, or 'failed' for good. */
export function failMediaJob(db: Db, jobId: number, error: string, now: number, final: boolean): void {
  db.update(mediaJobs)
    .set({ status: final ? 'failed' : 'queued', lastError: error.slice(0, 2000), updatedAt: now })
    .where(eq(mediaJobs.id, jobId))
    .run();
}

/** A job interrupted by shutdown: queued again without using up an attempt. */
export function releaseMediaJob(db: Db, jobId: number, now: number): void {
  db.update(mediaJobs)
    .set({ status: 'queued', attempts: sql`max(0, ${mediaJobs.attempts} - 1)`, updatedAt: now })
    .where(and(eq(mediaJobs.id, jobId), eq(mediaJobs.status, 'running')))
    .run();
}

export function getMediaJob(db: Db, jobId: number): MediaJobRow | undefined {
  return db.select().from(mediaJobs).where(eq(mediaJobs.id, jobId)).get();
}

export function listMediaJobsForRecording(db: Db, recordingId: number): MediaJobRow[] {
  return db.select().from(mediaJobs).where(eq(mediaJobs.recordingId, recordingId)).orderBy(asc(mediaJobs.id)).all();
}
