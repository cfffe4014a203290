import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, type BuildAppDeps } from '../../src/api/buildApp.js';
import { arrivalAttribution, callAttribution, hasCalledBefore, matchVisitForCall } from '../../src/persistence/attributionRepository.js';
import { calls, visits } from '../../src/persistence/schema.js';
import type { Store } from '../../src/persistence/store.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const ORIGIN = 'https://acme.example';
const PAGE = 'https://acme.example/plumbing?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=abc123';


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('attribution on %s', (dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let clock: number;

  function build(publicApi?: BuildAppDeps['publicApi']): FastifyInstance {
    return buildApp({
      store,
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      now: () => clock,
      ...(publicApi ? { publicApi } : {}),
    });
  }

  beforeEach(async () => {
    store = await open();
    clock = T0;
    app = build();
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  async function post<T = Record<string, unknown>>(url: string, payload: unknown, status = 201): Promise<T> {
    const res = await app.inject({ method: 'POST', url, headers: admin, payload: payload as object });
    expect(res.statusCode, res.body).toBe(status);
    return res.json() as T;
  }

  async function patch<T = Record<string, unknown>>(url: string, payload: unknown, status = 200): Promise<T> {
    const res = await app.inject({ method: 'PATCH', url, headers: admin, payload: payload as object });
    expect(res.statusCode, res.body).toBe(status);
    return res.json() as T;
  }

  interface Site {
    accountId: number;
    key: string;
    poolId: number;
    poolDids: string[];
    poolNumberIds: number[];
    fallbackDid: string;
    googleDid: string;
  }

  let didCounter = 0;
  function did(): string {
    didCounter += 1;
    return `+1555200${String(didCounter).padStart(4, '0')}`;
  }

  /** An account with a key for `domain`, a google source-level number, and a pool of `size` numbers with a fallback. */
  async function site(name: string, domain: string, size = 2, poolSettings: Record<string, unknown> = {}): Promise<Site> {
    const account = await post<{ id: number }>('/v1/accounts', { name });
    const settings = await post<{ publicKey: string; scriptTag: string }>(`/v1/accounts/${account.id}/snippet/key`, undefined, 200);
    expect(settings.publicKey).toMatch(/^pk_[A-Za-z0-9_-]{24}$/);
    expect(settings.scriptTag).toContain(`data-key="${settings.publicKey}"`);
    await patch(`/v1/accounts/${account.id}/snippet`, { allowedDomains: [domain] });
    const number = (extra: Record<string, unknown> = {}) =>
      post<{ id: number; did: string }>('/v1/tracking-numbers', { accountId: account.id, did: did(), destination: '+15550001111', ...extra });
    const fallback = await number({ label: 'website fallback' });
    const google = await number({ source: 'google', medium: 'cpc' });
    const pool = await post<{ id: number }>('/v1/pools', { accountId: account.id, name: 'web', fallbackTrackingNumberId: fallback.id, ...poolSettings });
    const members: { id: number; did: string }[] = [];
    for (let i = 0; i < size; i++) {
      const n = await number();
      const patched = await patch<{ poolId: number }>(`/v1/tracking-numbers/${n.id}`, { poolId: pool.id });
      expect(patched.poolId).toBe(pool.id);
      members.push(n);
    }
    return {
      accountId: account.id,
      key: settings.publicKey,
      poolId: pool.id,
      poolDids: members.map((m) => m.did),
      poolNumberIds: members.map((m) => m.id),
      fallbackDid: fallback.did,
      googleDid: google.did,
    };
  }

  interface NumberAnswer {
    visitorId: string | null;
    number: string | null;
    display: string | null;
    heartbeatSeconds: number | null;
  }

  function session(body: Record<string, unknown>, headers: Record<string, string> = { origin: ORIGIN }, remoteAddress = '203.0.113.7') {
    return app.inject({
      method: 'POST',
      url: '/public/v1/session',
      headers: { 'content-type': 'text/plain', ...headers },
      payload: JSON.stringify(body),
      remoteAddress,
    });
  }

  function heartbeat(body: Record<string, unknown>, headers: Record<string, string> = { origin: ORIGIN }) {
    return app.inject({ method: 'POST', url: '/public/v1/heartbeat', headers: { 'content-type': 'text/plain', ...headers }, payload: JSON.stringify(body) });
  }

  describe('public snippet API: numbers for visitors', () => {
    it('gives each visitor a pool number, keeps it while heartbeating, and falls back when the pool is exhausted', async () => {
      const s = await site('Acme', 'acme.example');
      const first = await session({ key: s.key, page: PAGE, referrer: 'https://www.google.com/' });
      expect(first.statusCode, first.body).toBe(200);
      expect(first.headers['access-control-allow-origin']).toBe(ORIGIN);
      const a = first.json<NumberAnswer>();
      expect(s.poolDids).toContain(a.number);
      expect(a.visitorId).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
      expect(a.display).toMatch(/^\(555\) 200-\d{4}$/);
      expect(a.heartbeatSeconds).toBe(60);

      const second = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      expect(s.poolDids).toContain(second.number);
      expect(second.number).not.toBe(a.number);
      expect(second.visitorId).not.toBe(a.visitorId);

      // The same visitor on another page keeps the number (same visit, landing page unchanged).
      clock += 30_000;
      const again = (await session({ key: s.key, visitorId: a.visitorId, page: 'https://acme.example/contact' })).json<NumberAnswer>();
      expect(again.number).toBe(a.number);
      const hb = await heartbeat({ key: s.key, visitorId: a.visitorId });
      expect(hb.statusCode).toBe(200);
      expect(hb.json<NumberAnswer>().number).toBe(a.number);

      const third = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      expect(third.number).toBe(s.fallbackDid);
      const pools = await app.inject({ method: 'GET', url: `/v1/reports/pools?accountId=${s.accountId}`, headers: admin });
      expect(pools.json().pools).toEqual([
        expect.objectContaining({ poolId: s.poolId, held: 2, total: 2, utilization: 1, warning: true, exhaustedCount: 1 }),
      ]);

      const rows = (await allRows(store, 'visits'));
      const visitA = rows.find((v) => v.visitorId === a.visitorId);
      expect(visitA).toMatchObject({
        landingPage: PAGE,
        referrer: 'https://www.google.com/',
        source: 'google',
        medium: 'cpc',
        campaign: 'spring',
        utm: JSON.stringify({ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring' }),
        clickIds: JSON.stringify({ gclid: 'abc123' }),
        firstVisitAt: T0,
        lastSeenAt: T0 + 30_000,
      });
      // The exhausted visitor holds nothing: a call on the shared fallback must not match anyone.
      expect(rows.find((v) => v.visitorId === third.visitorId)?.trackingNumberId).toBeNull();
    });

    it('releases an idle number, reuses the least recently used one, and the exhausted visitor gets a number on a heartbeat', async () => {
      const s = await site('Acme', 'acme.example', 2, { idleReleaseSeconds: 60, releaseGraceSeconds: 30 });
      const a = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      clock += 1000;
      const b = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      const c = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      expect(c.number).toBe(s.fallbackDid);
      expect(c.heartbeatSeconds).toBe(20);

      // a stops heartbeating; b keeps going.
      clock += 40_000;
      await heartbeat({ key: s.key, visitorId: b.visitorId });
      clock += 25_000;
      const cAgain = (await heartbeat({ key: s.key, visitorId: c.visitorId })).json<NumberAnswer>();
      expect(cAgain.number).toBe(a.number);
      // a comes back: a new visit (same visitor, first touch kept), and the other free... none: fallback.
      const aBack = (await session({ key: s.key, visitorId: a.visitorId, page: 'https://acme.example/' })).json<NumberAnswer>();
      expect(aBack.visitorId).toBe(a.visitorId);
      expect(aBack.number).toBe(s.fallbackDid);
      const aVisits = (await allRows(store, 'visits')).filter((v) => v.visitorId === a.visitorId);
      expect(aVisits).toHaveLength(2);
      expect(aVisits[0]?.releasedAt).toBe(T0 + 60_000);
      expect(aVisits[1]).toMatchObject({ source: 'google', campaign: 'spring', landingPage: PAGE, firstVisitAt: T0 });
      // Heartbeats of the exhausted visitor did not count as exhaustions.
      expect((await allRows(store, 'numberPools'))[0]?.exhaustedCount).toBe(2);
    });

    it('a late heartbeat keeps the number when nobody took it meanwhile; a new page view after the idle time is a new visit', async () => {
      const s = await site('Acme', 'acme.example', 2, { idleReleaseSeconds: 60 });
      const a = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      clock += 300_000;
      const late = (await heartbeat({ key: s.key, visitorId: a.visitorId })).json<NumberAnswer>();
      expect(late.number).toBe(a.number);
      expect((await allRows(store, 'visits'))).toHaveLength(1);
      clock += 300_000;
      const view = (await session({ key: s.key, visitorId: a.visitorId, page: 'https://acme.example/' })).json<NumberAnswer>();
      expect(view.visitorId).toBe(a.visitorId);
      const rows = (await allRows(store, 'visits'));
      expect(rows).toHaveLength(2);
      expect(rows[0]?.releasedAt).toBe(T0 + 300_000 + 60_000);
      // First touch: the new visit keeps the ad's attribution.
      expect(rows[1]).toMatchObject({ source: 'google', landingPage: PAGE, firstVisitAt: T0 });
    });

    it('honours Do Not Track and Global Privacy Control: the source-level number, no visitor id, no session row', async () => {
      const s = await site('Acme', 'acme.example');
      const dnt = await session({ key: s.key, page: PAGE, dnt: true });
      expect(dnt.statusCode).toBe(200);
      expect(dnt.json()).toEqual({ visitorId: null, number: s.googleDid, display: expect.any(String), heartbeatSeconds: null });
      const gpc = await session({ key: s.key, page: PAGE }, { origin: ORIGIN, 'sec-gpc': '1' });
      expect(gpc.json<NumberAnswer>()).toMatchObject({ visitorId: null, number: s.googleDid });
      const dntHeader = await session({ key: s.key, page: 'https://acme.example/' }, { origin: ORIGIN, dnt: '1' });
      // Direct visitor, no direct source-level number: the pool's fallback.
      expect(dntHeader.json<NumberAnswer>()).toMatchObject({ visitorId: null, number: s.fallbackDid });
      expect((await allRows(store, 'visits'))).toEqual([]);
    });

    it('checks the Origin against the allowed domains and sends CORS headers only to allowed origins', async () => {
      const s = await site('Acme', '*.acme.example');
      const ok = await session({ key: s.key, page: 'https://www.acme.example/' }, { origin: 'https://www.acme.example' });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['access-control-allow-origin']).toBe('https://www.acme.example');
      for (const headers of [{ origin: 'https://evil.example' }, { origin: 'https://acme.example' }, {} as Record<string, string>, { origin: 'null' }]) {
        const res = await session({ key: s.key, page: 'https://www.acme.example/' }, headers);
        expect(res.statusCode).toBe(403);
        expect(res.json().error).toMatchObject({ code: 'CR_ERR_FORBIDDEN', field: 'body.key' });
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      }
      // An unknown key looks the same as a wrong origin.
      const unknown = await session({ key: 'pk_AAAAAAAAAAAAAAAAAAAAAAAA', page: 'https://www.acme.example/' }, { origin: 'https://www.acme.example' });
      expect(unknown.statusCode).toBe(403);
      expect((await allRows(store, 'visits'))).toHaveLength(1);

      const pre = await app.inject({ method: 'OPTIONS', url: '/public/v1/session', headers: { origin: 'https://shop.acme.example', 'access-control-request-method': 'POST' } });
      expect(pre.statusCode).toBe(204);
      expect(pre.headers['access-control-allow-origin']).toBe('https://shop.acme.example');
      const badPre = await app.inject({ method: 'OPTIONS', url: '/public/v1/session', headers: { origin: 'https://evil.example' } });
      expect(badPre.statusCode).toBe(204);
      expect(badPre.headers['access-control-allow-origin']).toBeUndefined();
    });

    it('keeps accounts apart: a key reaches only its own numbers, and visitor ids do not cross accounts', async () => {
      const a = await site('Acme', 'acme.example');
      const b = await site('Bravo', 'bravo.example');
      const va = (await session({ key: a.key, page: PAGE })).json<NumberAnswer>();
      // Bravo's key from Acme's site: refused.
      expect((await session({ key: b.key, page: PAGE })).statusCode).toBe(403);
      // Acme's visitor id presented with Bravo's key: a new Bravo visitor, Bravo's numbers only.
      const vb = await session({ key: b.key, visitorId: va.visitorId, page: 'https://bravo.example/' }, { origin: 'https://bravo.example' });
      const answer = vb.json<NumberAnswer>();
      expect(answer.visitorId).not.toBe(va.visitorId);
      expect(b.poolDids).toContain(answer.number);
      const hb = await heartbeat({ key: b.key, visitorId: va.visitorId }, { origin: 'https://bravo.example' });
      expect(hb.json()).toEqual({ visitorId: va.visitorId, number: null, display: null, heartbeatSeconds: null });
      // The answer says nothing but this visitor's own id and number.
      expect(Object.keys(answer).sort()).toEqual(['display', 'heartbeatSeconds', 'number', 'visitorId']);
    });

    it('rejects invalid input with a 400 naming the field', async () => {
      const s = await site('Acme', 'acme.example');
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ page: PAGE }, 'body.key'],
        [{ key: 'nope', page: PAGE }, 'body.key'],
        [{ key: s.key }, 'body.page'],
        [{ key: s.key, page: 'javascript:alert(1)' }, 'body.page'],
        [{ key: s.key, page: PAGE, visitorId: 'short' }, 'body.visitorId'],
        [{ key: s.key, page: PAGE, dnt: 'yes' }, 'body.dnt'],
        [{ key: s.key, page: PAGE, extra: 1 }, 'body.extra'],
        [{ key: s.key, page: 'x'.repeat(3000) }, 'body.page'],
      ];
      for (const [body, field] of cases) {
        const res = await session(body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.field).toBe(field);
      }
      const notJson = await app.inject({ method: 'POST', url: '/public/v1/session', headers: { 'content-type': 'text/plain', origin: ORIGIN }, payload: '{nope' });
      expect(notJson.statusCode).toBe(400);
    });

    it('rate-limits per IP and per key with 429 and Retry-After', async () => {
      await app.close();
      app = build({ rateLimits: { perIp: { burst: 3, perSecond: 0.1 }, perKey: { burst: 5, perSecond: 0.1 } } });
      const s = await site('Acme', 'acme.example');
      const codes: number[] = [];
      for (let i = 0; i < 4; i++) codes.push((await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.1')).statusCode);
      expect(codes).toEqual([200, 200, 200, 429]);
      const limited = await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.1');
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['retry-after']).toBe('10');
      expect(limited.json().error.code).toBe('CR_ERR_RATE_LIMITED');
      // Other addresses: the key's bucket (5) runs out after two more.
      expect((await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.2')).statusCode).toBe(200);
      expect((await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.3')).statusCode).toBe(200);
      expect((await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.4')).statusCode).toBe(429);
      clock += 10_000;
      expect((await session({ key: s.key, page: PAGE }, { origin: ORIGIN }, '198.51.100.1')).statusCode).toBe(200);
    });

    it('serves the snippet, cacheable', async () => {
      const res = await app.inject({ method: 'GET', url: '/snippet.js' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/javascript; charset=utf-8');
      expect(res.headers['cache-control']).toContain('max-age=');
      expect(res.body).toContain('/public/v1/session');
      const again = await app.inject({ method: 'GET', url: '/snippet.js', headers: { 'if-none-match': String(res.headers.etag) } });
      expect(again.statusCode).toBe(304);
    });
  });

  // The call path's lookups are SQLite's synchronous ones (the router's call path runs on SQLite).
  describe.runIf(dialect === 'SQLite')('calls tied to visits', () => {
    const sqliteDb = () => (store as Extract<Store, { dialect: 'sqlite' }>).db;
    it('matches the visit holding the number, or that released it within the grace period, in one lookup', async () => {
      const s = await site('Acme', 'acme.example', 1, { idleReleaseSeconds: 60, releaseGraceSeconds: 30 });
      const v = (await session({ key: s.key, page: PAGE })).json<NumberAnswer>();
      const numberId = s.poolNumberIds[0] as number;
      const visit = sqliteDb().select().from(visits).get();
      expect(matchVisitForCall(sqliteDb(), numberId, clock)?.id).toBe(visit?.id);
      expect(matchVisitForCall(sqliteDb(), numberId, clock + 60_000 + 30_000)?.visitorId).toBe(v.visitorId);
      expect(matchVisitForCall(sqliteDb(), numberId, clock + 60_000 + 30_001)).toBeUndefined();
      // The number goes to a new visitor after release: calls now belong to the new one.
      clock += 61_000;
      const w = (await session({ key: s.key, page: 'https://acme.example/?utm_source=bing' })).json<NumberAnswer>();
      expect(w.number).toBe(v.number);
      expect(matchVisitForCall(sqliteDb(), numberId, clock)?.visitorId).toBe(w.visitorId);

      const a = callAttribution(sqliteDb(), { trackingNumberId: numberId, poolId: s.poolId, accountId: s.accountId, callerNumber: '+15559876543', now: clock });
      expect(a).toMatchObject({ source: 'bing', landingPage: 'https://acme.example/?utm_source=bing', firstTimeCaller: true, utm: '{"utm_source":"bing"}', clickIds: null });
      const numberTags = { source: 'website', medium: 'pool', campaign: null };
      expect(arrivalAttribution(a, numberTags)).toMatchObject({ source: 'bing', medium: null, visitId: a.visitId, firstTimeCaller: true });
      const none = callAttribution(sqliteDb(), { trackingNumberId: numberId, poolId: null, accountId: s.accountId, callerNumber: null, now: clock });
      expect(arrivalAttribution(none, numberTags)).toEqual({ ...numberTags, visitId: null, landingPage: null, referrer: null, utm: null, clickIds: null, firstVisitAt: null, firstTimeCaller: null });
      const plan = sqliteDb().$client.prepare("EXPLAIN QUERY PLAN SELECT id FROM calls WHERE account_id = 1 AND caller_number = 'x' AND id < 5 LIMIT 1").all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join()).toContain('calls_account_caller_idx');
    });

    it('knows first-time callers per account', () => {
      const acct = sqliteDb().$client.prepare("INSERT INTO accounts (name, created_at, updated_at) VALUES ('x', 0, 0)").run().lastInsertRowid as number;
      const other = sqliteDb().$client.prepare("INSERT INTO accounts (name, created_at, updated_at) VALUES ('y', 0, 0)").run().lastInsertRowid as number;
      const id = sqliteDb().insert(calls).values({ accountId: acct, did: '+15550000001', callerNumber: '+15559876543', arrivedAt: T0, inboundChannelId: 'c1' }).returning().get().id;
      expect(hasCalledBefore(sqliteDb(), acct, '+15559876543')).toBe(true);
      expect(hasCalledBefore(sqliteDb(), acct, '+15559876543', id)).toBe(false);
      expect(hasCalledBefore(sqliteDb(), other, '+15559876543')).toBe(false);
      expect(hasCalledBefore(sqliteDb(), acct, '+15550000000')).toBe(false);
    });
  });

  describe('admin: source rules, pools, settings', () => {
    it('CRUD for source rules in precedence order, with shape checks naming the field', async () => {
      const account = await post<{ id: number }>('/v1/accounts', { name: 'Acme' });
      const r1 = await post<{ id: number; position: number }>('/v1/source-rules', { accountId: account.id, kind: 'param', match: 'utm_source', value: 'adwords', source: 'google', medium: 'cpc' });
      const r2 = await post<{ id: number; position: number }>('/v1/source-rules', { accountId: account.id, kind: 'referrer_group', match: 'social', source: 'social' });
      expect([r1.position, r2.position]).toEqual([1, 2]);
      await patch(`/v1/source-rules/${r2.id}`, { position: 0 });
      const list = await app.inject({ method: 'GET', url: `/v1/source-rules?accountId=${account.id}`, headers: admin });
      expect(list.json().sourceRules.map((r: { id: number }) => r.id)).toEqual([r2.id, r1.id]);

      // The rule decides the visitor's source.
      await post(`/v1/accounts/${account.id}/snippet/key`, undefined, 200);
      const settings = await patch<{ publicKey: string }>(`/v1/accounts/${account.id}/snippet`, { allowedDomains: ['acme.example'], attributionModel: 'last', attributionWindowDays: 7 });
      expect(settings).toMatchObject({ attributionModel: 'last', attributionWindowDays: 7, allowedDomains: ['acme.example'] });
      const social = await post<{ did: string }>('/v1/tracking-numbers', { accountId: account.id, did: '+15553330000', destination: '+15550001111', source: 'social' });
      const dnt = await session({ key: settings.publicKey, page: 'https://acme.example/', referrer: 'https://www.facebook.com/', dnt: true });
      expect(dnt.json<NumberAnswer>().number).toBe(social.did);

      const bad: Array<[Record<string, unknown>, string]> = [
        [{ kind: 'param', source: 'x' }, 'body.match'],
        [{ kind: 'referrer_group', match: 'forums', source: 'x' }, 'body.match'],
        [{ kind: 'referrer_host', match: 'not a host', source: 'x' }, 'body.match'],
        [{ kind: 'direct', match: 'x', source: 'x' }, 'body.match'],
        [{ kind: 'referrer_host', match: 'a.example', value: 'v', source: 'x' }, 'body.value'],
        [{ kind: 'sometimes', source: 'x' }, 'body.kind'],
        [{ kind: 'direct' }, 'body.source'],
      ];
      for (const [body, field] of bad) {
        const res = await app.inject({ method: 'POST', url: '/v1/source-rules', headers: admin, payload: { accountId: account.id, ...body } });
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect(res.json().error.field).toBe(field);
      }
      const del = await app.inject({ method: 'DELETE', url: `/v1/source-rules/${r1.id}`, headers: admin });
      expect(del.statusCode).toBe(204);
      expect((await app.inject({ method: 'GET', url: `/v1/source-rules/${r1.id}`, headers: admin })).statusCode).toBe(404);
    });

    it('pools: fallback and membership must be of the same account, outside pools; settings validated', async () => {
      const a = await site('Acme', 'acme.example', 1);
      const b = await site('Bravo', 'bravo.example', 1);
      const field = async (method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>) => {
        const res = await app.inject({ method, url, headers: admin, payload });
        expect(res.statusCode, res.body).toBe(400);
        return res.json().error.field;
      };
      expect(await field('POST', '/v1/pools', { accountId: a.accountId, name: 'p', fallbackTrackingNumberId: a.poolNumberIds[0] })).toBe('body.fallbackTrackingNumberId');
      expect(await field('POST', '/v1/pools', { accountId: a.accountId, name: 'p', idleReleaseSeconds: 5 })).toBe('body.idleReleaseSeconds');
      expect(await field('PATCH', `/v1/pools/${a.poolId}`, { warnUtilization: 2 })).toBe('body.warnUtilization');
      expect(await field('PATCH', `/v1/tracking-numbers/${a.poolNumberIds[0]}`, { poolId: b.poolId })).toBe('body.poolId');
      expect(await field('PATCH', `/v1/accounts/${a.accountId}/snippet`, { allowedDomains: ['https://acme.example/'] })).toBe('body.allowedDomains.0');
      const u = await app.inject({ method: 'GET', url: `/v1/pools/${a.poolId}/utilization`, headers: admin });
      expect(u.json()).toMatchObject({ held: 0, total: 1, utilization: 0, warning: false, exhaustedCount: 0 });
      const del = await app.inject({ method: 'DELETE', url: `/v1/pools/${a.poolId}`, headers: admin });
      expect(del.statusCode).toBe(204);
      const n = await app.inject({ method: 'GET', url: `/v1/tracking-numbers/${a.poolNumberIds[0]}`, headers: admin });
      expect(n.json().poolId).toBeNull();
    });
  });

  describe('reports', () => {
    let channel = 0;
    async function insertCall(accountId: number, c: Partial<typeof calls.$inferInsert>): Promise<void> {
      await insertRow(store, 'calls', { accountId, did: '+15551230001', arrivedAt: T0, inboundChannelId: `chan-${++channel}`, finished: true, ...c });
    }

    async function seed(): Promise<{ acme: number; bravo: number }> {
      const acme = (await post<{ id: number }>('/v1/accounts', { name: 'Acme' })).id;
      const bravo = (await post<{ id: number }>('/v1/accounts', { name: 'Bravo' })).id;
      await insertCall(acme, { source: 'google', medium: 'cpc', campaign: 'spring', disposition: 'answered', firstTimeCaller: true, landingPage: 'https://acme.example/a?utm_source=google' });
      await insertCall(acme, { source: 'google', medium: 'cpc', campaign: 'spring', disposition: 'no-answer', firstTimeCaller: false, landingPage: 'https://acme.example/a?gclid=1' });
      await insertCall(acme, { source: 'google', medium: 'organic', disposition: 'answered', firstTimeCaller: true, landingPage: 'https://acme.example/b' });
      await insertCall(acme, { source: '=HYPERLINK("x")', disposition: 'busy', arrivedAt: T0 + 1000 });
      await insertCall(acme, { source: 'bing', disposition: 'answered', arrivedAt: T0 - 86_400_000 * 2 });
      await insertCall(bravo, { source: 'google', disposition: 'answered' });
      return { acme, bravo };
    }

    it('groups calls by source over a time range with answered rate and first-time callers (JSON)', async () => {
      const { acme } = await seed();
      const url = `/v1/reports/calls?groupBy=source&accountId=${acme}&from=${new Date(T0 - 3_600_000).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`;
      const res = await app.inject({ method: 'GET', url, headers: admin });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        groupBy: 'source',
        from: new Date(T0 - 3_600_000).toISOString(),
        to: new Date(T0 + 3_600_000).toISOString(),
        rows: [
          { value: 'google', calls: 3, answered: 2, answeredRate: 0.6667, firstTimeCallers: 2 },
          { value: '=HYPERLINK("x")', calls: 1, answered: 0, answeredRate: 0, firstTimeCallers: 0 },
        ],
        totals: { value: null, calls: 4, answered: 2, answeredRate: 0.5, firstTimeCallers: 2 },
      });
      const lp = await app.inject({ method: 'GET', url: url.replace('groupBy=source', 'groupBy=landingPage'), headers: admin });
      expect(lp.json().rows).toEqual([
        { value: 'https://acme.example/a', calls: 2, answered: 1, answeredRate: 0.5, firstTimeCallers: 1 },
        { value: null, calls: 1, answered: 0, answeredRate: 0, firstTimeCallers: 0 },
        { value: 'https://acme.example/b', calls: 1, answered: 1, answeredRate: 1, firstTimeCallers: 1 },
      ]);
      const bad = await app.inject({ method: 'GET', url: '/v1/reports/calls?groupBy=city', headers: admin });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('querystring.groupBy');
    });

    it('CSV with Accept: text/csv or format=csv, formulas defused; customers see only their account', async () => {
      const { acme, bravo } = await seed();
      const range = `from=${new Date(T0 - 3_600_000).toISOString()}&to=${new Date(T0 + 3_600_000).toISOString()}`;
      const csv = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=medium&accountId=${acme}&${range}`, headers: { ...admin, accept: 'text/csv' } });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.body).toBe('medium,calls,answered,answered_rate,first_time_callers\r\ncpc,2,1,0.5,1\r\n,1,0,0,0\r\norganic,1,1,1,1\r\n(total),4,2,0.5,2\r\n');
      const bySource = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&format=csv&accountId=${acme}&${range}`, headers: admin });
      expect(bySource.body).toContain(`"'=HYPERLINK(""x"")",1,0,0,0`);

      const token = (await post<{ token: string }>(`/v1/accounts/${bravo}/tokens`, { name: 'crm' })).token;
      const customer = { authorization: `Bearer ${token}` };
      const own = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&${range}`, headers: customer });
      expect(own.json().rows).toEqual([{ value: 'google', calls: 1, answered: 1, answeredRate: 1, firstTimeCallers: 0 }]);
      const foreign = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&accountId=${acme}&${range}`, headers: customer });
      expect(foreign.json().rows).toEqual([]);
      const rules = await app.inject({ method: 'GET', url: '/v1/source-rules', headers: customer });
      expect(rules.statusCode).toBe(403);
    });
  });
});
