import { unlink } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/loadConfig.js';
import { backoffDelay } from '../backoffDelay.js';
import { CallrouteError } from '../errors.js';
import { row, type Store } from '../persistence/store.js';
import {
  claimNextMediaJob,
  enqueueMediaJob,
  failMediaJob,
  finishMediaJob,
  getRecording,
  listProcessingRecordingsWithoutJob,
  markRecordingFailed,
  markRecordingMissing,
  markRecordingReady,
  nextQueuedMediaJobAt,
  recordingAsteriskNames,
  releaseMediaJob,
  requeueRunningMediaJobs,
} from '../persistence/recordingRepository.js';
import type { MediaJobRow } from '../persistence/schema.js';
import { eq } from 'drizzle-orm';
import { locateFfmpeg, type FfmpegTools } from './locateFfmpeg.js';
import { readWavInfo, type WavInfo } from './readWavInfo.js';
import { encryptFile } from './recordingCipher.js';
import { asteriskRecordingWavPath, recordingRelativePath, resolveRecordingPath } from './recordingPaths.js';
import { transcodeRecording } from './transcodeRecording.js';

export interface RecordingPipelineDeps {
  store: Store;
  config: Pick<Config, 'recordings'> & Partial<Pick<Config, 'nodeId'>>;
  logger: Logger;
  /** Overrides for tests; production takes them from config. */
  options?: {
    tools?: Pick<FfmpegTools, 'ffmpeg' | 'ffprobe'>;
    /** Per-job timeout. Default recordings.transcodeTimeoutSeconds. */
    jobTimeoutMs?: number;
    /** Attempts before a job is failed for good. Default 3. */
    maxAttempts?: number;
    /** Delay before retry n is attempts × this. Default 5000. */
    retryDelayMs?: number;
    /** How long to wait for a WAV to appear and its header to be finalised. Default 5000. */
    wavSettleMs?: number;
    now?: () => number;
    /**
     * True while the machine is busy with calls: no job starts then (they would take CPU from call
     * setup), until jobs have waited `maxDeferMs`. Default: never busy.
     */
    busy?: () => boolean;
    /** Longest a job is held back by `busy` (ms). Default recordings.transcodeMaxDeferSeconds. */
    maxDeferMs?: number;
  };
}

export interface RecordingPipeline {
  /** Queues the transcode of a stopped recording (persisted first). Never blocks the caller. */
  enqueue(recordingId: number): void;
  /**
   * Puts jobs a crash left running back in the queue, queues stopped recordings that have no job,
   * and starts working through the queue (idle() waits for this too).
   */
  start(): void;
  /** Stops taking jobs; running ones are killed and queued again for the next start. */
  stop(): Promise<void>;
  /** Resolves when nothing is running and nothing queued is due (for tests and orderly shutdown). */
  idle(): Promise<void>;
}

/** The outcome of a job other than "ready": recorded as the recording's status, the job is done. */
class RecordingMissing extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the WAV exists and its header is finalised (RIFF size = file size − 8): Asterisk
 * (MixMonitor in particular) writes the header just after the channel is destroyed, so a job that
 * starts at once can see a file whose header still says 0 bytes. After `settleMs` a file that exists
 * is used anyway (ffmpeg reads it with -ignore_length); one that does not is missing.
 */
