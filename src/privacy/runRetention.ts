import type { Logger } from 'pino';
import { purgeExpiredRecordings } from '../media/purgeExpiredRecordings.js';
import { removeRecordingFiles } from '../media/removeRecordingFiles.js';
import { appendAudit } from '../persistence/auditRepository.js';
import { deleteEventsBefore } from '../persistence/eventRepository.js';
import { anonymiseCallRows, checkpointWal, recordingsOfCalls } from '../persistence/privacyRepository.js';
import { markRecordingRemoved } from '../persistence/recordingQueries.js';
import type { Store } from '../persistence/store.js';
import {
  accountRetention,
  callsCursor,
  callsPastRetention,
  deleteAuditBefore,
  deleteDeadSignIns,
  deleteVisitsBefore,
  saveCallsCursor,
} from '../persistence/retentionRepository.js';
import { anonymisedCallers } from './subjectNumbers.js';

export const DAY_MS = 86_400_000;
/** How often main runs the job (and once at start). */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** Rows per batch: each batch is one short transaction, and the job yields to calls between batches. */
export const RETENTION_BATCH = 500;
/** Ended sign-in sessions and reset tokens are kept this long after they stop working (for "where am I signed in"). */
export const SIGN_IN_GRACE_MS = 7 * DAY_MS;
/** Events are kept this long unless EVENT_RETENTION_DAYS says otherwise: long past any retry or redelivery need. */
export const DEFAULT_EVENT_RETENTION_DAYS = 30;

export interface RetentionDeps {
  store: Store;
  now: () => number;
  recordingsDir: string;
  asteriskRoot?: string;
  /** config.privacy.hashSecret: anonymised calls keep their caller as the same keyed hash an erasure gives. */
  hashSecret: string;
  defaultCountryCode: string;
  /** Audit entries of no account (the operator's, sign-in failures) are kept this many days. */
  installationAuditDays: number;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  batchSize?: number;
  /** Events of the stream (and their webhook delivery log) are kept this many days (EVENT_RETENTION_DAYS, default 30). */
  eventRetentionDays?: number;
  /** This node (NODE_ID): recordings are purged by the node whose disk holds their files. */
  nodeId: string;
}

export interface RetentionReport {
  recordingsExpired: number;
  callsAnonymised: number;
  /** Recordings of anonymised calls, deleted with them. */
  callRecordingsDeleted: number;
  visitsDeleted: number;
  auditDeleted: number;
  signInsDeleted: number;
  /** Events (with their webhook deliveries and attempts) past EVENT_RETENTION_DAYS. */
  eventsDeleted: number;
  /** Work left for the next run (a file that could not be removed). */
  failures: number;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs a batch delete until a batch comes back short, yielding between batches; returns how many went. */
async function deleteInBatches(deleteBatch: () => Promise<number>, batch: number): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await deleteBatch();
    total += n;
    if (n < batch) return total;
    await nextTurn();
  }
}

/**
 * The retention job: everything past its account's retention goes, in batches.
 * - recordings past recordingRetentionDays (purgeExpiredRecordings);
 * - call records past callRetentionDays are anonymised as an erasure does (who called → keyed hash,
 *   name, visit, click ids, referrer gone) and their recordings deleted, the report totals unchanged;
 *   a cursor per account (retention_cursors) makes it resumable;
 * - web visits last seen before visitRetentionDays, audit entries before auditRetentionDays (the
 *   installation's own before installationAuditDays), sign-ins that ended a week ago.
 * Each batch is one short transaction and the job yields between batches, so a call arriving never
 * waits behind it; the write-ahead log is checkpointed at the end so the old pages go too.
 */
export function runRetention(deps: RetentionDeps): Promise<RetentionReport> {
  // One run at a time per database (the hourly timer and POST /v1/privacy/retention/run may meet).
  const previous = inFlight.get(deps.store) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => runOnce(deps));
  inFlight.set(deps.store, run);
  return run;
}

const inFlight = new WeakMap<Store, Promise<unknown>>();

