/**
 * Online backup and restore with the erasure list: a backup taken before an erasure, restored after
 * it (with the database that recorded the erasure replaced, or lost altogether), brings nothing of the
 * erased person back: the erasure is re-applied from the list, down to the bytes of the database file.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { calls, recordings, visits } from '../../src/persistence/schema.js';
import { backupDatabase, restoreDatabase } from '../../src/privacy/backupRestore.js';
import { readErasureList } from '../../src/privacy/erasureList.js';

const ADMIN = 'backup-test-admin-token-0123456789ab';
const admin = { authorization: `Bearer ${ADMIN}` };
const NOW = Date.parse('2026-12-06T12:00:00Z');
const SECRET = `privacy:${ADMIN}`;

let tmp: string;
let dbPath: string;
let listPath: string;
let recordingsDir: string;
let db: Db;
let app: FastifyInstance;

function start(): void {
  db = openDatabase(dbPath);
  app = buildApp({
    store: sqliteStore(db),
    logger: createLogger('silent'),
    adminToken: ADMIN,
    defaultCountryCode: '1',
    telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    now: () => NOW,
    erasureList: listPath,
    recordings: { dir: recordingsDir, asteriskRoot: join(tmp, 'asterisk'), keys: new Map(), linkSecret: 'l', linkTtlSeconds: 300, publicBaseUrl: 'http://x', ffmpegPath: null },
  });
}
async function stop(): Promise<void> {
  await app.close();
  db.$client.close();
}

beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'callroute-backup-'));
  dbPath = join(tmp, 'callroute.db');
  listPath = join(tmp, 'erasures.jsonl');
  recordingsDir = join(tmp, 'recordings');
  start();
});
afterEach(async () => {
  if (db.$client.open) await stop();
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function insertCall(accountId: number, callerNumber: string, extra: Partial<typeof calls.$inferInsert> = {}): number {
  n += 1;
  return db
    .insert(calls)
    .values({ accountId, did: '+15551230000', callerNumber, callerName: `NAME ${callerNumber}`, source: 'google', arrivedAt: NOW - n * 1000, inboundChannelId: `c-${n}`, finished: true, disposition: 'answered', ...extra })
    .returning()
    .get().id;
}

async function seed(): Promise<{ account: number; recordingFile: string }> {
  const account = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
  const visit = db.insert(visits).values({ accountId: account, visitorId: 'browser-x', lastSeenAt: NOW, firstVisitAt: NOW, createdAt: NOW }).returning().get().id;
  const call = insertCall(account, '+15557654321', { visitId: visit });
  insertCall(account, '5557654321');
  insertCall(account, '+15550000001');
  const rel = `${account}/call-${call}.mp3`;
  const recordingFile = join(recordingsDir, rel);
  mkdirSync(dirname(recordingFile), { recursive: true });
  writeFileSync(recordingFile, 'ID3 audio');
  db.insert(recordings).values({ callId: call, accountId: account, status: 'ready', channels: 'mixed', asteriskNames: '[]', startedAt: NOW, path: rel, sizeBytes: 9 }).run();
  return { account, recordingFile };
}

/** Whether the person is anywhere in the database file (and its WAL). */
function personInDatabase(): string[] {
  return readdirSync(tmp)
    .filter((f) => f.startsWith('callroute.db'))
    .flatMap((f) => ['5557654321', 'NAME +15557654321', 'NAME 5557654321', 'browser-x'].filter((needle) => readFileSync(join(tmp, f)).toString('latin1').includes(needle)).map((needle) => `${f}: ${needle}`));
}

const restoreDeps = () => ({
  dbPath,
  erasureLists: [listPath],
  logger: createLogger('silent'),
  now: () => NOW,
  recordingsDir,
  asteriskRoot: join(tmp, 'asterisk'),
  hashSecret: SECRET,
  defaultCountryCode: '1',
  exports: { dir: join(tmp, 'exports'), ttlSeconds: 3600 },
});

