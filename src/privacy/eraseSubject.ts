import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Logger } from 'pino';
import { removeRecordingFiles } from '../media/removeRecordingFiles.js';
import { removeCallerPrivacyRules } from '../persistence/callerPrivacyRepository.js';
import { anonymiseCallRows, checkpointWal, privacyRequestsOfSubject } from '../persistence/privacyRepository.js';
import { markRecordingRemoved } from '../persistence/recordingQueries.js';
import type { CallRow, RecordingRow, VisitRow } from '../persistence/schema.js';
import type { Store } from '../persistence/store.js';
import { exportFileOf, type PrivacyExportSettings } from './exportFiles.js';
import { anonymisedCallers, callerNumberSpellings } from './subjectNumbers.js';

/** What an erasure found of its subject (privacyRoutes' findSubject, or a restore's scan). */
export interface FoundSubject {
  subjectHash: string;
  calls: CallRow[];
  recordings: RecordingRow[];
  visits: VisitRow[];
}

export interface ErasureDeps {
  store: Store;
  now: () => number;
  recordingsDir: string;
  asteriskRoot: string;
  hashSecret: string;
  defaultCountryCode: string;
  exports: PrivacyExportSettings;
  logger: Pick<Logger, 'error'>;
}

export interface ErasureResult {
  calls: number;
  recordings: number;
  filesDeleted: number;
  bytesFreed: number;
  visits: number;
  restrictionsEnded: number;
  exportsDeleted: number;
  walCheckpointed: boolean;
}

/**
 * Erases what was found: the recordings' files first (every file a recording has: Asterisk's WAVs,
 * the transcode, the encrypted copy; should one fail, nothing else changes and the error says retry),
 * their rows marked deleted, archives exported for the subject removed, a restriction of the caller
 * in `restrictionAccounts` ended, then in one transaction the calls anonymised (each caller's keyed
 * hash) and the visits deleted, and the write-ahead log checkpointed.
 */
export async function eraseFound(found: FoundSubject, deps: ErasureDeps, caller: { e164: string; restrictionAccounts: readonly number[] } | null): Promise<ErasureResult> {
  const { store } = deps;
  let filesDeleted = 0;
  let bytesFreed = 0;
  for (const rec of found.recordings) {
    const removed = await removeRecordingFiles(rec, { recordingsDir: deps.recordingsDir, asteriskRoot: deps.asteriskRoot });
    if (removed.failures.length > 0) {
      deps.logger.error({ recordingId: rec.id, failures: removed.failures }, 'privacy erasure: recording files not deleted');
      throw new Error(`recording ${rec.id}: files could not be deleted; nothing else was changed, retry the request`);
    }
    filesDeleted += removed.removed.length;
    bytesFreed += removed.bytesFreed;
  }
  for (const rec of found.recordings) {
    if (rec.status !== 'deleted' && rec.status !== 'expired') await store.run(markRecordingRemoved(rec.id, 'deleted', 'erased by a privacy request', deps.now()), { transaction: true });
  }
  // Archives exported for the subject earlier are copies of what is being erased.
  let exportsDeleted = 0;
  for (const r of await store.run(privacyRequestsOfSubject(found.subjectHash))) {
    const path = r.kind === 'export' ? exportFileOf(deps.exports, r.result) : null;
    if (path && existsSync(path)) {
      await rm(path, { force: true });
      exportsDeleted += 1;
    }
  }
  let restrictionsEnded = 0;
  if (caller) {
    const spellings = callerNumberSpellings(caller.e164, deps.defaultCountryCode);
    for (const id of caller.restrictionAccounts) restrictionsEnded += await store.run(removeCallerPrivacyRules(id, spellings, ['restricted']));
  }
  const callers = anonymisedCallers(found.calls, deps.defaultCountryCode, deps.hashSecret);
  await store.run(anonymiseCallRows(callers, found.recordings.map((r) => r.id), found.visits.map((v) => v.id)), { transaction: true });
  const { walCheckpointed } = await store.run(checkpointWal());
  return {
    calls: found.calls.length,
    recordings: found.recordings.length,
    filesDeleted,
    bytesFreed,
    visits: found.visits.length,
    restrictionsEnded,
    exportsDeleted,
    walCheckpointed,
  };
}
