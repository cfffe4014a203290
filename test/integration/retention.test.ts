/**
 * Retention for every kind of data, through the real app on a SQLite file: what GET /v1/privacy/retention
 * says will go is what the job removes; call records are anonymised as an erasure does (their
 * recordings deleted), visits and audit entries deleted, report totals unchanged; the job works in
 * batches from a cursor, so it resumes where it stopped.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { DAY_MS, runRetention } from '../../src/privacy/runRetention.js';
import type { Store } from '../../src/persistence/store.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'retention-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const NOW = Date.parse('2026-12-06T12:00:00.000Z');

let tmp: string;

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('retention on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let recordingsDir: string;

  beforeEach(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'callroute-retention-'));
    recordingsDir = join(tmp, 'recordings');
    store = await open();
    app = buildApp({
      store,
      logger: createLogger('silent'),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      now: () => NOW,
      recordings: { dir: recordingsDir, asteriskRoot: join(tmp, 'asterisk'), keys: new Map(), linkSecret: 'l', linkTtlSeconds: 300, publicBaseUrl: 'http://x', ffmpegPath: null },
    });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  let channel = 0;
  async function insertCall(accountId: number, daysAgo: number, callerNumber = '+15557654321'): Promise<number> {
    return (await insertRow(store, 'calls', {
        accountId,
        did: '+15551230000',
        callerNumber,
        callerName: 'PAT EXAMPLE',
        source: 'google',
        clickIds: '{"gclid":"abc"}',
        landingPage: 'https://acme.test/offer?gclid=abc',
        arrivedAt: NOW - daysAgo * DAY_MS + ++channel,
        inboundChannelId: `chan-${channel}`,
        finished: true,
        disposition: 'answered',
        firstTimeCaller: true,
      })).id;
  }

  async function insertRecording(callId: number, accountId: number): Promise<string> {
    const rel = `${accountId}/call-${callId}.mp3`;
    const file = join(recordingsDir, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, 'ID3 pretend audio');
    await insertRow(store, 'recordings', { callId, accountId, status: 'ready', channels: 'mixed', asteriskNames: '[]', startedAt: NOW, path: rel, sizeBytes: 17 });
    return file;
  }

  async function insertVisit(accountId: number, daysAgo: number): Promise<number> {
    const at = NOW - daysAgo * DAY_MS;
    return (await insertRow(store, 'visits', { accountId, visitorId: `v-${daysAgo}`, lastSeenAt: at, firstVisitAt: at, createdAt: at })).id;
  }

  async function insertAudit(accountId: number | null, daysAgo: number): Promise<void> {
    await insertRow(store, 'auditLog', { at: NOW - daysAgo * DAY_MS, actorKind: 'admin-token', actor: 'admin token', accountId, action: 'PATCH /v1/x' });
  }

  async function account(body: Record<string, unknown> = {}): Promise<number> {
    const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme', ...body } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id;
  }

  const report = async (accountId: number) =>
    (await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&accountId=${accountId}&from=2024-01-01T00:00:00Z&to=2027-01-01T00:00:00Z`, headers: admin })).json();

  describe('retention of every kind of data', () => {
    it('is on by default for call records (730 days), visits (90) and audit entries (365); recordings stay opt-in', async () => {
      const id = await account();
      const res = await app.inject({ method: 'GET', url: `/v1/accounts/${id}`, headers: admin });
      expect(res.json()).toMatchObject({ recordingRetentionDays: null, callRetentionDays: 730, visitRetentionDays: 90, auditRetentionDays: 365 });
      const off = await app.inject({ method: 'PATCH', url: `/v1/accounts/${id}`, headers: admin, payload: { callRetentionDays: null, visitRetentionDays: 0 } });
      expect([off.statusCode, off.json().error.field]).toEqual([400, 'body.visitRetentionDays']);
    });

    it('says what goes when, then the job removes exactly that: calls anonymised with their recordings, old visits and audit entries deleted, totals kept', async () => {
      const a = await account({ callRetentionDays: 30, visitRetentionDays: 10, auditRetentionDays: 20 });
      const old = await insertCall(a, 40);
      const oldFile = await insertRecording(old, a);
      const recent = await insertCall(a, 5);
      const recentFile = await insertRecording(recent, a);
      await insertVisit(a, 15);
      const keptVisit = await insertVisit(a, 3);
      await insertAudit(a, 25);
      await insertAudit(a, 2);
      const before = await report(a);

      const plan = await app.inject({ method: 'GET', url: `/v1/privacy/retention?accountId=${a}`, headers: admin });
      expect(plan.statusCode, plan.body).toBe(200);
      const [mine] = plan.json().accounts;
      expect(mine).toMatchObject({
        accountId: a,
        recordings: { days: null, due: 0, nextAt: null },
        callRecords: { days: 30, due: 1, deletesBefore: new Date(NOW - 30 * DAY_MS).toISOString() },
        visits: { days: 10, due: 1 },
        audit: { days: 20, due: 1 },
      });
      // The recent call goes 30 days after it arrived.
      expect(Date.parse(mine.callRecords.nextAt)).toBe(NOW - 5 * DAY_MS + 30 * DAY_MS + 2);
      expect(plan.json().installation.exports.ttlSeconds).toBe(3600);

      const run = await app.inject({ method: 'POST', url: '/v1/privacy/retention/run', headers: admin });
      expect(run.statusCode, run.body).toBe(200);
      expect(run.json()).toMatchObject({ callsAnonymised: 1, callRecordingsDeleted: 1, visitsDeleted: 1, failures: 0 });
      expect(run.json().auditDeleted).toBeGreaterThanOrEqual(1);

      const rows = (await allRows(store, 'calls'));
      expect(rows.find((c) => c.id === old)).toMatchObject({ callerNumber: expect.stringMatching(/^erased:/), callerName: null, clickIds: null, landingPage: 'https://acme.test/offer', recordingStatus: 'expired' });
      expect(rows.find((c) => c.id === recent)).toMatchObject({ callerNumber: '+15557654321', callerName: 'PAT EXAMPLE' });
      expect([existsSync(oldFile), existsSync(recentFile)]).toEqual([false, true]);
      expect((await allRows(store, 'visits')).map((v) => v.id)).toEqual([keptVisit]);
      expect((await allRows(store, 'auditLog')).every((e) => e.at >= NOW - 20 * DAY_MS || e.accountId !== a)).toBe(true);
      expect(await report(a)).toEqual(before);
      // Nothing is left due; running again changes nothing.
      const again = (await app.inject({ method: 'GET', url: `/v1/privacy/retention?accountId=${a}`, headers: admin })).json().accounts[0];
      expect([again.callRecords.due, again.visits.due, again.audit.due]).toEqual([0, 0, 0]);
      expect((await app.inject({ method: 'POST', url: '/v1/privacy/retention/run', headers: admin })).json()).toMatchObject({ callsAnonymised: 0, visitsDeleted: 0 });
    });

    it('works in small batches from a cursor: a run that stops resumes where it was, and calls of the same caller keep one hash', async () => {
      const a = await account({ callRetentionDays: 30 });
      const ids: number[] = [];
      for (const i of [0, 1, 2, 3, 4]) ids.push(await insertCall(a, 40 + i, i % 2 === 0 ? '+15557654321' : '5557654321'));
      const deps = { store, now: () => NOW, recordingsDir, hashSecret: 's', defaultCountryCode: '1', installationAuditDays: 365, logger: createLogger('silent'), batchSize: 2, nodeId: '' };
      expect((await runRetention(deps)).callsAnonymised).toBe(5);
      const numbers = new Set((await allRows(store, 'calls')).filter((c) => ids.includes(c.id)).map((c) => c.callerNumber));
      expect([...numbers]).toHaveLength(1);
      expect([...numbers][0]).toMatch(/^erased:/);
      expect((await allRows(store, 'retentionCursors')).find((r) => r.accountId === a)?.callsId).toBe(ids[0]);
      // A file that cannot be removed stops the run before its batch; the next run takes it up.
      const late = await insertCall(a, 35);
      const stuck = await insertRecording(late, a);
      rmSync(stuck);
      mkdirSync(stuck);
      writeFileSync(join(stuck, 'x'), 'x');
      const blocked = await runRetention(deps);
      expect(blocked).toMatchObject({ callsAnonymised: 0, failures: 1 });
      expect((await allRows(store, 'calls')).find((c) => c.id === late)?.callerName).toBe('PAT EXAMPLE');
      rmSync(stuck, { recursive: true });
      expect((await runRetention(deps)).callsAnonymised).toBe(1);
    });

    it('an owner sees the plan of their own account only; running the job is the operator’s', async () => {
      const a = await account();
      const b = await account();
      const invited = await app.inject({ method: 'PUT', url: `/v1/accounts/${a}/users`, headers: admin, payload: { email: 'owner@acme.test', role: 'owner' } });
      await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: 'a passphrase long enough' } });
      const login = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'owner@acme.test', password: 'a passphrase long enough' } });
      const headers = { cookie: ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; '), origin: 'http://localhost:80' };
      const plan = (await app.inject({ method: 'GET', url: '/v1/privacy/retention', headers })).json();
      expect(plan.accounts.map((x: { accountId: number }) => x.accountId)).toEqual([a]);
      expect(plan.installation.audit).toBeUndefined();
      expect((await app.inject({ method: 'GET', url: `/v1/privacy/retention?accountId=${b}`, headers })).json().accounts).toEqual([]);
      expect((await app.inject({ method: 'POST', url: '/v1/privacy/retention/run', headers })).statusCode).toBe(403);
    });
  });
});