describe('backup and restore keep erasures erased', () => {
  for (const lost of [false, true]) {
    it(lost ? 'from the erasure list alone, when the database that made the erasure is lost' : 'restoring over the database that made the erasure', async () => {
      const { account, recordingFile } = await seed();
      const backup = await backupDatabase({ dbPath, erasureList: listPath, outDir: join(tmp, 'backups'), now: NOW });
      expect(existsSync(backup.database)).toBe(true);

      const erased = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: '(555) 765-4321', accountId: account } });
      expect(erased.statusCode, erased.body).toBe(201);
      expect(await readErasureList(listPath)).toEqual([{ at: NOW, subjectHash: expect.stringMatching(/^erased:/), accountId: account }]);
      expect(JSON.stringify(await readErasureList(listPath))).not.toContain('5557654321');
      await stop();
      // The recordings come back from a file backup as well.
      mkdirSync(dirname(recordingFile), { recursive: true });
      writeFileSync(recordingFile, 'ID3 audio');
      if (lost) for (const f of readdirSync(tmp).filter((x) => x.startsWith('callroute.db'))) rmSync(join(tmp, f));

      const report = await restoreDatabase({ backup: backup.database, ...restoreDeps() });
      expect(report).toMatchObject({ entries: 1, reapplied: 1, calls: 2, visits: 1, recordings: 1 });
      expect(personInDatabase()).toEqual([]);
      expect(existsSync(recordingFile)).toBe(false);
      start();
      const rows = db.select().from(calls).all();
      expect(rows).toHaveLength(3);
      expect(rows.filter((c) => c.callerNumber?.startsWith('erased:'))).toHaveLength(2);
      expect(rows.some((c) => c.callerNumber === '+15550000001')).toBe(true);
      const requests = (await app.inject({ method: 'GET', url: '/v1/privacy/requests', headers: admin })).json().requests;
      expect(requests.map((r: { actor: string }) => r.actor)).toContain('restore (re-applied erasure)');
      await stop();
      // A second restore of the same backup finds the erasure again.
      expect((await restoreDatabase({ backup: backup.database, ...restoreDeps() })).reapplied).toBe(1);
      start();
    });
  }

  it('an erasure by visitor id is re-applied too', async () => {
    const { account } = await seed();
    const backup = await backupDatabase({ dbPath, erasureList: listPath, outDir: join(tmp, 'backups'), now: NOW });
    await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', visitorId: 'browser-x', accountId: account } });
    await stop();
    const report = await restoreDatabase({ backup: backup.database, ...restoreDeps() });
    expect(report).toMatchObject({ reapplied: 1, visits: 1, calls: 1 });
    start();
    expect(db.select().from(visits).all()).toEqual([]);
  });

  it('an erasure about an agency is re-applied in its accounts only', async () => {
    const agency = (await app.inject({ method: 'POST', url: '/v1/agencies', headers: admin, payload: { name: 'Agency' } })).json().id;
    const client = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Client', agencyId: agency } })).json().id;
    const outside = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Elsewhere' } })).json().id;
    insertCall(client, '+15557654321');
    insertCall(outside, '+15557654321');
    const backup = await backupDatabase({ dbPath, erasureList: listPath, outDir: join(tmp, 'backups'), now: NOW });
    const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: '+15557654321', agencyId: agency } });
    expect(res.json().request.result).toMatchObject({ calls: 1 });
    await stop();
    for (const f of readdirSync(tmp).filter((x) => x.startsWith('callroute.db'))) rmSync(join(tmp, f));
    expect(await restoreDatabase({ backup: backup.database, ...restoreDeps() })).toMatchObject({ reapplied: 1, calls: 1 });
    start();
    const rows = db.select().from(calls).all();
    expect(rows.find((c) => c.accountId === client)?.callerNumber).toMatch(/^erased:/);
    expect(rows.find((c) => c.accountId === outside)?.callerNumber).toBe('+15557654321');
  });
});

