/**
 * Privacy requests by caller number through the real app on a SQLite file: access finds every call of
 * the caller in any spelling of the number, in the asker's account only; erasure deletes the recordings'
 * files and media jobs, the visits, and who called from the calls, keeps the report totals, and leaves
 * the number nowhere in the database file, its WAL, the recordings directory or the log.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { removeExpiredExports } from '../../src/privacy/exportFiles.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { calls, visits } from '../../src/persistence/schema.js';
import { affected, sqliteStore, type Store } from '../../src/persistence/store.js';
import { currentRouteTableVersion } from '../../src/persistence/trackingNumberRepository.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'privacy-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const T0 = Date.parse('2026-05-04T10:00:00.000Z');
const SUBJECT = '+15557654321';
/** How the number may appear: stored as carriers send it, and as people type it. */
const SPELLINGS = ['+15557654321', '15557654321', '5557654321', '555-765-4321', '(555) 765-4321', '555 765 4321'];

let tmp: string;

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('privacy on %s', (dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let logged: string;
  let recordingsDir: string;
  /** The app's clock: link expiry is tested by moving it. */
  let clock = T0 + 3_600_000;

  beforeEach(async () => {
    clock = T0 + 3_600_000;
    tmp = mkdtempSync(join(tmpdir(), 'callroute-privacy-'));
    recordingsDir = join(tmp, 'recordings');
    // SQLite in a file: the erasure test reads the database's own files for what must be gone.
    store = dialect === 'SQLite' ? sqliteStore(openDatabase(join(tmp, 'callroute.db'))) : await open();
    logged = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    app = buildApp({
      store,
      logger: createLogger('debug', sink),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      now: () => clock,
      recordings: { dir: recordingsDir, asteriskRoot: join(tmp, 'asterisk'), keys: new Map(), linkSecret: 'l', linkTtlSeconds: 300, publicBaseUrl: 'http://x', ffmpegPath: null },
    });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  let channel = 0;
  async function insertCall(accountId: number, callerNumber: string, extra: Partial<typeof calls.$inferInsert> = {}): Promise<number> {
    return (await insertRow(store, 'calls', {
        accountId,
        did: '+15551230000',
        callerNumber,
        callerName: 'PAT EXAMPLE',
        source: 'google',
        medium: 'cpc',
        arrivedAt: T0 + ++channel * 1000,
        inboundChannelId: `chan-${channel}`,
        finished: true,
        disposition: 'answered',
        firstTimeCaller: true,
        ...extra,
      })).id;
  }

  async function insertRecording(callId: number, accountId: number): Promise<{ id: number; file: string }> {
    const rel = `${accountId}/2026/05/04/call-${callId}.mp3`;
    const file = join(recordingsDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, Buffer.from('ID3 pretend audio'));
    const id = (await insertRow(store, 'recordings', { callId, accountId, status: 'ready', channels: 'mixed', format: 'mp3', asteriskNames: JSON.stringify([`callroute-${callId}`]), startedAt: T0, path: rel, sizeBytes: 17 })).id;
    await insertRow(store, 'mediaJobs', { recordingId: id, status: 'done', createdAt: T0, updatedAt: T0 });
    await store.run(function* ({ db, t }) {
      yield* affected(db.update(t.calls).set({ recordingStatus: 'ready' }).where(eq(t.calls.id, callId)));
    });
    return { id, file };
  }

  async function owner(accountId: number, role = 'owner'): Promise<Record<string, string>> {
    const email = `${role}${accountId}@acme.test`;
    const invited = await app.inject({ method: 'PUT', url: `/v1/accounts/${accountId}/users`, headers: admin, payload: { email, role } });
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: 'a passphrase long enough' } });
    const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password: 'a passphrase long enough' } });
    const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
    return { cookie, origin: 'http://localhost:80' };
  }

  async function report(headers: Record<string, string>, accountId: number) {
    const res = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&accountId=${accountId}&from=2026-05-01T00:00:00Z&to=2026-05-10T00:00:00Z`, headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  }

  describe('privacy requests by caller number', () => {
    it('access finds every spelling of the number in the asker’s account, and nothing of another account', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const b = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Other' } })).json().id;
      const mine = [await insertCall(a, '+15557654321'), await insertCall(a, '15557654321'), await insertCall(a, '5557654321')];
      await insertCall(a, '+15550000001');
      await insertCall(b, '+15557654321');
      const headers = await owner(a);
      for (const spelling of SPELLINGS) {
        const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload: { kind: 'access', callerNumber: spelling } });
        expect(res.statusCode, res.body).toBe(201);
        expect(res.json().calls.map((c: { id: number }) => c.id), spelling).toEqual(mine);
      }
      const bad = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload: { kind: 'access', callerNumber: 'not a number' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('body.callerNumber');
      expect((await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload: { kind: 'access', callerNumber: SUBJECT, accountId: b } })).statusCode).toBe(400);
      // The operator across the installation.
      const all = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'access', callerNumber: SUBJECT } });
      expect(all.json().calls).toHaveLength(4);
      // Stored without the number; listed for the owner.
      const listed = (await app.inject({ method: 'GET', url: '/v1/privacy/requests', headers })).json().requests;
      expect(listed).toHaveLength(SPELLINGS.length);
      expect(JSON.stringify((await allRows(store, 'privacyRequests')))).not.toMatch(/5557654321/);
    });

    it('erasure removes recordings, jobs, visits and who called, keeps the report totals, and leaves the number nowhere', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const visit = (await insertRow(store, 'visits', { accountId: a, visitorId: 'v-subject', lastSeenAt: T0, firstVisitAt: T0, createdAt: T0, clickIds: '{"gclid":"abc"}', landingPage: 'https://acme.test/?gclid=abc' })).id;
      const c1 = await insertCall(a, '+15557654321', { visitId: visit, clickIds: '{"gclid":"abc"}', landingPage: 'https://acme.test/offer?gclid=abc', referrer: 'https://www.google.com/' });
      const c2 = await insertCall(a, '5557654321', { source: 'direct' });
      const other = await insertCall(a, '+15550000001', { callerName: 'SOMEONE ELSE' });
      const r1 = await insertRecording(c1, a);
      const r2 = await insertRecording(c2, a);
      await insertRecording(other, a);
      const headers = await owner(a);
      const before = await report(headers, a);

      const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload: { kind: 'erasure', callerNumber: '(555) 765-4321' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().request.result).toEqual({ calls: 2, recordings: 2, filesDeleted: 2, bytesFreed: 34, visits: 1, restrictionsEnded: 0, exportsDeleted: 0, walCheckpointed: dialect === 'SQLite' });

      expect(existsSync(r1.file) || existsSync(r2.file)).toBe(false);
      expect((await allRows(store, 'mediaJobs')).map((j) => j.recordingId)).toEqual([3]);
      expect((await allRows(store, 'recordings')).map((r) => r.status)).toEqual(['deleted', 'deleted', 'ready']);
      expect((await allRows(store, 'visits'))).toEqual([]);
      const erased = (await allRows(store, 'calls')).filter((c) => c.id !== other);
      for (const c of erased) {
        expect(c.callerNumber).toMatch(/^erased:[A-Za-z0-9_-]{22}$/);
        expect(c).toMatchObject({ callerName: null, visitId: null, clickIds: null, referrer: null, recordingStatus: 'deleted' });
      }
      // The same person keeps one hash (counts by caller stay true); the path of the landing page stays.
      expect(erased[0]!.callerNumber).toBe(erased[1]!.callerNumber);
      expect(erased[0]!.landingPage).toBe('https://acme.test/offer');
      expect(await report(headers, a)).toEqual(before);

      // Nowhere: the database file and its WAL (SQLite's: PostgreSQL keeps an old row version in the
      // server's files until vacuum reuses its space), the recordings directory, the log.
      await app.close();
      await store.close();
      const needles = ['5557654321', '555-765-4321', '765-4321', 'PAT EXAMPLE', 'gclid=abc', 'v-subject'];
      if (dialect === 'SQLite') {
        const files = readdirSync(tmp).filter((f) => f.startsWith('callroute.db'));
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          const bytes = readFileSync(join(tmp, f)).toString('latin1');
          for (const n of needles) expect(bytes.includes(n), `${n} in ${f}`).toBe(false);
        }
      }
      const left = readdirSync(recordingsDir, { recursive: true }).map(String);
      expect(left.some((f) => f.includes(`call-${c1}`) || f.includes(`call-${c2}`))).toBe(false);
      for (const n of needles.slice(0, 4)) expect(logged.includes(n), `${n} in the log`).toBe(false);
      expect(logged).toContain('privacy erasure done');
      store = dialect === 'SQLite' ? sqliteStore(openDatabase(join(tmp, 'callroute.db'))) : await open();
      app = buildApp({ store, logger: createLogger('silent'), adminToken: ADMIN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
    });

    it('refuses to erase while the caller is on a call, and changes nothing', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const c = await insertCall(a, SUBJECT, { finished: false, disposition: null });
      const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: SUBJECT } });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toMatchObject({ code: 'CR_ERR_CALL_IN_PROGRESS', field: 'body.callerNumber' });
      expect((await allRows(store, 'calls')).find((x) => x.id === c)?.callerNumber).toBe(SUBJECT);
    });
  });

  async function insertVisit(accountId: number, visitorId: string, extra: Partial<typeof visits.$inferInsert> = {}): Promise<number> {
    return (await insertRow(store, 'visits', { accountId, visitorId, lastSeenAt: T0, firstVisitAt: T0, createdAt: T0, ...extra })).id;
  }

  describe('privacy requests by website visitor and by visit', () => {
    it('a caller’s request reaches every visit of the browsers their calls came from; a visitor’s, the calls from their visits', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const b = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Other' } })).json().id;
      const v1 = await insertVisit(a, 'browser-1', { landingPage: 'https://acme.test/?gclid=one' });
      const v2 = await insertVisit(a, 'browser-1', { landingPage: 'https://acme.test/pricing' });
      const v3 = await insertVisit(a, 'browser-2');
      await insertVisit(b, 'browser-1');
      const c1 = await insertCall(a, SUBJECT, { visitId: v1 });
      const c2 = await insertCall(a, '+15550000002', { visitId: v2 });
      await insertCall(a, '+15550000003', { visitId: v3 });
      const headers = await owner(a);
      const ask = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload });

      const byCaller = (await ask({ kind: 'access', callerNumber: SUBJECT })).json();
      expect(byCaller.calls.map((c: { id: number }) => c.id)).toEqual([c1]);
      expect(byCaller.visits.map((v: { id: number }) => v.id)).toEqual([v1, v2]);
      const byVisitor = (await ask({ kind: 'access', visitorId: 'browser-1' })).json();
      expect(byVisitor.visits.map((v: { id: number }) => v.id)).toEqual([v1, v2]);
      expect(byVisitor.calls.map((c: { id: number }) => c.id)).toEqual([c1, c2]);
      const byVisit = (await ask({ kind: 'access', visitId: v2 })).json();
      expect(byVisit.visits.map((v: { id: number }) => v.id)).toEqual([v2]);
      expect(byVisit.calls.map((c: { id: number }) => c.id)).toEqual([c2]);
      // Another account's visit is not found, as a missing one.
      const theirs = (await allRows(store, 'visits')).find((v) => v.accountId === b)!.id;
      expect((await ask({ kind: 'access', visitId: theirs })).json().visits).toEqual([]);

      // One subject per request; restriction needs a number.
      for (const payload of [{ kind: 'access' }, { kind: 'access', visitorId: 'browser-1', visitId: v1 }, { kind: 'restriction', visitorId: 'browser-1' }]) {
        const res = await ask(payload);
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(res.json().error.field).toBe('body.callerNumber');
      }

      const erased = await ask({ kind: 'erasure', visitorId: 'browser-1' });
      expect(erased.statusCode, erased.body).toBe(201);
      expect(erased.json().request.result).toMatchObject({ calls: 2, visits: 2 });
      expect((await allRows(store, 'visits')).map((v) => v.visitorId).sort()).toEqual(['browser-1', 'browser-2']);
      const rows = (await allRows(store, 'calls'));
      for (const id of [c1, c2]) expect(rows.find((c) => c.id === id)).toMatchObject({ visitId: null, callerName: null, callerNumber: expect.stringMatching(/^erased:/) });
      // Each caller keeps their own hash.
      expect(rows.find((c) => c.id === c1)!.callerNumber).not.toBe(rows.find((c) => c.id === c2)!.callerNumber);
      expect(JSON.stringify((await allRows(store, 'privacyRequests')))).not.toContain('browser-1');
    });
  });

  describe('restriction of processing and the do-not-record list', () => {
    it('restriction hides the caller’s calls and recordings from all but owners and the operator; lifting restores them', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const c1 = await insertCall(a, SUBJECT);
      const c2 = await insertCall(a, '5557654321');
      const other = await insertCall(a, '+15550000001');
      const rec = await insertRecording(c1, a);
      const ownerHeaders = await owner(a);
      const manager = await owner(a, 'manager');
      const listed = async (headers: Record<string, string>) =>
        (await app.inject({ method: 'GET', url: '/v1/calls', headers })).json().calls.map((c: { id: number }) => c.id).sort();
      const version = () => store.run(currentRouteTableVersion());
      const v0 = await version();

      const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: ownerHeaders, payload: { kind: 'restriction', callerNumber: '555.765.4321' } });
      expect(res.statusCode, res.body).toBe(201);
      expect(res.json().request.result).toEqual({ calls: 2, accounts: 1, rulesAdded: 1 });
      expect(await version()).toBeGreaterThan(v0);
      expect(await listed(manager)).toEqual([other]);
      expect(await listed(ownerHeaders)).toEqual([c1, c2, other]);
      expect(await listed(admin)).toEqual([c1, c2, other]);
      expect((await app.inject({ method: 'GET', url: `/v1/calls/${c1}`, headers: manager })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: `/v1/calls/${c1}/recordings`, headers: manager })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}`, headers: manager })).statusCode).toBe(404);
      const seen = await app.inject({ method: 'GET', url: `/v1/calls/${c1}`, headers: ownerHeaders });
      expect(seen.json()).toMatchObject({ id: c1, restricted: true });
      // Restricting again adds no second rule.
      const again = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: ownerHeaders, payload: { kind: 'restriction', callerNumber: SUBJECT } });
      expect(again.json().request.result).toEqual({ calls: 2, accounts: 1, rulesAdded: 0 });

      const lifted = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: ownerHeaders, payload: { kind: 'lift-restriction', callerNumber: SUBJECT } });
      expect(lifted.json().request.result).toEqual({ calls: 2, accounts: 1, rulesRemoved: 1 });
      expect(await listed(manager)).toEqual([c1, c2, other]);
      expect((await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}`, headers: manager })).statusCode).toBe(200);
      expect(await allRows(store, 'callerPrivacyRules')).toEqual([]);
    });

    it('erasure ends a restriction (nothing is left to restrict)', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      await insertCall(a, SUBJECT);
      await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'restriction', callerNumber: SUBJECT, accountId: a } });
      const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: SUBJECT, accountId: a } });
      expect(res.json().request.result).toMatchObject({ calls: 1, restrictionsEnded: 1 });
      expect(await allRows(store, 'callerPrivacyRules')).toEqual([]);
    });

    it('keeps an account’s do-not-record list: numbers in any spelling, once each, per account', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const b = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Other' } })).json().id;
      const manager = await owner(a, 'manager');
      const analyst = await owner(a, 'analyst');
      const url = `/v1/accounts/${a}/do-not-record`;
      const added = await app.inject({ method: 'POST', url, headers: manager, payload: { callerNumber: '(555) 765-4321' } });
      expect(added.statusCode, added.body).toBe(201);
      expect(added.json()).toMatchObject({ accountId: a, callerNumber: SUBJECT, createdBy: expect.stringContaining('manager') });
      expect((await app.inject({ method: 'POST', url, headers: manager, payload: { callerNumber: SUBJECT } })).statusCode).toBe(200);
      const bad = await app.inject({ method: 'POST', url, headers: manager, payload: { callerNumber: 'nobody' } });
      expect([bad.statusCode, bad.json().error.field]).toEqual([400, 'body.callerNumber']);
      expect((await app.inject({ method: 'POST', url, headers: analyst, payload: { callerNumber: '+15550000009' } })).statusCode).toBe(403);
      expect((await app.inject({ method: 'GET', url: `/v1/accounts/${b}/do-not-record`, headers: manager })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url, headers: manager })).json().entries).toHaveLength(1);
      const id = added.json().id;
      expect((await app.inject({ method: 'DELETE', url: `/v1/accounts/${b}/do-not-record/${id}`, headers: admin })).statusCode).toBe(404);
      expect((await app.inject({ method: 'DELETE', url: `${url}/${id}`, headers: manager })).statusCode).toBe(204);
      expect((await app.inject({ method: 'DELETE', url: `${url}/${id}`, headers: manager })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url, headers: manager })).json().entries).toEqual([]);
    });
  });

  describe('privacy export', () => {
    it('writes one ZIP of the subject’s calls, visits and recordings’ audio, downloadable once signed and until the link expires; erasure removes it', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json().id;
      const visit = await insertVisit(a, 'browser-9', { landingPage: 'https://acme.test/?gclid=abc' });
      const c1 = await insertCall(a, SUBJECT, { visitId: visit });
      const c2 = await insertCall(a, '5557654321');
      await insertCall(a, '+15550000001');
      const rec = await insertRecording(c1, a);
      const headers = await owner(a);

      const res = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload: { kind: 'export', callerNumber: SUBJECT } });
      expect(res.statusCode, res.body).toBe(201);
      const { request: stored, download } = res.json();
      expect(stored.result).toMatchObject({ calls: 2, recordings: 1, visits: 1, audioFiles: 1 });
      expect(download.expiresAt).toBe(new Date(clock + 3_600_000).toISOString());
      const url = new URL(download.url);
      expect(url.pathname).toBe(`/privacy-exports/${stored.id}`);

      const got = await app.inject({ method: 'GET', url: `${url.pathname}${url.search}` });
      expect(got.statusCode, got.body).toBe(200);
      expect(got.headers['content-type']).toBe('application/zip');
      expect(got.headers['content-disposition']).toContain('attachment');
      const zip = join(tmp, 'got.zip');
      writeFileSync(zip, got.rawPayload);
      expect(execFileSync('unzip', ['-tq', zip]).toString()).toMatch(/No errors detected/);
      expect(execFileSync('unzip', ['-Z1', zip]).toString().trim().split('\n')).toEqual([
        'README.txt',
        'subject.json',
        'calls.csv',
        'visits.csv',
        `recordings/call-${c1}-recording-${rec.id}.mp3`,
      ]);
      const subject = JSON.parse(execFileSync('unzip', ['-p', zip, 'subject.json']).toString());
      expect(subject.calls.map((c: { id: number }) => c.id)).toEqual([c1, c2]);
      expect(subject.visits.map((v: { visitorId: string }) => v.visitorId)).toEqual(['browser-9']);
      expect(execFileSync('unzip', ['-p', zip, `recordings/call-${c1}-recording-${rec.id}.mp3`]).equals(readFileSync(rec.file))).toBe(true);
      expect(execFileSync('unzip', ['-p', zip, 'calls.csv']).toString().split('\r\n')).toHaveLength(4);
      const audited = (await allRows(store, 'auditLog')).filter((e) => e.action === 'privacy.export.download').map((e) => ({ accountId: e.accountId, actor: e.actor }));
      expect(audited).toEqual([{ accountId: a, actor: 'signed link' }]);

      // A link altered or for another thing opens nothing; an old one has expired.
      const tampered = await app.inject({ method: 'GET', url: `${url.pathname}${url.search.replace(/sig=./, 'sig=A')}` });
      expect(tampered.json().error.code).toBe('CR_ERR_LINK_INVALID');
      const asRecording = await app.inject({ method: 'GET', url: `/r/${stored.id}${url.search}` });
      expect(asRecording.statusCode).toBeGreaterThanOrEqual(400);
      clock += 3_601_000;
      expect((await app.inject({ method: 'GET', url: `${url.pathname}${url.search}` })).json().error.code).toBe('CR_ERR_LINK_EXPIRED');

      // Erasing the subject removes the archive too: it is a copy of what goes.
      const erased = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: SUBJECT, accountId: a } });
      expect(erased.statusCode, erased.body).toBe(201);
      expect(erased.json().request.result).toMatchObject({ calls: 2, exportsDeleted: 1 });
      expect(readdirSync(join(tmp, 'exports'))).toEqual([]);
    });

    it('archives past their link’s life are removed by the sweep', async () => {
      const dir = join(tmp, 'sweep');
      mkdirSync(dir);
      writeFileSync(join(dir, 'export-7-0123456789abcdef.zip'), 'x');
      writeFileSync(join(dir, 'not-ours.txt'), 'x');
      expect(await removeExpiredExports({ dir, ttlSeconds: 60 }, Date.now())).toBe(0);
      expect(await removeExpiredExports({ dir, ttlSeconds: 60 }, Date.now() + 61_000)).toBe(1);
      expect(readdirSync(dir)).toEqual(['not-ours.txt']);
    });
  });


  describe('privacy requests about an agency’s accounts', () => {
    it('an agency owner asks once for all its client accounts and sees the request; other accounts stay out', async () => {
      const agency = (await app.inject({ method: 'POST', url: '/v1/agencies', headers: admin, payload: { name: 'Agency' } })).json().id;
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'A', agencyId: agency } })).json().id;
      const b = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'B', agencyId: agency } })).json().id;
      const outside = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Elsewhere' } })).json().id;
      const mine = [await insertCall(a, SUBJECT), await insertCall(b, '5557654321')];
      await insertCall(outside, SUBJECT);
      const invited = await app.inject({ method: 'PUT', url: `/v1/agencies/${agency}/users`, headers: admin, payload: { email: 'boss@agency.test', role: 'owner' } });
      expect(invited.statusCode, invited.body).toBe(200);
      await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: 'a passphrase long enough' } });
      const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'boss@agency.test', password: 'a passphrase long enough' } });
      const headers = { cookie: ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; '), origin: 'http://localhost:80' };
      const ask = (payload: Record<string, unknown>) => app.inject({ method: 'POST', url: '/v1/privacy/requests', headers, payload });

      // Two accounts: the agency owner names one, or the agency.
      expect((await ask({ kind: 'access', callerNumber: SUBJECT })).json().error.field).toBe('body.accountId');
      const access = await ask({ kind: 'access', callerNumber: SUBJECT, agencyId: agency });
      expect(access.statusCode, access.body).toBe(201);
      expect(access.json().calls.map((c: { id: number }) => c.id)).toEqual(mine);
      expect(access.json().request).toMatchObject({ accountId: null, agencyId: agency, result: { calls: 2, accounts: [a, b] } });
      expect((await ask({ kind: 'access', callerNumber: SUBJECT, agencyId: agency, accountId: a })).json().error.field).toBe('body.agencyId');
      const otherAgency = (await app.inject({ method: 'POST', url: '/v1/agencies', headers: admin, payload: { name: 'Other' } })).json().id;
      expect((await ask({ kind: 'access', callerNumber: SUBJECT, agencyId: otherAgency })).json().error).toMatchObject({ field: 'body.agencyId', message: `agency ${otherAgency} does not exist` });

      const erased = await ask({ kind: 'erasure', callerNumber: SUBJECT, agencyId: agency });
      expect(erased.json().request.result).toMatchObject({ calls: 2 });
      const left = (await allRows(store, 'calls'));
      expect(left.filter((c) => c.callerNumber === SUBJECT).map((c) => c.accountId)).toEqual([outside]);
      const listed = (await app.inject({ method: 'GET', url: '/v1/privacy/requests', headers })).json().requests;
      expect(listed.map((r: { kind: string }) => r.kind)).toEqual(['erasure', 'access']);
      // The erasure list keeps where it reached, for a restore.
      const list = readFileSync(join(tmp, 'erasures.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(list).toEqual([expect.objectContaining({ accountId: null, accountIds: [a, b] })]);
    });
  });
});
