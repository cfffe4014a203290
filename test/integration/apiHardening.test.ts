/**
 * The API against hostile or careless clients: security headers on every answer, a body limit,
 * per-IP rate limits of requests and of failed sign-ins (behind a trusted reverse proxy, per
 * client), and route schemas fuzzed with arbitrary bodies: never a 500, always a coded error.
 */
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiRateLimits } from '../../src/api/apiGuards.js';
import { buildApp } from '../../src/api/buildApp.js';
import type { Store } from '../../src/persistence/store.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('API hardening on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let clock = 1_800_000_000_000;

  async function start(opts: { trustProxy?: string; apiRateLimits?: ApiRateLimits } = {}): Promise<FastifyInstance> {
    store = await open();
    app = buildApp({
      store: store,
      logger: pino({ level: 'silent' }),
      adminToken: TOKEN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      now: () => clock,
      ...opts,
    });
    return app;
  }

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  describe('security headers', () => {
    it('every answer, success or error, public or not, says nosniff, no framing, no referrer, no caching', async () => {
      await start();
      for (const req of [
        { method: 'GET' as const, url: '/health' },
        { method: 'GET' as const, url: '/v1/calls', headers: auth },
        { method: 'GET' as const, url: '/v1/calls' },
        { method: 'GET' as const, url: '/nowhere' },
      ]) {
        const res = await app.inject(req);
        expect(res.headers['x-content-type-options'], req.url).toBe('nosniff');
        expect(res.headers['x-frame-options']).toBe('DENY');
        expect(res.headers['referrer-policy']).toBe('no-referrer');
        expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
        expect(res.headers['cache-control']).toBe('no-store');
        expect(res.headers['strict-transport-security']).toBeUndefined();
      }
    });

    it('HSTS when a trusted proxy says the client came over HTTPS; an untrusted X-Forwarded-Proto changes nothing', async () => {
      await start({ trustProxy: 'loopback' });
      const viaProxy = await app.inject({ method: 'GET', url: '/health', headers: { 'x-forwarded-proto': 'https' } });
      expect(viaProxy.headers['strict-transport-security']).toBe('max-age=31536000');
      await app.close();
      await store.close();
      await start();
      const direct = await app.inject({ method: 'GET', url: '/health', headers: { 'x-forwarded-proto': 'https' } });
      expect(direct.headers['strict-transport-security']).toBeUndefined();
    });
  });

  describe('body limit', () => {
    it('a JSON body over 256 KiB gets 413 with a coded error, and nothing is written', async () => {
      await start();
      const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(300_000) }) });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('CR_ERR_VALIDATION');
      const list = await app.inject({ method: 'GET', url: '/v1/accounts', headers: auth });
      expect(list.json().accounts).toEqual([]);
    });
  });

  describe('rate limits', () => {
    const limits: ApiRateLimits = { requests: { burst: 5, perSecond: 1 }, failedAuth: { burst: 3, perSecond: 1 / 20 } };

    it('failed sign-ins: past the burst, 429 with Retry-After, even with the right token, until one is back', async () => {
      await start({ apiRateLimits: { ...limits, requests: { burst: 100, perSecond: 100 } } });
      for (let i = 0; i < 3; i++) {
        expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: { authorization: `Bearer wrong-${i}` } })).statusCode).toBe(401);
      }
      const blocked = await app.inject({ method: 'GET', url: '/v1/calls', headers: { authorization: 'Bearer wrong-4' } });
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().error.code).toBe('CR_ERR_RATE_LIMITED');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(429);
      clock += 21_000;
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(200);
      // Public routes are not behind the sign-in limit.
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });

    it('no credential at all, or a session that ended, is no guess: a signed-out browser is never locked out', async () => {
      await start({ apiRateLimits: { ...limits, requests: { burst: 100, perSecond: 100 } } });
      for (let i = 0; i < 10; i++) {
        expect((await app.inject({ method: 'GET', url: '/v1/auth/me' })).statusCode).toBe(401);
      }
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(200);
      // A made-up session id is a guess and spends the budget as a wrong token does.
      for (let i = 0; i < 3; i++) {
        expect((await app.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `callroute_session=guess-${i}` } })).statusCode).toBe(401);
      }
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(429);
    });

    it('requests: past the burst, 429 until the bucket refills', async () => {
      await start({ apiRateLimits: limits });
      for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(200);
      const res = await app.inject({ method: 'GET', url: '/v1/calls', headers: auth });
      expect(res.statusCode).toBe(429);
      expect(res.headers['retry-after']).toBe('1');
      clock += 1_000;
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: auth })).statusCode).toBe(200);
    });

    it('behind a trusted proxy each client has its own limits; without trust, X-Forwarded-For is ignored', async () => {
      await start({ trustProxy: 'loopback', apiRateLimits: limits });
      const from = (ip: string, token: string) => app.inject({ method: 'GET', url: '/v1/calls', headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } });
      for (let i = 0; i < 4; i++) await from('203.0.113.9', 'wrong');
      expect((await from('203.0.113.9', TOKEN)).statusCode).toBe(429);
      expect((await from('198.51.100.7', TOKEN)).statusCode).toBe(200);
      await app.close();
      await store.close();
      await start({ apiRateLimits: limits });
      for (let i = 0; i < 4; i++) await from('203.0.113.9', 'wrong');
      expect((await from('198.51.100.7', TOKEN)).statusCode).toBe(429);
    });
  });

  describe('route schemas, fuzzed', () => {
    // Every write route, with bodies of any shape: objects with the routes' own field names and
    // random values, and arbitrary JSON values.
    const FIELDS = ['name', 'accountId', 'did', 'destination', 'ringTimeoutSeconds', 'recordingEnabled', 'recordingChannels', 'source', 'enabled', 'steps', 'final', 'whisper', 'timeZone', 'routePlanId', 'strategy', 'destinations', 'target', 'countries', 'limit', 'from', 'to', 'pattern', 'numbers', 'allowedDomains', 'ttlSeconds', 'medium', 'campaign', 'prefixes'];
    const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.anything(), { maxLength: 3 }), fc.dictionary(fc.constantFrom(...FIELDS), fc.anything(), { maxKeys: 4 }));
    const body = fc.oneof(fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 8 }), fc.jsonValue());
    const WRITES: { method: 'POST' | 'PATCH' | 'PUT'; url: string }[] = [
      { method: 'POST', url: '/v1/accounts' },
      { method: 'PATCH', url: '/v1/accounts/1' },
      { method: 'POST', url: '/v1/accounts/1/tokens' },
      { method: 'POST', url: '/v1/tracking-numbers' },
      { method: 'PATCH', url: '/v1/tracking-numbers/1' },
      { method: 'POST', url: '/v1/route-plans' },
      { method: 'PUT', url: '/v1/route-plans/1' },
      { method: 'PATCH', url: '/v1/route-plans/1' },
      { method: 'POST', url: '/v1/source-rules' },
      { method: 'PATCH', url: '/v1/source-rules/1' },
      { method: 'POST', url: '/v1/pools' },
      { method: 'PATCH', url: '/v1/pools/1' },
      { method: 'PATCH', url: '/v1/accounts/1/snippet' },
      { method: 'PUT', url: '/v1/dial-allowlist' },
      { method: 'POST', url: '/v1/recordings/1/link' },
    ];

    /**
     * Rows inserted, updated or deleted on the database connection so far (SQLite's total_changes());
     * PostgreSQL has no such count a test can read at once, so there the fuzz checks the answers only.
     */
    const rowsWritten = (): number => (store.dialect === 'sqlite' ? (store.db.$client.prepare('SELECT total_changes() AS n').get() as { n: number }).n : 0);

    it('never a 500 and never a partial write: every answer to a bad body is a 4xx with a stable error code that changed no row, a 400 naming the field when there is one', async () => {
      await start({ apiRateLimits: { requests: { burst: 1e9, perSecond: 1e9 }, failedAuth: { burst: 1e9, perSecond: 1e9 } } });
      expect((await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: { name: 'Acme' } })).statusCode).toBe(201);
      const rejectedWithField = new Set<string>();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...WRITES), body, async (route, payload) => {
          const writesBefore = rowsWritten();
          const res = await app.inject({ method: route.method, url: route.url, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
          expect(res.statusCode, `${route.method} ${route.url} ${JSON.stringify(payload)} → ${res.body}`).toBeLessThan(500);
          if (res.statusCode >= 400) {
            expect(res.json().error.code, res.body).toMatch(/^CR_ERR_[A-Z_]+$/);
            // No partial write: a refused request changed no row.
            expect(rowsWritten(), `${route.method} ${route.url} ${JSON.stringify(payload)} → ${res.statusCode} wrote rows`).toBe(writesBefore);
          }
          if (res.statusCode === 400 && res.json().error.field) rejectedWithField.add(`${route.method} ${route.url}`);
        }),
        { numRuns: 1500, seed: 20261206 },
      );
      // The fuzz reached every route's validation (not only 404s), and its 400s name the field.
      expect([...rejectedWithField].sort()).toEqual(WRITES.map((r) => `${r.method} ${r.url}`).sort());
    });
  });
});