async function runOnce(deps: RetentionDeps): Promise<RetentionReport> {
  const { store, logger } = deps;
  const now = deps.now();
  const batch = deps.batchSize ?? RETENTION_BATCH;
  const report: RetentionReport = { recordingsExpired: 0, callsAnonymised: 0, callRecordingsDeleted: 0, visitsDeleted: 0, auditDeleted: 0, signInsDeleted: 0, eventsDeleted: 0, failures: 0 };
  const purged = await purgeExpiredRecordings({ store, recordingsDir: deps.recordingsDir, asteriskRoot: deps.asteriskRoot, now: () => now, logger, nodeId: deps.nodeId });
  report.recordingsExpired = purged.purged;
  report.failures += purged.failures.length;

  const audit = (accountId: number, action: string, detail: Record<string, unknown>): Promise<void> =>
    store.run(appendAudit({ actorKind: 'system', actorUserId: null, actorKeyId: null, actor: 'retention', accountId, action, target: null, detail: JSON.stringify(detail), ip: null }, now));

  for (const account of await store.run(accountRetention())) {
    if (account.callRetentionDays !== null) {
      const days = account.callRetentionDays;
      const done = await anonymiseOldCalls(deps, account.id, now - days * DAY_MS, days, batch);
      report.callsAnonymised += done.calls;
      report.callRecordingsDeleted += done.recordings;
      report.failures += done.failures;
      if (done.calls > 0) await audit(account.id, 'retention.calls-anonymised', { calls: done.calls, recordings: done.recordings, days });
    }
    if (account.visitRetentionDays !== null) {
      const cutoff = now - account.visitRetentionDays * DAY_MS;
      const deleted = await deleteInBatches(() => store.run(deleteVisitsBefore(account.id, cutoff, batch)), batch);
      report.visitsDeleted += deleted;
      if (deleted > 0) await audit(account.id, 'retention.visits-deleted', { visits: deleted, days: account.visitRetentionDays });
    }
    if (account.auditRetentionDays !== null) {
      const cutoff = now - account.auditRetentionDays * DAY_MS;
      report.auditDeleted += await deleteInBatches(() => store.run(deleteAuditBefore(account.id, cutoff, batch)), batch);
    }
  }
  const installationCutoff = now - deps.installationAuditDays * DAY_MS;
  report.auditDeleted += await deleteInBatches(() => store.run(deleteAuditBefore(null, installationCutoff, batch)), batch);
  report.signInsDeleted = await store.run(deleteDeadSignIns(now - SIGN_IN_GRACE_MS));
  const eventCutoff = now - (deps.eventRetentionDays ?? DEFAULT_EVENT_RETENTION_DAYS) * DAY_MS;
  report.eventsDeleted = await deleteInBatches(() => store.run(deleteEventsBefore(eventCutoff, batch)), batch);

  const changed = report.recordingsExpired + report.callsAnonymised + report.visitsDeleted + report.auditDeleted + report.signInsDeleted + report.eventsDeleted;
  if (changed > 0) {
    await store.run(checkpointWal());
    logger.info(report, 'retention run');
  }
  return report;
}

/** One account's calls past the cutoff, a batch at a time from its cursor. */
async function anonymiseOldCalls(
  deps: RetentionDeps,
  accountId: number,
  cutoff: number,
  days: number,
  batch: number,
): Promise<{ calls: number; recordings: number; failures: number }> {
  const { store } = deps;
  const out = { calls: 0, recordings: 0, failures: 0 };
  let cursor = await store.run(callsCursor(accountId));
  for (;;) {
    const rows = await store.run(callsPastRetention(accountId, cutoff, cursor, batch));
    if (rows.length === 0) return out;
    const recs = (await store.run(recordingsOfCalls(rows.map((c) => c.id)))).filter((r) => r.status !== 'deleted' && r.status !== 'expired');
    for (const rec of recs) {
      const removed = await removeRecordingFiles(rec, { recordingsDir: deps.recordingsDir, asteriskRoot: deps.asteriskRoot });
      if (removed.failures.length > 0) {
        // The cursor stays before this batch: the next run tries again, nothing is anonymised around a file left behind.
        deps.logger.warn({ recordingId: rec.id, failures: removed.failures }, 'retention: recording files not deleted');
        out.failures += 1;
        return out;
      }
    }
    const last = rows[rows.length - 1]!;
    const next = { arrivedAt: last.arrivedAt, id: last.id };
    // The batch's recordings, its calls and the cursor past them: one transaction.
    await store.run(
      function* (q) {
        for (const rec of recs) yield* markRecordingRemoved(rec.id, 'expired', `call record retention of ${days} days`, deps.now())(q);
        yield* anonymiseCallRows(anonymisedCallers(rows, deps.defaultCountryCode, deps.hashSecret), recs.map((r) => r.id), [])(q);
        yield* saveCallsCursor(accountId, next)(q);
      },
      { transaction: true },
    );
    cursor = next;
    out.calls += rows.length;
    out.recordings += recs.length;
    if (rows.length < batch) return out;
    await nextTurn();
  }
}
