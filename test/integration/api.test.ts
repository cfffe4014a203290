import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type TelephonyStatus } from '../../src/api/buildApp.js';
import { calls, type CallDisposition } from '../../src/persistence/schema.js';
import { row, type Store } from '../../src/persistence/store.js';
import { trackingNumberOfDid } from '../../src/persistence/trackingNumberRepository.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('the API on %s', (_dialect, open) => {
  const TOKEN = 'test-admin-token';
  const auth = { authorization: `Bearer ${TOKEN}` };

  let store: Store;
  let app: FastifyInstance;
  let status: TelephonyStatus;

  beforeEach(async () => {
    store = await open();
    status = { ari: 'connected', activeCalls: 2 };
    app = buildApp({
      store,
      logger: pino({ level: 'silent' }),
      adminToken: TOKEN,
      defaultCountryCode: '1',
      telephonyStatus: () => status,
    });
  });

  afterEach(async () => {
    await app.close();
    await store.close().catch(() => {});
  });

  async function createAccount(name = 'Acme'): Promise<{ id: number }> {
    const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json();
  }

  async function postNumber(payload: Record<string, unknown>) {
    return app.inject({ method: 'POST', url: '/v1/tracking-numbers', headers: auth, payload });
  }

  describe('auth', () => {
    it('serves GET /health without a token: 200 while ARI is connected', async () => {
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok', ari: 'connected', activeCalls: 2 });
    });

    it('answers 503 from /health while ARI is not connected', async () => {
      status = { ari: 'disconnected', activeCalls: 0 };
      const res = await app.inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({ status: 'unavailable', ari: 'disconnected', activeCalls: 0 });
    });

    it.each([
      ['missing', undefined],
      ['wrong', 'Bearer not-the-token'],
      ['longer', `Bearer ${TOKEN}x`],
      ['not bearer', `Basic ${TOKEN}`],
      ['empty bearer', 'Bearer '],
    ])('rejects a %s token with 401', async (_name, header) => {
      const headers = header === undefined ? {} : { authorization: header };
      for (const url of ['/v1/accounts', '/v1/tracking-numbers', '/v1/calls', '/v1/calls/1']) {
        const res = await app.inject({ method: 'GET', url, headers });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toEqual({ error: { code: 'CR_ERR_UNAUTHORIZED', message: expect.any(String) } });
        expect(res.headers['www-authenticate']).toBe('Bearer');
      }
      const write = await app.inject({ method: 'POST', url: '/v1/accounts', headers, payload: { name: 'x' } });
      expect(write.statusCode).toBe(401);
    });

    it('accepts the right token', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ accounts: [] });
    });

    it('refuses to build with an empty admin token', () => {
      expect(() =>
        buildApp({
          store,
          logger: pino({ level: 'silent' }),
          adminToken: '',
          defaultCountryCode: '1',
          telephonyStatus: () => status,
        }),
      ).toThrow(/admin token/);
    });
  });

  describe('accounts', () => {
    it('creates, lists, gets and renames an account with ISO times', async () => {
      const created = await createAccount('Acme Plumbing');
      expect(created).toEqual({
        id: expect.any(Number),
        name: 'Acme Plumbing',
        recordingRetentionDays: null,
        callRetentionDays: 730,
        visitRetentionDays: 90,
        auditRetentionDays: 365,
        agencyId: null,
        requireTwoFactor: false,
        timeZone: null,
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        updatedAt: expect.any(String),
      });
      const list = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      expect(list.json()).toEqual({ accounts: [created] });

      const got = await app.inject({ method: 'GET', url: `/v1/accounts/${created.id}`, headers: auth });
      expect(got.json()).toEqual(created);

      const patched = await app.inject({
        method: 'PATCH',
        url: `/v1/accounts/${created.id}`,
        headers: auth,
        payload: { name: 'Acme Heating' },
      });
      expect(patched.statusCode).toBe(200);
      expect(patched.json()).toMatchObject({ id: created.id, name: 'Acme Heating' });
    });

    it('404s an unknown account on GET and PATCH', async () => {
      const get = await app.inject({ method: 'GET', url: '/v1/accounts/999', headers: auth });
      expect(get.statusCode).toBe(404);
      expect(get.json().error.code).toBe('CR_ERR_NOT_FOUND');
      const patch = await app.inject({ method: 'PATCH', url: '/v1/accounts/999', headers: auth, payload: { name: 'x' } });
      expect(patch.statusCode).toBe(404);
    });

    it('400s a missing or blank name, an empty patch and a non-numeric id', async () => {
      const missing = await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: {} });
      expect(missing.statusCode).toBe(400);
      expect(missing.json().error).toMatchObject({ code: 'CR_ERR_VALIDATION', field: 'body.name' });

      const blank = await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: { name: '   ' } });
      expect(blank.statusCode).toBe(400);
      expect(blank.json().error.field).toBe('body.name');

      const { id } = await createAccount();
      const empty = await app.inject({ method: 'PATCH', url: `/v1/accounts/${id}`, headers: auth, payload: {} });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().error.field).toBe('body');

      const badId = await app.inject({ method: 'GET', url: '/v1/accounts/abc', headers: auth });
      expect(badId.statusCode).toBe(400);
      expect(badId.json().error.field).toBe('params.id');
    });
  });

  describe('tracking numbers', () => {
    it('creates with defaults, normalises the DID and destination, and reads it back', async () => {
      const account = await createAccount();
      const res = await postNumber({ accountId: account.id, did: '(555) 123-4567', destination: '555.987.6543' });
      expect(res.statusCode).toBe(201);
      const tn = res.json();
      expect(tn).toEqual({
        id: expect.any(Number),
        accountId: account.id,
        did: '+15551234567',
        label: null,
        destination: '+15559876543',
        ringTimeoutSeconds: 30,
        enabled: true,
        source: null,
        medium: null,
        campaign: null,
        recordingEnabled: true,
        recordingChannels: 'mixed',
        announcement: 'none',
        announcementId: null,
        poolId: null,
        routePlanId: null,
        maxConcurrentCalls: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      });

      const got = await app.inject({ method: 'GET', url: `/v1/tracking-numbers/${tn.id}`, headers: auth });
      expect(got.json()).toEqual(tn);
      expect((await store.run(trackingNumberOfDid('+15551234567')))?.id).toBe(tn.id);
      expect((await store.run(trackingNumberOfDid('+15550000000')))).toBeUndefined();
    });

    it('stores every optional field and accepts a sip: destination', async () => {
      const account = await createAccount();
      const res = await postNumber({
        accountId: account.id,
        did: '+15551234567',
        destination: 'sip:frontdesk@pbx.example.com:5062',
        label: 'Google Ads',
        ringTimeoutSeconds: 45,
        enabled: false,
        source: 'google',
        medium: 'cpc',
        campaign: 'spring',
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        destination: 'sip:frontdesk@pbx.example.com:5062',
        label: 'Google Ads',
        ringTimeoutSeconds: 45,
        enabled: false,
        source: 'google',
        medium: 'cpc',
        campaign: 'spring',
      });
    });

    it('lists, filtered by account', async () => {
      const a = await createAccount('A');
      const b = await createAccount('B');
      await postNumber({ accountId: a.id, did: '+15551230001', destination: '+15559870000' });
      await postNumber({ accountId: b.id, did: '+15551230002', destination: '+15559870000' });
      const all = await app.inject({ method: 'GET', url: '/v1/tracking-numbers', headers: auth });
      expect(all.json().trackingNumbers).toHaveLength(2);
      const onlyB = await app.inject({ method: 'GET', url: `/v1/tracking-numbers?accountId=${b.id}`, headers: auth });
      expect(onlyB.json().trackingNumbers.map((t: { did: string }) => t.did)).toEqual(['+15551230002']);
    });

    it.each([
      ['missing did', { did: undefined }, 'body.did', 'CR_ERR_VALIDATION', /required/],
      ['bad E.164 did', { did: '12345', destination: '+15559876543' }, 'body.did', 'CR_ERR_INVALID_NUMBER', /12345/],
      ['did with letters', { did: '+1555CALLNOW', destination: '+15559876543' }, 'body.did', 'CR_ERR_INVALID_NUMBER', /did/],
      ['ringTimeoutSeconds too low', { ringTimeoutSeconds: 4 }, 'body.ringTimeoutSeconds', 'CR_ERR_VALIDATION', />= 5/],
      ['ringTimeoutSeconds too high', { ringTimeoutSeconds: 301 }, 'body.ringTimeoutSeconds', 'CR_ERR_VALIDATION', /<= 300/],
      ['unknown extra property', { colour: 'blue' }, 'body.colour', 'CR_ERR_VALIDATION', /not allowed/],
      ['bad destination', { destination: 'sip:nobody' }, 'body.destination', 'CR_ERR_VALIDATION', /sip:/],
      ['bad destination port', { destination: 'sip:a@b.example:99999' }, 'body.destination', 'CR_ERR_VALIDATION', /sip:/],
      ['enabled not boolean', { enabled: 'maybe' }, 'body.enabled', 'CR_ERR_VALIDATION', /boolean/],
      ['missing accountId', { accountId: undefined }, 'body.accountId', 'CR_ERR_VALIDATION', /required/],
      ['unknown accountId', { accountId: 4242 }, 'body.accountId', 'CR_ERR_VALIDATION', /account 4242/],
    ])('400s %s, naming the field', async (_name, override, field, code, message) => {
      const account = await createAccount();
      const payload: Record<string, unknown> = {
        accountId: account.id,
        did: '+15551234567',
        destination: '+15559876543',
        ...override,
      };
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
      const res = await postNumber(payload);
      expect(res.statusCode).toBe(400);
      const body = res.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error).toEqual({ code, message: expect.stringMatching(message), field });
    });

    it('409s a duplicate DID, also when written in another format, on create and on patch', async () => {
      const account = await createAccount();
      const first = await postNumber({ accountId: account.id, did: '+15551234567', destination: '+15559876543' });
      expect(first.statusCode).toBe(201);
      for (const did of ['+15551234567', '1 (555) 123-4567', '555-123-4567', '011 1 555 123 4567']) {
        const dup = await postNumber({ accountId: account.id, did, destination: '+15559876543' });
        expect(dup.statusCode).toBe(409);
        expect(dup.json().error).toEqual({
          code: 'CR_ERR_DUPLICATE_DID',
          message: expect.stringContaining('+15551234567'),
          field: 'body.did',
        });
      }
      const second = await postNumber({ accountId: account.id, did: '+15551230000', destination: '+15559876543' });
      const patch = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${second.json().id}`,
        headers: auth,
        payload: { did: '555 123 4567' },
      });
      expect(patch.statusCode).toBe(409);
      expect(patch.json().error.code).toBe('CR_ERR_DUPLICATE_DID');
    });

    it('patches fields, clears nullable ones, and validates the patch', async () => {
      const a = await createAccount('A');
      const b = await createAccount('B');
      const tn = (await postNumber({ accountId: a.id, did: '+15551234567', destination: '+15559876543', label: 'x' })).json();
      const res = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${tn.id}`,
        headers: auth,
        payload: { accountId: b.id, did: '555 222 3333', destination: 'sip:agent@10.0.0.5', label: null, ringTimeoutSeconds: 60 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: tn.id,
        accountId: b.id,
        did: '+15552223333',
        destination: 'sip:agent@10.0.0.5',
        label: null,
        ringTimeoutSeconds: 60,
        enabled: true,
      });
      expect((await store.run(trackingNumberOfDid('+15551234567')))).toBeUndefined();
      expect((await store.run(trackingNumberOfDid('+15552223333')))?.accountId).toBe(b.id);

      const bad = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${tn.id}`,
        headers: auth,
        payload: { ringTimeoutSeconds: 1000 },
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('body.ringTimeoutSeconds');

      const extra = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${tn.id}`,
        headers: auth,
        payload: { createdAt: 'now' },
      });
      expect(extra.statusCode).toBe(400);
      expect(extra.json().error.field).toBe('body.createdAt');

      const unknownAccount = await app.inject({
        method: 'PATCH',
        url: `/v1/tracking-numbers/${tn.id}`,
        headers: auth,
        payload: { accountId: 999 },
      });
      expect(unknownAccount.statusCode).toBe(400);
      expect(unknownAccount.json().error.field).toBe('body.accountId');
    });

    it('disables and enables a number', async () => {
      const account = await createAccount();
      const tn = (await postNumber({ accountId: account.id, did: '+15551234567', destination: '+15559876543' })).json();
      const off = await app.inject({ method: 'POST', url: `/v1/tracking-numbers/${tn.id}/disable`, headers: auth });
      expect(off.statusCode).toBe(200);
      expect(off.json().enabled).toBe(false);
      expect((await store.run(trackingNumberOfDid('+15551234567')))?.enabled).toBe(false);
      const got = await app.inject({ method: 'GET', url: `/v1/tracking-numbers/${tn.id}`, headers: auth });
      expect(got.json().enabled).toBe(false);
      const on = await app.inject({ method: 'POST', url: `/v1/tracking-numbers/${tn.id}/enable`, headers: auth });
      expect(on.json().enabled).toBe(true);
      expect((await store.run(trackingNumberOfDid('+15551234567')))?.enabled).toBe(true);
    });

    it('404s unknown tracking number ids on every route', async () => {
      for (const [method, url, payload] of [
        ['GET', '/v1/tracking-numbers/77', undefined],
        ['PATCH', '/v1/tracking-numbers/77', { label: 'x' }],
        ['POST', '/v1/tracking-numbers/77/disable', undefined],
        ['POST', '/v1/tracking-numbers/77/enable', undefined],
      ] as const) {
        const res = await app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().error).toEqual({ code: 'CR_ERR_NOT_FOUND', message: expect.any(String), field: 'params.id' });
      }
    });

    it('404s an unknown route with the same error shape', async () => {
      const res = await app.inject({ method: 'GET', url: '/v1/nope', headers: auth });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('CR_ERR_NOT_FOUND');
    });

    it('400s malformed JSON without leaking internals', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/accounts',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{"name":',
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('CR_ERR_VALIDATION');
    });
  });

  describe('calls', () => {
    const T0 = Date.parse('2026-03-01T12:00:00.000Z');
    let accountA: number;
    let accountB: number;

    function insertCall(i: number, over: Partial<typeof calls.$inferInsert> = {}) {
      const values = {
          accountId: accountA,
          did: '+15551230001',
          callerNumber: '+15557654321',
          source: 'google',
          arrivedAt: T0 + i * 60_000,
          inboundChannelId: `chan-${i}`,
          finished: true,
          disposition: 'answered' as CallDisposition,
          answeredAt: T0 + i * 60_000 + 5_000,
          endedAt: T0 + i * 60_000 + 65_000,
          ringSeconds: 5,
          talkSeconds: 60,
          sipCode: 200,
          ...over,
      };
      return store.run(function* ({ db, t }) {
        return (yield* row(db.insert(t.calls).values(values).returning()))!;
      });
    }

    beforeEach(async () => {
      accountA = (await createAccount('A')).id;
      accountB = (await createAccount('B')).id;
    });

    async function listCalls(query: string) {
      const res = await app.inject({ method: 'GET', url: `/v1/calls${query}`, headers: auth });
      return res;
    }

    it('lists newest first with ISO times and booleans', async () => {
      await insertCall(0);
      await insertCall(1, { disposition: 'no-answer', answeredAt: null, talkSeconds: null, finished: false });
      const res = await listCalls('');
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.nextCursor).toBeNull();
      expect(body.calls.map((c: { inboundChannelId: string }) => c.inboundChannelId)).toEqual(['chan-1', 'chan-0']);
      expect(body.calls[0]).toMatchObject({
        accountId: accountA,
        did: '+15551230001',
        disposition: 'no-answer',
        finished: false,
        reconciled: false,
        arrivedAt: '2026-03-01T12:01:00.000Z',
        answeredAt: null,
        endedAt: '2026-03-01T12:02:05.000Z',
      });
      expect(body.calls[1].finished).toBe(true);
    });

    it('paginates with an opaque cursor across pages, without gaps or repeats, ties broken by id', async () => {
      // 7 calls, two of which arrive in the same millisecond.
      const ids: number[] = [];
      for (let i = 0; i < 6; i++) ids.push((await insertCall(i)).id);
      ids.push((await insertCall(5, { inboundChannelId: 'chan-5b' })).id);
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const res = await listCalls(q);
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(body.calls.length).toBeLessThanOrEqual(3);
        seen.push(...body.calls.map((c: { id: number }) => c.id));
        cursor = body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      // Newest first: arrival desc, then id desc within the same millisecond.
      const expected = [ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]];
      expect(seen).toEqual(expected);
    });

    it('returns no nextCursor when the last page is exactly full', async () => {
      for (let i = 0; i < 4; i++) await insertCall(i);
      const first = (await listCalls('?limit=2')).json();
      expect(first.nextCursor).toEqual(expect.any(String));
      const second = (await listCalls(`?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`)).json();
      expect(second.calls).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
    });

    it('filters by time range, account, did, disposition and source', async () => {
      await insertCall(0);
      await insertCall(1, { accountId: accountB, did: '+15551230002', source: 'bing' });
      await insertCall(2, { disposition: 'busy' });
      await insertCall(3, { accountId: null, trackingNumberId: null, did: '+15550000000', disposition: 'rejected', source: null });
      const channels = async (q: string) => {
        const res = await listCalls(q);
        expect(res.statusCode, q).toBe(200);
        return res.json().calls.map((c: { inboundChannelId: string }) => c.inboundChannelId);
      };
      // from inclusive, to exclusive
      expect(await channels('?from=2026-03-01T12:01:00Z&to=2026-03-01T12:03:00Z')).toEqual(['chan-2', 'chan-1']);
      expect(await channels('?from=2026-03-01T13:01:00%2B01:00')).toEqual(['chan-3', 'chan-2', 'chan-1']);
      expect(await channels(`?accountId=${accountB}`)).toEqual(['chan-1']);
      expect(await channels('?did=555-123-0002')).toEqual(['chan-1']);
      expect(await channels('?did=%2B15551230001')).toEqual(['chan-2', 'chan-0']);
      expect(await channels('?disposition=busy')).toEqual(['chan-2']);
      expect(await channels('?disposition=rejected')).toEqual(['chan-3']);
      expect(await channels('?source=bing')).toEqual(['chan-1']);
      expect(await channels(`?accountId=${accountA}&disposition=answered&source=google`)).toEqual(['chan-0']);
      expect(await channels('?accountId=999')).toEqual([]);
    });

    it.each([
      ['?limit=0', 'querystring.limit'],
      ['?limit=501', 'querystring.limit'],
      ['?limit=ten', 'querystring.limit'],
      ['?from=yesterday', 'querystring.from'],
      ['?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z', 'querystring.from'],
      ['?disposition=maybe', 'querystring.disposition'],
      ['?cursor=not-a-cursor', 'querystring.cursor'],
      ['?acountId=1', 'querystring.acountId'],
    ])('400s %s naming %s', async (query, field) => {
      const res = await listCalls(query);
      expect(res.statusCode).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'CR_ERR_VALIDATION', field });
    });

    it('caps the page at the limit and defaults to 50', async () => {
      for (let i = 0; i < 55; i++) await insertCall(i);
      const body = (await listCalls('')).json();
      expect(body.calls).toHaveLength(50);
      expect(body.nextCursor).not.toBeNull();
      expect((await listCalls('?limit=500')).json().calls).toHaveLength(55);
    });

    it('gets one call and 404s an unknown one', async () => {
      const row = await insertCall(0, { hangupCause: 16, endedBy: 'caller', reconciled: true });
      const res = await app.inject({ method: 'GET', url: `/v1/calls/${row.id}`, headers: auth });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        id: row.id,
        inboundChannelId: 'chan-0',
        hangupCause: 16,
        endedBy: 'caller',
        reconciled: true,
        finished: true,
        arrivedAt: '2026-03-01T12:00:00.000Z',
        answeredAt: '2026-03-01T12:00:05.000Z',
        ringSeconds: 5,
        talkSeconds: 60,
      });
      const missing = await app.inject({ method: 'GET', url: '/v1/calls/12345', headers: auth });
      expect(missing.statusCode).toBe(404);
      expect(missing.json()).toEqual({
        error: { code: 'CR_ERR_NOT_FOUND', message: 'call 12345 not found', field: 'params.id' },
      });
    });
  });

  describe('error logging', () => {
    function capture() {
      const lines: Array<{ level: number; msg: string; err?: { message: string }; code?: string }> = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
      return { lines, logger };
    }

    it('logs 4xx at info and 5xx at error, with the cause only in the log', async () => {
      const { lines, logger } = capture();
      const logged = buildApp({ store, logger, adminToken: TOKEN, defaultCountryCode: '1', telephonyStatus: () => status });
      await logged.inject({ method: 'GET', url: '/v1/calls/1', headers: auth });
      const rejected = lines.find((l) => l.msg === 'request rejected');
      expect(rejected).toMatchObject({ level: 30, code: 'CR_ERR_NOT_FOUND' });

      await store.close();
      const res = await logged.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      expect(res.json()).toEqual({ error: { code: 'CR_ERR_INTERNAL', message: 'internal error' } });
      const failed = lines.find((l) => l.msg === 'request failed');
      expect(failed?.level).toBe(50);
      // SQLite: "The database connection is not open"; PostgreSQL: the pool has ended.
      expect(failed?.err?.message).toMatch(/not open|after calling end/);
      await logged.close();
    });
  });

  describe('internal errors', () => {
    it('hides the cause of a 500', async () => {
      await store.close(); // every query now throws
      const res = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: { code: 'CR_ERR_INTERNAL', message: 'internal error' } });
    });
  });
});