async function waitForWav(path: string, settleMs: number, signal: AbortSignal): Promise<WavInfo | 'absent' | 'not-wav'> {
  const deadline = Date.now() + settleMs;
  let last: WavInfo | null = null;
  for (;;) {
    try {
      const info = await readWavInfo(path);
      if (info === null) {
        // A file just created may not have its 44-byte header yet.
        if (Date.now() >= deadline) return 'not-wav';
      } else {
        last = info;
        if (info.finalised) return info;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new CallrouteError('CR_ERR_MEDIA', 'job aborted');
    if (Date.now() >= deadline) return last ?? 'absent';
    await sleep(50);
  }
}

/**
 * The recording pipeline: persisted transcode jobs (media_jobs: queued → running → done | failed)
 * worked off the call path with bounded concurrency, a timeout per job, retries, and resumption
 * after a restart. While the machine is busy with calls, jobs wait (at most maxDeferMs) before
 * they start: on a small box a transcode running during a burst of call setups lengthened the
 * slowest setups several-fold (bench), even at idle CPU priority.
 */
export function createRecordingPipeline(deps: RecordingPipelineDeps): RecordingPipeline {
  const { store, logger } = deps;
  const rc = deps.config.recordings;
  const o = deps.options ?? {};
  const now = o.now ?? Date.now;
  // This node transcodes only the recordings its own disk holds.
  const nodeId = deps.config.nodeId ?? '';
  const maxAttempts = o.maxAttempts ?? 3;
  const retryDelayMs = o.retryDelayMs ?? 5_000;
  const jobTimeoutMs = o.jobTimeoutMs ?? rc.transcodeTimeoutSeconds * 1000;
  const wavSettleMs = o.wavSettleMs ?? 5_000;
  const concurrency = Math.max(1, rc.transcodeConcurrency);
  const busy = o.busy ?? (() => false);
  const maxDeferMs = o.maxDeferMs ?? rc.transcodeMaxDeferSeconds * 1000;
  /** Since when due jobs have been held back by a busy machine; null: not held back. */
  let heldSince: number | null = null;
  /** How often a held-back queue looks at the machine again. */
  const BUSY_RECHECK_MS = 1_000;
  let tools: Pick<FfmpegTools, 'ffmpeg' | 'ffprobe'> | undefined = o.tools;

  let started = false;
  let stopping = false;
  const running = new Map<number, { abort: AbortController; done: Promise<void> }>();
  let wakeTimer: NodeJS.Timeout | null = null;
  let idleWaiters: Array<() => void> = [];
  let starting: Promise<void> = Promise.resolve();
  /** Jobs being written (enqueue): the queue is not idle before they are in it. */
  const enqueueing = new Set<Promise<void>>();

  const nextDueAt = (): Promise<number | null> => store.run(nextQueuedMediaJobAt(retryDelayMs, nodeId));
  /** A database that does not answer (a restart): the queue is looked at again a little later. */
  const retryLater = (err: unknown): void => {
    logger.warn({ err }, 'recording jobs: the database did not answer; looking again shortly');
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = setTimeout(pump, BUSY_RECHECK_MS);
    wakeTimer.unref();
  };

  const checkIdle = async (): Promise<void> => {
    if (running.size > 0 || pumping || enqueueing.size > 0) return;
    const next = await nextDueAt();
    // Idle when nothing is queued, or (stopped) nothing will be taken.
    if (next === null || !started || stopping) {
      const w = idleWaiters;
      idleWaiters = [];
      for (const r of w) r();
    }
  };

  const schedule = async (): Promise<void> => {
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeTimer = null;
    if (!started || stopping) return;
    const next = await nextDueAt();
    if (next === null) return;
    wakeTimer = setTimeout(pump, Math.max(10, next - now()));
    wakeTimer.unref();
  };

  /** Whether due jobs wait for the machine to be quieter (calls being set up come first). */
  const holdBack = (): boolean => {
    if (maxDeferMs <= 0 || !busy()) {
      heldSince = null;
      return false;
    }
    heldSince ??= now();
    return now() - heldSince < maxDeferMs;
  };

  /** One look at the queue at a time; a look asked for meanwhile runs once it is done. */
  let pumping = false;
  let pumpAgain = false;
  function pump(): void {
    if (!started || stopping) return;
    if (pumping) {
      pumpAgain = true;
      return;
    }
    pumping = true;
    pumpOnce()
      .catch(retryLater)
      .finally(() => {
        pumping = false;
        if (pumpAgain) {
          pumpAgain = false;
          pump();
        } else {
          checkIdle().catch(retryLater);
        }
      });
  }

  async function pumpOnce(): Promise<void> {
    const next = running.size < concurrency ? await nextDueAt() : null;
    if (next !== null && next <= now() && holdBack()) {
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = setTimeout(pump, BUSY_RECHECK_MS);
      wakeTimer.unref();
      return;
    }
    while (running.size < concurrency && started && !stopping) {
      const job = await store.run(claimNextMediaJob(now(), retryDelayMs, nodeId), { transaction: true });
      if (!job) break;
      const abort = new AbortController();
      const entry = { abort, done: Promise.resolve() };
      running.set(job.id, entry);
      entry.done = runJob(job, abort)
        .catch((err: unknown) => logger.error({ err, jobId: job.id }, 'recording job could not be settled'))
        .finally(() => {
          running.delete(job.id);
          pump();
        });
    }
    if (running.size < concurrency) await schedule();
  }

  async function runJob(job: MediaJobRow, abort: AbortController): Promise<void> {
    const log = logger.child({ jobId: job.id, recordingId: job.recordingId, attempt: job.attempts });
    const t0 = now();
    const timer = setTimeout(() => abort.abort(new CallrouteError('CR_ERR_MEDIA', `job timed out after ${jobTimeoutMs} ms`)), jobTimeoutMs);
    try {
      await processRecording(job.recordingId, abort.signal, log);
      await store.run(finishMediaJob(job.id, now()));
      log.info({ ms: now() - t0 }, 'recording job done');
    } catch (err) {
      if (stopping && abort.signal.aborted) {
        await store.run(releaseMediaJob(job.id, now()));
        log.info('recording job interrupted by shutdown; queued again');
        return;
      }
      let message = err instanceof Error ? err.message : String(err);
      // The job's own timeout aborted it: say so rather than ffmpeg's bare "aborted".
      const reason: unknown = abort.signal.reason;
      if (abort.signal.aborted && reason instanceof Error && reason !== err) message = `${reason.message} (${message})`;
      const final = job.attempts >= maxAttempts;
      await store.run(failMediaJob(job.id, message, now(), final));
      if (final) {
        await store.run(markRecordingFailed(job.recordingId, `transcode failed after ${job.attempts} attempts: ${message}`), { transaction: true });
        log.error({ err }, 'recording job failed');
      } else {
        log.warn({ err }, 'recording job attempt failed; will retry');
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async function processRecording(recordingId: number, signal: AbortSignal, log: Logger): Promise<void> {
    const rec = await store.run(getRecording(recordingId));
    if (!rec) throw new CallrouteError('CR_ERR_NOT_FOUND', `recording ${recordingId} not found`);
    if (rec.status !== 'processing' && rec.status !== 'recording') {
      log.info({ status: rec.status }, 'recording no longer needs processing');
      return;
    }
    const call = await store.run(function* ({ db, t }) {
      return yield* row(db.select({ arrivedAt: t.calls.arrivedAt, dialplanHandOff: t.calls.dialplanHandOff }).from(t.calls).where(eq(t.calls.id, rec.callId)));
    });
    /** The first WAV's length from its header, read while waiting for it (the lead to cut is worked out from it). */
    let firstWavSeconds: number | undefined;
    const names = recordingAsteriskNames(rec);
    const wavs = names.map((n) => asteriskRecordingWavPath(rc.asteriskRoot, n));
    try {
      const expected = rec.channels === 'dual' ? 2 : 1;
      if (names.length !== expected) throw new RecordingMissing(`expected ${expected} Asterisk recording(s) for ${rec.channels}, row has ${names.length}`);
      for (const wav of wavs) {
        const info = await waitForWav(wav, wavSettleMs, signal);
        if (typeof info === 'object' && info.durationSeconds !== null) firstWavSeconds ??= info.durationSeconds;
        if (info === 'absent') throw new RecordingMissing(`Asterisk recording not found: ${wav}`);
        if (info === 'not-wav') throw new RecordingMissing(`Asterisk recording is not a WAV file: ${wav}`);
        if (!info.finalised) log.warn({ wav, riffSize: info.riffSize, fileSize: info.fileSize }, 'wav header not finalised; reading to end of file');
        if (info.dataBytes === 0) throw new RecordingMissing(`Asterisk recording is empty (no audio): ${wav}`);
      }
    } catch (err) {
      if (!(err instanceof RecordingMissing)) throw err;
      await store.run(markRecordingMissing(recordingId, err.message), { transaction: true });
      log.warn({ reason: err.message }, 'recording missing');
      return;
    }

    if (!tools) {
      const found = locateFfmpeg(rc.ffmpegPath);
      logger.info(found, 'ffmpeg located');
      tools = found;
    }
    const relative = recordingRelativePath({
      accountId: rec.accountId,
      callId: rec.callId,
      recordingId: rec.id,
      callArrivedAt: call?.arrivedAt ?? rec.startedAt,
      format: rc.format,
    });
    const finalPath = resolveRecordingPath(rc.dir, relative);
    const key = rc.activeKeyId ? rc.keys.get(rc.activeKeyId) : undefined;
    if (rc.activeKeyId && !key) throw new CallrouteError('CR_ERR_CONFIG', `active recording key ${rc.activeKeyId} is not configured`);
    // Encrypted: the clear transcode lives only briefly beside the final file.
    const transcodePath = key ? `${finalPath}.plain` : finalPath;
    // The dialplan's MixMonitor starts before Dial(), so early media may precede the answer in its
    // file; the row's start and stop are the answer and the end (DialplanCall), so the talk time is
    // the file's last stop − start seconds. Unknown (equal) after a restart: kept whole.
    const talkSeconds = call?.dialplanHandOff && rec.stoppedAt !== null && rec.stoppedAt > rec.startedAt ? (rec.stoppedAt - rec.startedAt) / 1000 : undefined;
    const leadSeconds = talkSeconds !== undefined && firstWavSeconds !== undefined ? firstWavSeconds - talkSeconds : 0;
    const result = await transcodeRecording({
      inputs: wavs,
      format: rc.format,
      outPath: transcodePath,
      tools,
      timeoutMs: jobTimeoutMs,
      signal,
      ...(leadSeconds > 0 ? { skipSeconds: leadSeconds } : {}),
    });
    try {
      if (key && rc.activeKeyId) await encryptFile(transcodePath, finalPath, rc.activeKeyId, key);
    } finally {
      if (key) await unlink(transcodePath).catch(() => undefined);
    }
    if (signal.aborted) {
      await unlink(finalPath).catch(() => undefined);
      throw signal.reason instanceof Error ? signal.reason : new CallrouteError('CR_ERR_MEDIA', 'job aborted');
    }
    const ok = await store.run(markRecordingReady(rec.id, {
      path: relative,
      format: rc.format,
      codec: result.codec,
      contentType: result.contentType,
      sizeBytes: result.sizeBytes,
      durationSeconds: result.durationSeconds,
      sha256: result.sha256,
      keyId: key ? rc.activeKeyId : null,
      readyAt: now(),
    }), { transaction: true });
    if (!ok) {
      // Deleted (or otherwise settled) while we transcoded: do not leave an orphan file.
      await unlink(finalPath).catch(() => undefined);
      log.info('recording changed status during transcode; file discarded');
    } else {
      log.info({ path: relative, durationSeconds: result.durationSeconds, sizeBytes: result.sizeBytes, encrypted: Boolean(key) }, 'recording ready');
    }
    if (!rc.keepWav) for (const wav of wavs) await unlink(wav).catch((err: NodeJS.ErrnoException) => log.warn({ err, wav }, 'cannot delete wav'));
  }

  /**
   * Writes a recording's job, trying again while the database does not answer (a restart) for as long
   * as the pipeline runs; stopped first, the next start queues it (it looks for stopped recordings
   * without a job).
   */
  async function queueUntilWritten(recordingId: number): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await store.run(enqueueMediaJob(recordingId, now()), { transaction: true });
        setImmediate(pump);
        return;
      } catch (err) {
        if (stopping || !started) {
          logger.warn({ err, recordingId }, 'recording job not queued before the pipeline stopped; the next start queues it');
          return;
        }
        if (failures === 0) logger.warn({ err, recordingId }, 'recording job not queued yet: the database did not answer; trying again');
        await sleep(backoffDelay(failures, { initialMs: 200, maxMs: 5_000 }));
      }
    }
  }

  return {
    enqueue(recordingId) {
      // SQLite writes it now; PostgreSQL a moment later. Off the caller's stack either way: a session
      // calling enqueue never waits on a claim. Not idle until it is written.
      const writing = queueUntilWritten(recordingId).finally(() => {
        enqueueing.delete(writing);
        checkIdle().catch(retryLater);
      });
      enqueueing.add(writing);
    },
    start() {
      if (started) return;
      started = true;
      stopping = false;
      starting = (async () => {
        const requeued = await store.run(requeueRunningMediaJobs(now(), nodeId));
        if (requeued > 0) logger.info({ requeued }, 'recording jobs left running by a previous run queued again');
        // A crash between markRecordingStopped and enqueue leaves a stopped recording with no job.
        const orphans = await store.run(listProcessingRecordingsWithoutJob(nodeId));
        for (const id of orphans) await store.run(enqueueMediaJob(id, now()), { transaction: true });
        if (orphans.length > 0) logger.info({ recordings: orphans }, 'stopped recordings without a job queued');
      })().then(pump, (err: unknown) => {
        logger.error({ err }, 'recording jobs could not be resumed; looking again shortly');
        retryLater(err);
      });
    },
    async stop() {
      stopping = true;
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      const inFlight = [...running.values()];
      for (const r of inFlight) r.abort.abort(new CallrouteError('CR_ERR_MEDIA', 'pipeline stopping'));
      await Promise.all(inFlight.map((r) => r.done));
      started = false;
      await checkIdle();
    },
    async idle() {
      await starting;
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle().catch(retryLater);
      });
    },
  };
}
