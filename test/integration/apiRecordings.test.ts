import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type MediaDeps } from '../../src/api/buildApp.js';
import { CallrouteError } from '../../src/errors.js';
import { parseRange } from '../../src/api/sendRecordingAudio.js';
import { purgeExpiredRecordings, startRetentionTimer } from '../../src/media/purgeExpiredRecordings.js';
import { encryptFile } from '../../src/media/recordingCipher.js';
import { recordings, type RecordingRow } from '../../src/persistence/schema.js';
import { toneWav } from '../support/toneWav.js';
import type { Store } from '../../src/persistence/store.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;
const LINK_SECRET = 'link-secret-for-tests';
const BASE_URL = 'https://calls.example.com';


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('recordings API on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let tmp: string;
  let recordingsDir: string;
  let asteriskRoot: string;
  let clock: number;
  let media: Partial<MediaDeps>;
  const keys = new Map([['k1', randomBytes(32)]]);

  function build(): FastifyInstance {
    return buildApp({
      store,
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      recordings: {
        dir: recordingsDir,
        asteriskRoot,
        keys,
        linkSecret: LINK_SECRET,
        linkTtlSeconds: 300,
        publicBaseUrl: BASE_URL,
        ffmpegPath: null,
      },
      media,
      now: () => clock,
    });
  }

  beforeEach(async () => {
    store = await open();
    tmp = mkdtempSync(join(tmpdir(), 'callroute-api-'));
    recordingsDir = join(tmp, 'recordings');
    asteriskRoot = join(tmp, 'asterisk');
    clock = T0;
    media = {};
    app = build();
  });

  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function createAccount(name: string): Promise<number> {
    const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  async function createToken(accountId: number, name = 'crm'): Promise<{ id: number; token: string; prefix: string }> {
    const res = await app.inject({ method: 'POST', url: `/v1/accounts/${accountId}/tokens`, headers: admin, payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  let channel = 0;
  async function insertCall(accountId: number, arrivedAt = T0): Promise<number> {
    return (await insertRow(store, 'calls', {
        accountId,
        did: '+15551230001',
        arrivedAt,
        inboundChannelId: `chan-${++channel}`,
        finished: true,
        disposition: 'answered',
        recordingStatus: 'ready',
      })).id;
  }

  /** Bytes that look like an MP3 (ID3 header) followed by a counting pattern, so slices are easy to check. */
  function audioBytes(size = 1000): Buffer {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = i % 251;
    b.write('ID3', 0, 'latin1');
    return b;
  }

  async function insertRecording(
    callId: number,
    accountId: number,
    audio: Buffer | null,
    over: Partial<typeof recordings.$inferInsert> = {},
  ): Promise<RecordingRow> {
    const rel = `${accountId}/2026/03/01/call-${callId}-${randomBytes(3).toString('hex')}.mp3`;
    if (audio) {
      mkdirSync(dirname(join(recordingsDir, rel)), { recursive: true });
      writeFileSync(join(recordingsDir, rel), audio);
    }
    return (await insertRow(store, 'recordings', {
        callId,
        accountId,
        status: 'ready',
        channels: 'mixed',
        asteriskNames: JSON.stringify([`call-${callId}`]),
        startedAt: T0,
        stoppedAt: T0 + 60_000,
        path: audio ? rel : null,
        format: 'mp3',
        codec: 'mp3',
        contentType: 'audio/mpeg',
        sizeBytes: audio?.length ?? null,
        durationSeconds: 60,
        sha256: audio ? createHash('sha256').update(audio).digest('hex') : null,
        readyAt: T0 + 70_000,
        ...over,
      }));
  }

  async function recordingRow(id: number): Promise<RecordingRow | undefined> {
    return (await allRows(store, 'recordings')).find((r) => r.id === id);
  }

  async function callStatus(id: number): Promise<string | undefined> {
    return (await allRows(store, 'calls')).find((c) => c.id === id)?.recordingStatus;
  }

  describe('customer API tokens', () => {
    it('creates a token shown once, lists without secrets, stores only its SHA-256, revokes', async () => {
      const a = await createAccount('A');
      const created = await createToken(a, 'CRM export');
      expect(created).toEqual({
        id: expect.any(Number),
        accountId: a,
        userId: null,
        name: 'CRM export',
        prefix: created.token.slice(0, 12),
        // No scopes asked for: what customer tokens always could do.
        scopes: ['calls:read', 'recordings:read', 'recordings:listen', 'recordings:delete', 'reports:read'],
        expiresAt: null,
        token: expect.stringMatching(/^crt_[A-Za-z0-9_-]{43}$/),
        createdAt: '2026-03-01T12:00:00.000Z',
        lastUsedAt: null,
        revokedAt: null,
      });

      // Hashed at rest: no column of any token row holds the token.
      const rows = (await allRows(store, 'apiTokens'));
      expect(rows).toHaveLength(1);
      expect(rows[0]?.tokenHash).toBe(createHash('sha256').update(created.token).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(created.token);
      expect(JSON.stringify(rows)).not.toContain(created.token.slice(12));

      clock += 5_000;
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: bearer(created.token) })).statusCode).toBe(200);

      const list = await app.inject({ method: 'GET', url: `/v1/accounts/${a}/tokens`, headers: admin });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toEqual({
        tokens: [
          {
            id: created.id,
            accountId: a,
            userId: null,
            name: 'CRM export',
            prefix: created.prefix,
            scopes: ['calls:read', 'recordings:read', 'recordings:listen', 'recordings:delete', 'reports:read'],
            expiresAt: null,
            createdAt: '2026-03-01T12:00:00.000Z',
            lastUsedAt: '2026-03-01T12:00:05.000Z',
            revokedAt: null,
          },
        ],
      });
      expect(list.body).not.toContain(created.token);

      clock += 5_000;
      const revoked = await app.inject({ method: 'DELETE', url: `/v1/accounts/${a}/tokens/${created.id}`, headers: admin });
      expect(revoked.statusCode).toBe(204);
      const after = await app.inject({ method: 'GET', url: '/v1/calls', headers: bearer(created.token) });
      expect(after.statusCode).toBe(401);
      expect(after.json().error).toEqual({ code: 'CR_ERR_UNAUTHORIZED', message: 'token has been revoked' });
      const listed = (await app.inject({ method: 'GET', url: `/v1/accounts/${a}/tokens`, headers: admin })).json();
      expect(listed.tokens[0].revokedAt).toBe('2026-03-01T12:00:10.000Z');
    });

    it('404s tokens of unknown accounts, tokens of another account, and 400s a missing name', async () => {
      const a = await createAccount('A');
      const b = await createAccount('B');
      const tb = await createToken(b);
      const cross = await app.inject({ method: 'DELETE', url: `/v1/accounts/${a}/tokens/${tb.id}`, headers: admin });
      expect(cross.statusCode).toBe(404);
      expect(cross.json().error.field).toBe('params.tokenId');
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: bearer(tb.token) })).statusCode).toBe(200);
      const unknown = await app.inject({ method: 'POST', url: '/v1/accounts/999/tokens', headers: admin, payload: { name: 'x' } });
      expect(unknown.statusCode).toBe(404);
      const noName = await app.inject({ method: 'POST', url: `/v1/accounts/${a}/tokens`, headers: admin, payload: {} });
      expect(noName.statusCode).toBe(400);
      expect(noName.json().error.field).toBe('body.name');
    });

    it('401s a well-formed but unknown customer token', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/calls', headers: bearer(`crt_${randomBytes(32).toString('base64url')}`) });
      expect(res.statusCode).toBe(401);
    });
  });

  describe('customer scoping', () => {
    let a: number;
    let b: number;
    let tokenA: string;
    let callA: number;
    let callB: number;
    let recA: RecordingRow;
    let recB: RecordingRow;

    beforeEach(async () => {
      a = await createAccount('A');
      b = await createAccount('B');
      tokenA = (await createToken(a)).token;
      callA = await insertCall(a);
      callB = await insertCall(b);
      recA = await insertRecording(callA, a, audioBytes());
      recB = await insertRecording(callB, b, audioBytes());
    });

    it("sees its own calls and recordings, and 404s another account's", async () => {
      const h = bearer(tokenA);
      const list = await app.inject({ method: 'GET', url: '/v1/calls', headers: h });
      expect(list.json().calls.map((c: { id: number }) => c.id)).toEqual([callA]);
      expect(list.json().calls[0].recordingStatus).toBe('ready');
      const filteredB = await app.inject({ method: 'GET', url: `/v1/calls?accountId=${b}`, headers: h });
      expect(filteredB.statusCode).toBe(200);
      expect(filteredB.json()).toEqual({ calls: [], nextCursor: null });
      const filteredA = await app.inject({ method: 'GET', url: `/v1/calls?accountId=${a}`, headers: h });
      expect(filteredA.json().calls).toHaveLength(1);

      expect((await app.inject({ method: 'GET', url: `/v1/calls/${callA}`, headers: h })).statusCode).toBe(200);
      const recs = await app.inject({ method: 'GET', url: `/v1/calls/${callA}/recordings`, headers: h });
      expect(recs.json().recordings.map((r: { id: number }) => r.id)).toEqual([recA.id]);
      expect((await app.inject({ method: 'GET', url: `/v1/recordings/${recA.id}`, headers: h })).statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: `/v1/recordings/${recA.id}/audio`, headers: h })).statusCode).toBe(200);

      for (const [method, url] of [
        ['GET', `/v1/calls/${callB}`],
        ['GET', `/v1/calls/${callB}/recordings`],
        ['GET', `/v1/recordings/${recB.id}`],
        ['GET', `/v1/recordings/${recB.id}/audio`],
        ['HEAD', `/v1/recordings/${recB.id}/audio`],
        ['POST', `/v1/recordings/${recB.id}/link`],
        ['DELETE', `/v1/recordings/${recB.id}`],
      ] as const) {
        const res = await app.inject({ method, url, headers: h });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        if (method !== 'HEAD') expect(res.json().error.code).toBe('CR_ERR_NOT_FOUND');
      }
      // The 404 for B's recording is the same as for one that does not exist.
      const other = await app.inject({ method: 'GET', url: `/v1/recordings/${recB.id}`, headers: h });
      const none = await app.inject({ method: 'GET', url: '/v1/recordings/9999', headers: h });
      expect(other.json().error.message.replace(String(recB.id), 'N')).toBe(none.json().error.message.replace('9999', 'N'));
      expect(existsSync(join(recordingsDir, recB.path ?? ''))).toBe(true);
      expect((await recordingRow(recB.id))?.status).toBe('ready');
    });

    it('gets 403 from admin-only routes', async () => {
      for (const [method, url, payload] of [
        ['GET', '/v1/accounts', undefined],
        ['GET', `/v1/accounts/${a}`, undefined],
        ['PATCH', `/v1/accounts/${a}`, { recordingRetentionDays: 1 }],
        ['GET', `/v1/accounts/${a}/tokens`, undefined],
        ['POST', `/v1/accounts/${a}/tokens`, { name: 'mine' }],
        ['GET', '/v1/tracking-numbers', undefined],
        ['POST', '/v1/recordings/purge', undefined],
        ['GET', '/v1/announcements', undefined],
      ] as const) {
        const res = await app.inject({ method, url, headers: bearer(tokenA), ...(payload ? { payload } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(403);
        expect(res.json().error).toEqual({ code: 'CR_ERR_FORBIDDEN', message: expect.stringMatching(/needs the permission/) });
      }
      expect((await allRows(store, 'apiTokens'))).toHaveLength(1);
    });

    it('admin sees every account', async () => {
      const list = await app.inject({ method: 'GET', url: '/v1/calls', headers: admin });
      expect(list.json().calls).toHaveLength(2);
      expect((await app.inject({ method: 'GET', url: `/v1/recordings/${recB.id}`, headers: admin })).statusCode).toBe(200);
    });
  });

  describe('recording download', () => {
    let a: number;
    let token: string;
    let rec: RecordingRow;
    const audio = audioBytes(1000);
    const url = () => `/v1/recordings/${rec.id}/audio`;

    beforeEach(async () => {
      a = await createAccount('A');
      token = (await createToken(a)).token;
      rec = await insertRecording(await insertCall(a), a, audio);
    });

    it('serves metadata', async () => {
      const res = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}`, headers: bearer(token) });
      expect(res.json()).toEqual({
        id: rec.id,
        callId: rec.callId,
        accountId: a,
        kind: 'call',
        status: 'ready',
        statusReason: null,
        channels: 'mixed',
        format: 'mp3',
        codec: 'mp3',
        contentType: 'audio/mpeg',
        sizeBytes: 1000,
        durationSeconds: 60,
        sha256: rec.sha256,
        encrypted: false,
        createdAt: '2026-03-01T12:00:00.000Z',
        stoppedAt: '2026-03-01T12:01:00.000Z',
        readyAt: '2026-03-01T12:01:10.000Z',
        deletedAt: null,
      });
    });

    it('streams the whole file with Content-Type, Content-Length, ETag and Accept-Ranges', async () => {
      const res = await app.inject({ method: 'GET', url: url(), headers: bearer(token) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('audio/mpeg');
      expect(res.headers['content-length']).toBe('1000');
      expect(res.headers.etag).toBe(`"${rec.sha256}"`);
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.rawPayload.equals(audio)).toBe(true);
      // Played: an entry in the audit log, with the key that played it; a later Range request is not another play.
      await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), range: 'bytes=500-' } });
      const plays = (await allRows(store, 'auditLog')).filter((e) => e.action === 'recording.play');
      expect(plays).toEqual([expect.objectContaining({ actorKind: 'api-key', accountId: rec.accountId, target: `/v1/recordings/${rec.id}/audio` })]);
    });

    it.each([
      ['first bytes', 'bytes=0-9', 0, 9],
      ['middle', 'bytes=100-199', 100, 199],
      ['suffix', 'bytes=-50', 950, 999],
      ['open end', 'bytes=990-', 990, 999],
      ['end past the file', 'bytes=900-5000', 900, 999],
      ['suffix longer than the file', 'bytes=-5000', 0, 999],
    ])('answers a %s range with 206', async (_name, range, start, end) => {
      const res = await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), range } });
      expect(res.statusCode).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/1000`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.rawPayload.equals(audio.subarray(start, end + 1))).toBe(true);
    });

    it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0'])('answers an unsatisfiable %s with 416', async (range) => {
      const res = await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), range } });
      expect(res.statusCode).toBe(416);
      expect(res.headers['content-range']).toBe('bytes */1000');
      expect(res.json().error.code).toBe('CR_ERR_RANGE_NOT_SATISFIABLE');
    });

    it('ignores a malformed or multi-part Range and a stale If-Range (200, whole file)', async () => {
      for (const headers of [{ range: 'bytes=20-10' }, { range: 'items=0-1' }, { range: 'bytes=0-1,5-6' }, { range: 'bytes=0-9', 'if-range': '"other"' }]) {
        const res = await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), ...headers } });
        expect(res.statusCode, JSON.stringify(headers)).toBe(200);
        expect(res.rawPayload.length).toBe(1000);
      }
      const fresh = await app.inject({
        method: 'GET',
        url: url(),
        headers: { ...bearer(token), range: 'bytes=0-9', 'if-range': `"${rec.sha256}"` },
      });
      expect(fresh.statusCode).toBe(206);
    });

    it('answers If-None-Match with the ETag with 304 and no body', async () => {
      const res = await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), 'if-none-match': `"x", "${rec.sha256}"` } });
      expect(res.statusCode).toBe(304);
      expect(res.rawPayload.length).toBe(0);
      expect(res.headers.etag).toBe(`"${rec.sha256}"`);
      const other = await app.inject({ method: 'GET', url: url(), headers: { ...bearer(token), 'if-none-match': '"nope"' } });
      expect(other.statusCode).toBe(200);
    });

    it('answers HEAD with the headers and no body', async () => {
      const res = await app.inject({ method: 'HEAD', url: url(), headers: bearer(token) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe('1000');
      expect(res.headers['content-type']).toBe('audio/mpeg');
      expect(res.headers.etag).toBe(`"${rec.sha256}"`);
      expect(res.rawPayload.length).toBe(0);
      const ranged = await app.inject({ method: 'HEAD', url: url(), headers: { ...bearer(token), range: 'bytes=0-9' } });
      expect(ranged.statusCode).toBe(206);
      expect(ranged.headers['content-length']).toBe('10');
      expect(ranged.rawPayload.length).toBe(0);
    });

    it('shows a missing recording as such, and 409s its audio naming the status', async () => {
      const missing = await insertRecording(await insertCall(a), a, null, {
        status: 'missing',
        statusReason: 'Asterisk has no stored recording call-9',
        format: null,
        contentType: null,
        readyAt: null,
      });
      const meta = await app.inject({ method: 'GET', url: `/v1/recordings/${missing.id}`, headers: bearer(token) });
      expect(meta.json()).toMatchObject({ status: 'missing', statusReason: 'Asterisk has no stored recording call-9' });
      const res = await app.inject({ method: 'GET', url: `/v1/recordings/${missing.id}/audio`, headers: bearer(token) });
      expect(res.statusCode).toBe(409);
      expect(res.json().error).toEqual({ code: 'CR_ERR_RECORDING_NOT_READY', message: expect.stringMatching(/is missing/) });
    });

    it('409s a ready recording whose file vanished from disk', async () => {
      rmSync(join(recordingsDir, rec.path ?? ''));
      const res = await app.inject({ method: 'GET', url: url(), headers: bearer(token) });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.message).toMatch(/file is missing/);
    });

    it('parses ranges by the RFC', () => {
      expect(parseRange(undefined, 10)).toBeNull();
      expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
      expect(parseRange('bytes=-1', 10)).toEqual({ start: 9, end: 9 });
      expect(parseRange('bytes=-', 10)).toBeNull();
      expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable');
    });
  });

  describe('encrypted recordings', () => {
    it('decrypts with the injected reader and serves ranges from the plaintext', async () => {
      const a = await createAccount('A');
      const plain = audioBytes(700);
      const onDisk = Buffer.concat([Buffer.from('FAKECIPHER'), plain.map((x) => x ^ 0x5a)]);
      media = {
        readPlaintext: async (file, k) => {
          expect(k.get('k1')).toBeDefined();
          const data = readFileSync(file);
          return Buffer.from(data.subarray(10).map((x) => x ^ 0x5a));
        },
      };
      await app.close();
      app = build();
      const rec = await insertRecording(await insertCall(a), a, onDisk, { keyId: 'k1', sha256: createHash('sha256').update(plain).digest('hex') });
      const res = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: admin });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe('700');
      expect(res.rawPayload.equals(plain)).toBe(true);
      const part = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: { ...admin, range: 'bytes=-100' } });
      expect(part.headers['content-range']).toBe('bytes 600-699/700');
      expect(part.rawPayload.equals(plain.subarray(600))).toBe(true);
      const meta = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}`, headers: admin });
      expect(meta.json().encrypted).toBe(true);
      expect(meta.json()).not.toHaveProperty('keyId');
    });
  });

  describe('signed links', () => {
    let a: number;
    let token: string;
    let rec: RecordingRow;
    const audio = audioBytes(500);

    beforeEach(async () => {
      a = await createAccount('A');
      token = (await createToken(a)).token;
      rec = await insertRecording(await insertCall(a), a, audio);
    });

    async function link(payload?: Record<string, unknown>) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/recordings/${rec.id}/link`,
        headers: bearer(token),
        ...(payload ? { payload } : {}),
      });
      return res;
    }

    it('serves the audio without an Authorization header until the link expires', async () => {
      const res = await link();
      expect(res.statusCode).toBe(200);
      const { url, expiresAt } = res.json();
      const exp = Math.floor(T0 / 1000) + 300;
      expect(url).toMatch(new RegExp(`^${BASE_URL}/r/${rec.id}\\?exp=${exp}&sig=[A-Za-z0-9_-]{43}$`));
      expect(expiresAt).toBe(new Date(exp * 1000).toISOString());
      const path = url.slice(BASE_URL.length);

      const ok = await app.inject({ method: 'GET', url: path });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['content-type']).toBe('audio/mpeg');
      expect(ok.rawPayload.equals(audio)).toBe(true);
      const ranged = await app.inject({ method: 'GET', url: path, headers: { range: 'bytes=10-19' } });
      expect(ranged.statusCode).toBe(206);
      expect(ranged.rawPayload.equals(audio.subarray(10, 20))).toBe(true);
      expect((await app.inject({ method: 'HEAD', url: path })).statusCode).toBe(200);
      const plays = (await allRows(store, 'auditLog')).filter((e) => e.action === 'recording.play');
      expect(plays).toEqual([expect.objectContaining({ actorKind: 'anonymous', accountId: rec.accountId, detail: '{"via":"signed link"}' })]);
      expect((await allRows(store, 'auditLog')).some((e) => e.action === 'POST /v1/recordings/:id/link')).toBe(true);

      clock = exp * 1000 - 1;
      expect((await app.inject({ method: 'GET', url: path })).statusCode).toBe(200);
      clock = exp * 1000;
      const expired = await app.inject({ method: 'GET', url: path });
      expect(expired.statusCode).toBe(410);
      expect(expired.json().error.code).toBe('CR_ERR_LINK_EXPIRED');
    });

    it('403s a tampered signature, expiry or id, and a link without a signature', async () => {
      const { url } = (await link({ ttlSeconds: 60 })).json();
      const path: string = url.slice(BASE_URL.length);
      const m = /exp=(\d+)&sig=(.+)$/.exec(path);
      const exp = Number(m?.[1]);
      const sig = m?.[2] ?? '';
      const other = await insertRecording(await insertCall(a), a, audio);
      const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
      for (const bad of [
        `/r/${rec.id}?exp=${exp}&sig=${flipped}`,
        `/r/${rec.id}?exp=${exp + 3600}&sig=${sig}`,
        `/r/${other.id}?exp=${exp}&sig=${sig}`,
        `/r/${rec.id}?exp=${exp}`,
        `/r/${rec.id}?exp=${exp}&sig=${sig}&sig=${sig}`,
        `/r/${rec.id}`,
      ]) {
        const res = await app.inject({ method: 'GET', url: bad });
        expect(res.statusCode, bad).toBe(403);
        expect(res.json().error.code).toBe('CR_ERR_LINK_INVALID');
      }
      // A tampered link stays invalid (not "expired") after its time is up.
      clock = (exp + 1) * 1000;
      expect((await app.inject({ method: 'GET', url: `/r/${rec.id}?exp=${exp}&sig=${flipped}` })).statusCode).toBe(403);
    });

    it('limits ttlSeconds to the configured maximum', async () => {
      const long = await link({ ttlSeconds: 301 });
      expect(long.statusCode).toBe(400);
      expect(long.json().error.field).toBe('body.ttlSeconds');
      const short = await link({ ttlSeconds: 30 });
      expect(short.json().expiresAt).toBe(new Date(T0 + 30_000).toISOString());
    });
  });

  describe('deleting a recording', () => {
    it('removes the files, marks the row and the call, and is idempotent', async () => {
      const a = await createAccount('A');
      const t = await createToken(a);
      const callId = await insertCall(a);
      const rec = await insertRecording(callId, a, audioBytes());
      const stored = join(recordingsDir, rec.path ?? '');
      const keptWav = stored.replace(/\.mp3$/, '.wav');
      const spoolWav = join(asteriskRoot, 'var/spool/asterisk/recording', `call-${callId}.wav`);
      writeFileSync(keptWav, 'RIFF');
      mkdirSync(dirname(spoolWav), { recursive: true });
      writeFileSync(spoolWav, 'RIFF');
      clock += 1000;

      const res = await app.inject({ method: 'DELETE', url: `/v1/recordings/${rec.id}`, headers: bearer(t.token) });
      expect(res.statusCode).toBe(204);
      for (const f of [stored, keptWav, spoolWav]) expect(existsSync(f), f).toBe(false);
      expect(await recordingRow(rec.id)).toMatchObject({
        status: 'deleted',
        deletedAt: T0 + 1000,
        statusReason: `deleted through the API by token ${t.prefix}`,
      });
      expect(await callStatus(callId)).toBe('deleted');
      const meta = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}`, headers: bearer(t.token) });
      expect(meta.json()).toMatchObject({ status: 'deleted', deletedAt: '2026-03-01T12:00:01.000Z' });
      const audio = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: bearer(t.token) });
      expect(audio.statusCode).toBe(409);
      expect(audio.json().error.message).toMatch(/is deleted/);
      expect((await app.inject({ method: 'DELETE', url: `/v1/recordings/${rec.id}`, headers: admin })).statusCode).toBe(204);
    });

    it('409s a recording still being recorded', async () => {
      const a = await createAccount('A');
      const rec = await insertRecording(await insertCall(a), a, null, { status: 'recording' });
      const res = await app.inject({ method: 'DELETE', url: `/v1/recordings/${rec.id}`, headers: admin });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('CR_ERR_RECORDING_NOT_READY');
    });
  });

  describe('retention', () => {
    it('validates recordingRetentionDays on PATCH /v1/accounts/:id', async () => {
      const a = await createAccount('A');
      for (const bad of [0, 3651, 1.5, 'ten']) {
        const res = await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: bad } });
        expect(res.statusCode, String(bad)).toBe(400);
        expect(res.json().error.field).toBe('body.recordingRetentionDays');
      }
      const set = await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: 30 } });
      expect(set.json()).toMatchObject({ name: 'A', recordingRetentionDays: 30 });
      const cleared = await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: null } });
      expect(cleared.json().recordingRetentionDays).toBeNull();
    });

    it('purges recordings older than the account retention, reports, and marks rows and calls', async () => {
      const a = await createAccount('A');
      const b = await createAccount('B');
      await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: 30 } });
      clock = T0 + 100 * DAY;
      const oldCall = await insertCall(a, clock - 31 * DAY);
      const old = await insertRecording(oldCall, a, audioBytes(1234));
      const oldMissingCall = await insertCall(a, clock - 40 * DAY);
      const oldMissing = await insertRecording(oldMissingCall, a, null, { status: 'missing' });
      const recentCall = await insertCall(a, clock - 29 * DAY);
      const recent = await insertRecording(recentCall, a, audioBytes(10));
      const goneCall = await insertCall(a, clock - 50 * DAY);
      const gone = await insertRecording(goneCall, a, null, { status: 'deleted', statusReason: 'by hand' });
      const keepBCall = await insertCall(b, clock - 365 * DAY);
      const keepB = await insertRecording(keepBCall, b, audioBytes(10));

      const res = await app.inject({ method: 'POST', url: '/v1/recordings/purge', headers: admin });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ checked: 2, purged: 2, bytesFreed: 1234, failures: [] });

      expect(existsSync(join(recordingsDir, old.path ?? ''))).toBe(false);
      expect(existsSync(join(recordingsDir, recent.path ?? ''))).toBe(true);
      expect(existsSync(join(recordingsDir, keepB.path ?? ''))).toBe(true);
      expect(await recordingRow(old.id)).toMatchObject({ status: 'expired', statusReason: 'retention of 30 days', deletedAt: clock });
      expect((await recordingRow(oldMissing.id))?.status).toBe('expired');
      expect((await recordingRow(recent.id))?.status).toBe('ready');
      expect(await recordingRow(gone.id)).toMatchObject({ status: 'deleted', statusReason: 'by hand' });
      expect((await recordingRow(keepB.id))?.status).toBe('ready');
      expect(await callStatus(oldCall)).toBe('expired');
      expect(await callStatus(recentCall)).toBe('ready');
      const expiredEntries = (await allRows(store, 'auditLog')).filter((e) => e.action === 'recording.expired');
      expect(expiredEntries.map((e) => e.target).sort()).toEqual([`/v1/recordings/${old.id}`, `/v1/recordings/${oldMissing.id}`].sort());
      expect(expiredEntries[0]).toMatchObject({ actorKind: 'system', actor: 'recording retention' });

      const again = await app.inject({ method: 'POST', url: '/v1/recordings/purge', headers: admin });
      expect(again.json()).toEqual({ checked: 0, purged: 0, bytesFreed: 0, failures: [] });
    });

    it('accepts recordingRetentionDays when creating an account', async () => {
      const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'R', recordingRetentionDays: 90 } });
      expect(res.json()).toMatchObject({ name: 'R', recordingRetentionDays: 90 });
    });

    it('runs the purge at start and on its interval; stop() waits for a run in progress', async () => {
      const a = await createAccount('A');
      await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: 7 } });
      const first = await insertRecording(await insertCall(a, T0 - 8 * DAY), a, audioBytes(10));
      const infos: unknown[] = [];
      const logger = { info: (o: unknown) => void infos.push(o), warn: () => undefined, error: () => undefined } as never;
      const stop = startRetentionTimer({ store, nodeId: '', recordingsDir, now: () => T0, logger, intervalMs: 20 });
      await stop();
      expect((await recordingRow(first.id))?.status).toBe('expired');
      expect(infos).toEqual([expect.objectContaining({ checked: 1, purged: 1, bytesFreed: 10 })]);
      // After stop() nothing runs any more.
      const second = await insertRecording(await insertCall(a, T0 - 8 * DAY), a, audioBytes(10));
      await new Promise((r) => setTimeout(r, 60));
      expect((await recordingRow(second.id))?.status).toBe('ready');
    });

    it('leaves a row untouched and reports it when its file cannot be removed', async () => {
      const a = await createAccount('A');
      await app.inject({ method: 'PATCH', url: `/v1/accounts/${a}`, headers: admin, payload: { recordingRetentionDays: 1 } });
      const rec = await insertRecording(await insertCall(a, T0 - 2 * DAY), a, audioBytes(10));
      // A directory where the file should be: unlink fails with EISDIR/EPERM, not ENOENT.
      const stored = join(recordingsDir, rec.path ?? '');
      rmSync(stored);
      mkdirSync(stored);
      const warnings: unknown[] = [];
      const report = await purgeExpiredRecordings({
        nodeId: '',
        store,
        recordingsDir,
        now: () => T0,
        logger: { info: () => undefined, warn: (o: unknown) => void warnings.push(o), error: () => undefined } as never,
      });
      expect(report).toMatchObject({ checked: 1, purged: 0, failures: [{ recordingId: rec.id, error: expect.any(String) }] });
      expect((await recordingRow(rec.id))?.status).toBe('ready');
      expect(warnings).toHaveLength(1);
    });
  });

  describe('tracking number recording options', () => {
    let a: number;
    let b: number;
    let announcementA: number;
    let announcementB: number;

    beforeEach(async () => {
      a = await createAccount('A');
      b = await createAccount('B');
      const ins = async (accountId: number | null, name: string) =>
        (await insertRow(store, 'announcements', { accountId, name, soundName: `callroute/${name}`, durationSeconds: 3, createdAt: T0 })).id;
      announcementA = await ins(a, 'a');
      announcementB = await ins(b, 'b');
    });

    const post = (payload: Record<string, unknown>) =>
      app.inject({
        method: 'POST',
        url: '/v1/tracking-numbers',
        headers: admin,
        payload: { accountId: a, did: '+15551234567', destination: '+15559876543', ...payload },
      });

    it('stores recordingEnabled, recordingChannels, announcement and announcementId', async () => {
      const res = await post({ recordingEnabled: false, recordingChannels: 'dual', announcement: 'custom', announcementId: announcementA });
      expect(res.statusCode).toBe(201);
      const tn = res.json();
      expect(tn).toMatchObject({ recordingEnabled: false, recordingChannels: 'dual', announcement: 'custom', announcementId: announcementA });
      const got = await app.inject({ method: 'GET', url: `/v1/tracking-numbers/${tn.id}`, headers: admin });
      expect(got.json()).toEqual(tn);

      const none = await app.inject({ method: 'PATCH', url: `/v1/tracking-numbers/${tn.id}`, headers: admin, payload: { announcement: 'default' } });
      expect(none.json()).toMatchObject({ announcement: 'default', announcementId: null });
      const back = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${tn.id}`,
        headers: admin,
        payload: { announcement: 'custom', announcementId: announcementA, recordingEnabled: true },
      });
      expect(back.json()).toMatchObject({ announcement: 'custom', announcementId: announcementA, recordingEnabled: true });
      // Moving the number to another account: its custom announcement must then fit that account.
      const move = await app.inject({ method: 'PATCH', url: `/v1/tracking-numbers/${tn.id}`, headers: admin, payload: { accountId: b } });
      expect(move.statusCode).toBe(400);
      expect(move.json().error.field).toBe('body.announcementId');
    });

    it.each([
      ['custom without an id', { announcement: 'custom' }, 'body.announcementId', /required/],
      ['custom with an unknown id', { announcement: 'custom', announcementId: 999 }, 'body.announcementId', /999 does not exist/],
      ["custom with another account's", { announcement: 'custom', announcementId: -1 }, 'body.announcementId', /another account/],
      ['an id without custom', { announcement: 'default', announcementId: -2 }, 'body.announcementId', /only allowed/],
      ['an unknown mode', { announcement: 'loud' }, 'body.announcement', /allowed values/],
      ['unknown channels', { recordingChannels: 'stereo' }, 'body.recordingChannels', /allowed values/],
      ['recordingEnabled not boolean', { recordingEnabled: 'yes' }, 'body.recordingEnabled', /boolean/],
    ])('400s %s, naming the field', async (_name, over, field, message) => {
      const payload: Record<string, unknown> = { ...over };
      if (payload.announcementId === -1) payload.announcementId = announcementB;
      if (payload.announcementId === -2) payload.announcementId = announcementA;
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toEqual({ code: 'CR_ERR_VALIDATION', message: expect.stringMatching(message), field });
    });
  });

  const wav = toneWav;

  describe('announcements (fake converter)', () => {
    const converted: Array<{ bytes: number; out: string }> = [];

    beforeEach(async () => {
      converted.length = 0;
      media = {
        ffmpeg: () => ({ ffmpeg: 'fake-ffmpeg', ffprobe: 'fake-ffprobe' }),
        convertAnnouncement: async (input, out, tools) => {
          expect(tools.ffmpeg).toBe('fake-ffmpeg');
          converted.push({ bytes: input.length, out });
          writeFileSync(`${out}.wav`, input);
          return { durationSeconds: 1.5 };
        },
      };
      await app.close();
      app = build();
    });

    const upload = (body: Buffer | string, contentType: string, query = 'name=Recorded%20line') =>
      app.inject({ method: 'POST', url: `/v1/announcements?${query}`, headers: { ...admin, 'content-type': contentType }, payload: body });

    it('converts an upload into Asterisk sounds, lists it, and refuses to delete it while in use', async () => {
      const a = await createAccount('A');
      const audio = wav();
      const res = await upload(audio, 'audio/wav', `name=Recorded%20line&accountId=${a}`);
      expect(res.statusCode).toBe(201);
      const ann = res.json();
      expect(ann).toEqual({
        id: expect.any(Number),
        accountId: a,
        name: 'Recorded line',
        soundName: `callroute/announcement-${ann.id}`,
        durationSeconds: 1.5,
        createdAt: '2026-03-01T12:00:00.000Z',
      });
      const out = join(asteriskRoot, 'var/lib/asterisk/sounds/callroute', `announcement-${ann.id}`);
      expect(converted).toEqual([{ bytes: audio.length, out }]);
      expect(existsSync(`${out}.wav`)).toBe(true);

      const list = await app.inject({ method: 'GET', url: '/v1/announcements', headers: admin });
      expect(list.json()).toEqual({ announcements: [ann] });
      // What it sounds like (the dashboard's player): the converted file, to the account's people only.
      const heard = await app.inject({ method: 'GET', url: `/v1/announcements/${ann.id}/audio`, headers: admin });
      expect(heard.statusCode).toBe(200);
      expect(heard.headers['content-type']).toBe('audio/wav');
      expect(heard.rawPayload.equals(audio)).toBe(true);
      const other = await createAccount('Other');
      const otherKey = (await app.inject({ method: 'POST', url: `/v1/accounts/${other}/tokens`, headers: admin, payload: { name: 'k', scopes: ['configuration:read'] } })).json().token;
      expect((await app.inject({ method: 'GET', url: `/v1/announcements/${ann.id}/audio`, headers: bearer(otherKey) })).statusCode).toBe(404);

      const tn = await app.inject({
        method: 'POST',
        url: '/v1/tracking-numbers',
        headers: admin,
        payload: { accountId: a, did: '+15551234567', destination: '+15559876543', announcement: 'custom', announcementId: ann.id },
      });
      expect(tn.statusCode).toBe(201);
      const busy = await app.inject({ method: 'DELETE', url: `/v1/announcements/${ann.id}`, headers: admin });
      expect(busy.statusCode).toBe(409);
      expect(busy.json().error).toMatchObject({ code: 'CR_ERR_ANNOUNCEMENT_IN_USE', message: expect.stringContaining(String(tn.json().id)) });

      await app.inject({ method: 'PATCH', url: `/v1/tracking-numbers/${tn.json().id}`, headers: admin, payload: { announcement: 'none' } });
      const del = await app.inject({ method: 'DELETE', url: `/v1/announcements/${ann.id}`, headers: admin });
      expect(del.statusCode).toBe(204);
      expect(existsSync(`${out}.wav`)).toBe(false);
      expect((await app.inject({ method: 'DELETE', url: `/v1/announcements/${ann.id}`, headers: admin })).statusCode).toBe(404);
    });

    it('accepts application/octet-stream', async () => {
      expect((await upload(wav(), 'application/octet-stream')).statusCode).toBe(201);
    });

    it.each([
      ['a JSON body', '{"name":"x"}', 'application/json', 'headers.content-type'],
      ['a text body', 'hello', 'text/plain', 'headers.content-type'],
      ['an image', Buffer.from('\x89PNG\r\n\x1a\n0000', 'latin1'), 'image/png', 'headers.content-type'],
      ['non-audio bytes as octet-stream', Buffer.from('%PDF-1.7 not audio at all'), 'application/octet-stream', 'body'],
      ['non-audio bytes as audio/mpeg', Buffer.from('<html>nope</html>'), 'audio/mpeg', 'body'],
    ])('400s %s', async (_name, body, contentType, field) => {
      const res = await upload(body, contentType);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toEqual({ code: 'CR_ERR_NOT_AUDIO', message: expect.any(String), field });
      expect(converted).toHaveLength(0);
      expect((await allRows(store, 'announcements'))).toHaveLength(0);
    });

    it('400s a missing name and an unknown account', async () => {
      const noName = await upload(wav(), 'audio/wav', '');
      expect(noName.statusCode).toBe(400);
      expect(noName.json().error.field).toBe('querystring.name');
      const badAccount = await upload(wav(), 'audio/wav', 'name=x&accountId=999');
      expect(badAccount.statusCode).toBe(400);
      expect(badAccount.json().error.field).toBe('querystring.accountId');
    });

    it('removes the row when conversion fails: 400 when ffmpeg refused the input, 500 when ffmpeg could not run', async () => {
      for (const [err, status, code] of [
        [new CallrouteError('CR_ERR_MEDIA', 'ffmpeg: exit 1: Invalid data', { exitCode: 1 }), 400, 'CR_ERR_NOT_AUDIO'],
        [new CallrouteError('CR_ERR_MEDIA', 'ffmpeg: cannot start: ENOENT', { exitCode: null }), 500, 'CR_ERR_INTERNAL'],
      ] as const) {
        media = { convertAnnouncement: async () => Promise.reject(err) };
        await app.close();
        app = build();
        const res = await upload(wav(), 'audio/wav');
        expect(res.statusCode).toBe(status);
        expect(res.json().error.code).toBe(code);
        expect((await allRows(store, 'announcements'))).toHaveLength(0);
      }
    });
  });

  describe('encrypted recordings (real recordingCipher)', () => {
    it('stores ciphertext on disk that is not audio, and downloads the plaintext', async () => {
      const a = await createAccount('A');
      const plain = audioBytes(4096);
      const rec = await insertRecording(await insertCall(a), a, plain, { keyId: 'k1' });
      const stored = join(recordingsDir, rec.path ?? '');
      writeFileSync(`${stored}.plain`, plain);
      const key = keys.get('k1');
      if (!key) throw new Error('test key missing');
      await encryptFile(`${stored}.plain`, stored, 'k1', key);
      rmSync(`${stored}.plain`);

      const onDisk = readFileSync(stored);
      expect(onDisk.subarray(0, 3).toString('latin1')).not.toBe('ID3');
      expect(onDisk.includes(plain.subarray(100, 164))).toBe(false);

      const full = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: admin });
      expect(full.statusCode).toBe(200);
      expect(full.headers['content-length']).toBe('4096');
      expect(full.headers.etag).toBe(`"${rec.sha256}"`);
      expect(full.rawPayload.equals(plain)).toBe(true);
      const mid = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: { ...admin, range: 'bytes=1000-1999' } });
      expect(mid.statusCode).toBe(206);
      expect(mid.headers['content-range']).toBe('bytes 1000-1999/4096');
      expect(mid.rawPayload.equals(plain.subarray(1000, 2000))).toBe(true);

      // A tampered file is a server-side fault: 500 with nothing internal in the body.
      const tampered = Buffer.from(onDisk);
      tampered[tampered.length - 20] = (tampered[tampered.length - 20] ?? 0) ^ 1;
      writeFileSync(stored, tampered);
      const bad = await app.inject({ method: 'GET', url: `/v1/recordings/${rec.id}/audio`, headers: admin });
      expect(bad.statusCode).toBe(500);
      expect(bad.json()).toEqual({ error: { code: 'CR_ERR_INTERNAL', message: 'internal error' } });
    });
  });

  describe('announcements (real ffmpeg conversion)', () => {
    function ffmpegMake(args: string[], out: string): Buffer {
      execFileSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args, out]);
      return readFileSync(out);
    }

    it('converts a 44.1 kHz stereo WAV and an MP3 into 8 kHz mono WAVs Asterisk can play', async () => {
      const stereo = ffmpegMake(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=1.5:sample_rate=44100', '-ac', '2'], join(tmp, 'in.wav'));
      const mp3 = ffmpegMake(['-f', 'lavfi', '-i', 'sine=frequency=660:duration=2:sample_rate=22050'], join(tmp, 'in.mp3'));
      for (const [body, type, seconds] of [
        [stereo, 'audio/wav', 1.5],
        [mp3, 'audio/mpeg', 2],
      ] as const) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/announcements?name=Recorded',
          headers: { ...admin, 'content-type': type },
          payload: body,
        });
        expect(res.statusCode, type).toBe(201);
        const ann = res.json();
        expect(ann.soundName).toBe(`callroute/announcement-${ann.id}`);
        expect(ann.durationSeconds).toBeGreaterThan(seconds - 0.1);
        expect(ann.durationSeconds).toBeLessThan(seconds + 0.1);
        const out = readFileSync(join(asteriskRoot, 'var/lib/asterisk/sounds', `${ann.soundName}.wav`));
        expect(out.subarray(0, 4).toString('latin1')).toBe('RIFF');
        expect(out.readUInt16LE(20)).toBe(1); // PCM
        expect(out.readUInt16LE(22)).toBe(1); // mono
        expect(out.readUInt32LE(24)).toBe(8000);
        expect(out.readUInt16LE(34)).toBe(16);
      }
    });

    it('400s bytes that start like MP3 but do not decode, and a sound that is too long, leaving no row or file', async () => {
      const fake = Buffer.concat([Buffer.from('ID3'), randomBytes(2000)]);
      const long = ffmpegMake(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=40:sample_rate=8000'], join(tmp, 'long.wav'));
      for (const body of [fake, long]) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/announcements?name=x',
          headers: { ...admin, 'content-type': 'application/octet-stream' },
          payload: body,
        });
        expect(res.statusCode).toBe(400);
        expect(res.json().error).toMatchObject({ field: 'body' });
      }
      expect((await allRows(store, 'announcements'))).toHaveLength(0);
      const dir = join(asteriskRoot, 'var/lib/asterisk/sounds/callroute');
      expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    });
  });
});
