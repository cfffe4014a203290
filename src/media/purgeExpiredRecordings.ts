import type { Logger } from 'pino';
import { appendAudit } from '../persistence/auditRepository.js';
import { expiredRecordings, markRecordingRemoved } from '../persistence/recordingQueries.js';
import type { Store } from '../persistence/store.js';
import { removeRecordingFiles } from './removeRecordingFiles.js';

export interface PurgeDeps {
  store: Store;
  recordingsDir: string;
  /** Where Asterisk's spool appears (config.recordings.asteriskRoot); its leftover WAVs are removed too. */
  asteriskRoot?: string;
  now?: () => number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /**
   * This node (NODE_ID): only the recordings whose files its disk holds are purged here; another
   * node's stay as they are (not marked expired) until that node removes their files. Required, so no
   * caller purges as '' (only the recordings from before nodes had names) by forgetting it.
   */
  nodeId: string;
}

export interface PurgeReport {
  /** Recordings past their account's retention that were looked at. */
  checked: number;
  purged: number;
  bytesFreed: number;
  /** Recordings whose files could not all be removed; their rows stay as they were, to be retried next run. */
  failures: Array<{ recordingId: number; error: string }>;
}

/**
 * Deletes the files of recordings older than their account's retention (by call arrival), marks the
 * rows `expired` with the reason and mirrors that on the call. A file that cannot be removed leaves its
 * row untouched, so the next run retries it rather than the row claiming a file is gone that is not.
 */
export async function purgeExpiredRecordings(deps: PurgeDeps): Promise<PurgeReport> {
  const now = (deps.now ?? Date.now)();
  const candidates = await deps.store.run(expiredRecordings(now, deps.nodeId));
  const report: PurgeReport = { checked: candidates.length, purged: 0, bytesFreed: 0, failures: [] };
  for (const { recording, retentionDays } of candidates) {
    const removed = await removeRecordingFiles(recording, deps);
    report.bytesFreed += removed.bytesFreed;
    if (removed.failures.length > 0) {
      const error = removed.failures.map((f) => `${f.file}: ${f.error}`).join('; ');
      report.failures.push({ recordingId: recording.id, error });
      deps.logger.warn({ recordingId: recording.id, failures: removed.failures }, 'recording purge failed');
      continue;
    }
    // Deletions by retention are in the audit log as well as those by people.
    const audit = appendAudit(
      {
        actorKind: 'system',
        actorUserId: null,
        actorKeyId: null,
        actor: 'recording retention',
        accountId: recording.accountId,
        action: 'recording.expired',
        target: `/v1/recordings/${recording.id}`,
        detail: JSON.stringify({ retentionDays }),
        ip: null,
      },
      now,
    );
    await deps.store.run(function* (q) {
      yield* markRecordingRemoved(recording.id, 'expired', `retention of ${retentionDays} days`, now)(q);
      yield* audit(q);
    }, { transaction: true });
    report.purged++;
  }
  if (report.checked > 0) deps.logger.info({ ...report, failures: report.failures.length }, 'recordings purged');
  return report;
}

export interface RetentionTimerDeps extends PurgeDeps {
  intervalMs: number;
  /** The job to run; default: the recordings' purge alone (main runs the whole retention job, src/privacy/runRetention.ts). */
  job?: () => Promise<unknown>;
}

/**
 * Runs the purge now and every `intervalMs` (never two at once). Returns `stop()`, which resolves once
 * a run in progress has finished, so shutdown can close the database after it.
 */
export function startRetentionTimer(deps: RetentionTimerDeps): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const run = (): void => {
    if (busy) return;
    busy = true;
    running = (deps.job ?? (() => purgeExpiredRecordings(deps)))()
      .then(() => undefined)
      .catch((err: unknown) => deps.logger.error({ err }, 'retention run failed'))
      .finally(() => {
        busy = false;
      });
  };
  run();
  const timer = setInterval(run, deps.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
