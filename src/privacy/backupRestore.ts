import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { openDatabase, type Db } from '../persistence/openDatabase.js';
import { listAccounts } from '../persistence/accountRepository.js';
import { privacyRequestsOfSubject, recordPrivacyRequest } from '../persistence/privacyRepository.js';
import { sqliteStore } from '../persistence/store.js';
import { normalizeNumber } from '../routing/normalizeNumber.js';
import { eraseFound, type ErasureDeps } from './eraseSubject.js';
import { readErasureList, type ErasureEntry } from './erasureList.js';
import { findSubject, type Subject } from './findSubject.js';
import { erasedCallerNumber, subjectHashOf } from './subjectNumbers.js';

/** `2026-12-06T23-40-12Z`: a timestamp safe in a file name. */
function stamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-');
}

/** The erasures a database itself records (privacy_requests), as list entries. */
function erasuresIn(path: string): ErasureEntry[] {
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const has = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'privacy_requests'").get();
    if (!has) return [];
    // An agency's erasure keeps the accounts it reached in its result.
    const rows = db.prepare("SELECT at, subject_hash AS subjectHash, account_id AS accountId, result FROM privacy_requests WHERE kind = 'erasure'").all() as Array<ErasureEntry & { result: string }>;
    return rows.map(({ result, ...e }) => {
      const accounts = (JSON.parse(result) as { accounts?: unknown }).accounts;
      return Array.isArray(accounts) && e.accountId === null ? { ...e, accountIds: accounts as number[] } : e;
    });
  } finally {
    db.close();
  }
}

/** An entry's subject and where it was erased (one account, an agency's accounts, everywhere). */
function entryKey(e: ErasureEntry): string {
  return `${e.subjectHash}|${e.accountId ?? e.accountIds?.join(',') ?? '*'}`;
}

/** Entries once each. */
function unique(entries: readonly ErasureEntry[]): ErasureEntry[] {
  const seen = new Map<string, ErasureEntry>();
  for (const e of entries) seen.set(entryKey(e), e);
  return [...seen.values()].sort((a, b) => a.at - b.at);
}

/**
 * An online backup while the router runs: SQLite's backup API copies a consistent snapshot page by
 * page without stopping writers (better-sqlite3's `backup()`), to `<outDir>/callroute-<time>.db`, and
 * the erasure list beside it (the list file and the database's own erasures, merged). Returns both paths.
 */
export async function backupDatabase(opts: { dbPath: string; erasureList: string; outDir: string; now?: number }): Promise<{ database: string; erasures: string; entries: number }> {
  const at = opts.now ?? Date.now();
  await mkdir(opts.outDir, { recursive: true, mode: 0o700 });
  const database = join(opts.outDir, `callroute-${stamp(at)}.db`);
  const source = new Database(opts.dbPath, { readonly: true, fileMustExist: true });
  try {
    await source.backup(`${database}.part`);
  } finally {
    source.close();
  }
  // One self-contained file: the copy keeps the source's WAL mode, which would leave -wal/-shm files beside it.
  const copy = new Database(`${database}.part`);
  copy.pragma('journal_mode = DELETE');
  copy.close();
  await rename(`${database}.part`, database);
  const entries = unique([...(await readErasureList(opts.erasureList)), ...erasuresIn(database)]);
  const erasures = join(opts.outDir, `erasures-${stamp(at)}.jsonl`);
  await writeFile(erasures, entries.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
  return { database, erasures, entries: entries.length };
}

/** The subjects of a database whose keyed hash is on the list: every caller number, visitor id and visit id is hashed once. */
function subjectsOnList(db: Db, entries: readonly ErasureEntry[], deps: Pick<ErasureDeps, 'hashSecret' | 'defaultCountryCode'>): Array<{ entry: ErasureEntry; subject: Subject }> {
  const wanted = new Map<string, ErasureEntry[]>();
  for (const e of entries) wanted.set(e.subjectHash, [...(wanted.get(e.subjectHash) ?? []), e]);
  const found = new Map<string, { entry: ErasureEntry; subject: Subject }>();
  const consider = (hash: string, subject: Subject): void => {
    for (const entry of wanted.get(hash) ?? []) found.set(entryKey(entry), { entry, subject });
  };
  const sqlite = db.$client;
  for (const row of sqlite.prepare("SELECT DISTINCT caller_number AS n FROM calls WHERE caller_number IS NOT NULL AND caller_number NOT LIKE 'erased:%'").iterate() as Iterable<{ n: string }>) {
    const e164 = normalizeNumber(row.n, deps.defaultCountryCode);
    if (e164) consider(erasedCallerNumber(e164, deps.hashSecret), { callerNumber: e164 });
  }
  for (const row of sqlite.prepare('SELECT id, visitor_id AS visitorId FROM visits').iterate() as Iterable<{ id: number; visitorId: string }>) {
    consider(subjectHashOf({ visitorId: row.visitorId }, deps.hashSecret), { visitorId: row.visitorId });
    consider(subjectHashOf({ visitId: row.id }, deps.hashSecret), { visitId: row.id });
  }
  return [...found.values()];
}

export interface RestoreReport {
  /** Erasures on the lists (the database being replaced, the list file, any given). */
  entries: number;
  /** Of those, the ones whose subject the restored database still held: erased again. */
  reapplied: number;
  calls: number;
  visits: number;
  recordings: number;
}

/**
 * Restores a backup over the database (the router stopped), then re-applies every erasure on the
 * lists: the erasure list file, any given, and the erasures the database being replaced records. A
 * subject the backup still holds is erased again exactly as the first time (recordings' files too,
 * should they have been restored from a file backup), and the request recorded again. Nothing of
 * an erased person comes back with an old backup.
 */
export async function restoreDatabase(
  opts: { backup: string; dbPath: string; erasureLists: readonly string[]; logger: Pick<Logger, 'error' | 'info'> } & Omit<ErasureDeps, 'store' | 'logger'>,
): Promise<RestoreReport> {
  const entries = unique([...(await Promise.all(opts.erasureLists.map(readErasureList))).flat(), ...erasuresIn(opts.dbPath)]);
  await copyFile(opts.backup, `${opts.dbPath}.restoring`);
  for (const suffix of ['-wal', '-shm', '']) await rm(`${opts.dbPath}${suffix}`, { force: true });
  await rename(`${opts.dbPath}.restoring`, opts.dbPath);
  // Migrations run on open: a backup from an older version comes up to date first.
  const db = openDatabase(opts.dbPath);
  const report: RestoreReport = { entries: entries.length, reapplied: 0, calls: 0, visits: 0, recordings: 0 };
  try {
    // A SQLite file restored: its own store (a PostgreSQL database is backed up and restored with the server's tools).
    const store = sqliteStore(db);
    const deps: ErasureDeps = { ...opts, store, logger: opts.logger };
    for (const { entry, subject } of subjectsOnList(db, entries, deps)) {
      const accountIds = entry.accountId !== null ? [entry.accountId] : entry.accountIds;
      const found = await store.run(findSubject(subject, accountIds, deps));
      if (found.calls.length === 0 && found.visits.length === 0) continue;
      const result = await eraseFound(found, deps, 'callerNumber' in subject ? { e164: subject.callerNumber, restrictionAccounts: accountIds ?? (await store.run(listAccounts())).map((a) => a.id) } : null);
      await store.run(recordPrivacyRequest({
        at: opts.now(),
        kind: 'erasure',
        subjectHash: entry.subjectHash,
        accountId: entry.accountId,
        agencyId: null,
        actor: 'restore (re-applied erasure)',
        result: JSON.stringify({ ...result, ...(entry.accountIds ? { accounts: entry.accountIds } : {}), erasedAt: new Date(entry.at).toISOString() }),
      }));
      report.reapplied += 1;
      report.calls += result.calls;
      report.visits += result.visits;
      report.recordings += result.recordings;
    }
    // Erasures the backup predates are recorded in it too, so the next restore finds them here.
    for (const entry of entries) {
      const known = (await store.run(privacyRequestsOfSubject(entry.subjectHash))).some((r) => r.kind === 'erasure');
      if (!known) {
        const result = JSON.stringify(entry.accountIds ? { accounts: entry.accountIds } : {});
        await store.run(recordPrivacyRequest({ at: entry.at, kind: 'erasure', subjectHash: entry.subjectHash, accountId: entry.accountId, agencyId: null, actor: 'restore (erasure list)', result }));
      }
    }
    opts.logger.info(report, 'database restored; erasures re-applied');
  } finally {
    db.$client.close();
  }
  return report;
}
