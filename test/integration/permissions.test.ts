import type { FastifyInstance, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { checkRoutePermission, operatorPrincipal } from '../../src/api/principal.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';

const ADMIN = 'test-admin-token-0123456789';

/**
 * Every route of the app and what it needs, written out by hand: a route added without a line here
 * fails the walk below, so a new route's permission is a decision someone made and reviewed.
 */
export const EXPECTED_ROUTES: Record<string, string> = {
  'GET /health': 'public',
  'HEAD /health': 'public',
  'GET /r/:id': 'public',
  'HEAD /r/:id': 'public',
  'GET /snippet.js': 'public',
  'HEAD /snippet.js': 'public',
  'OPTIONS /public/v1/*': 'public',
  'POST /public/v1/session': 'public',
  'POST /public/v1/heartbeat': 'public',
  'POST /v1/accounts': 'accounts:create',
  'GET /v1/accounts': 'accounts:read',
  'HEAD /v1/accounts': 'accounts:read',
  'GET /v1/accounts/:id': 'accounts:read',
  'HEAD /v1/accounts/:id': 'accounts:read',
  'PATCH /v1/accounts/:id': 'accounts:write',
  'POST /v1/accounts/:id/tokens': 'keys:manage',
  'GET /v1/accounts/:id/tokens': 'keys:manage',
  'HEAD /v1/accounts/:id/tokens': 'keys:manage',
  'DELETE /v1/accounts/:id/tokens/:tokenId': 'keys:manage',
  'POST /v1/tracking-numbers': 'configuration:write',
  'GET /v1/tracking-numbers': 'configuration:read',
  'HEAD /v1/tracking-numbers': 'configuration:read',
  'GET /v1/tracking-numbers/:id': 'configuration:read',
  'HEAD /v1/tracking-numbers/:id': 'configuration:read',
  'PATCH /v1/tracking-numbers/:id': 'configuration:write',
  'POST /v1/tracking-numbers/:id/disable': 'configuration:write',
  'POST /v1/tracking-numbers/:id/enable': 'configuration:write',
  'GET /v1/calls': 'calls:read',
  'HEAD /v1/calls': 'calls:read',
  'GET /v1/calls/:id': 'calls:read',
  'HEAD /v1/calls/:id': 'calls:read',
  'GET /v1/calls/:id/recordings': 'recordings:read',
  'HEAD /v1/calls/:id/recordings': 'recordings:read',
  'GET /v1/recordings/:id': 'recordings:read',
  'HEAD /v1/recordings/:id': 'recordings:read',
  'GET /v1/recordings/:id/audio': 'recordings:listen',
  'HEAD /v1/recordings/:id/audio': 'recordings:listen',
  'POST /v1/recordings/:id/link': 'recordings:listen',
  'DELETE /v1/recordings/:id': 'recordings:delete',
  'POST /v1/recordings/purge': 'installation',
  'POST /v1/announcements': 'configuration:write',
  'GET /v1/announcements': 'configuration:read',
  'HEAD /v1/announcements': 'configuration:read',
  'GET /v1/announcements/:id': 'configuration:read',
  'HEAD /v1/announcements/:id': 'configuration:read',
  'DELETE /v1/announcements/:id': 'configuration:write',
  'POST /v1/source-rules': 'configuration:write',
  'GET /v1/source-rules': 'configuration:read',
  'HEAD /v1/source-rules': 'configuration:read',
  'GET /v1/source-rules/:id': 'configuration:read',
  'HEAD /v1/source-rules/:id': 'configuration:read',
  'PATCH /v1/source-rules/:id': 'configuration:write',
  'DELETE /v1/source-rules/:id': 'configuration:write',
  'POST /v1/pools': 'configuration:write',
  'GET /v1/pools': 'configuration:read',
  'HEAD /v1/pools': 'configuration:read',
  'GET /v1/pools/:id': 'configuration:read',
  'HEAD /v1/pools/:id': 'configuration:read',
  'PATCH /v1/pools/:id': 'configuration:write',
  'DELETE /v1/pools/:id': 'configuration:write',
  'GET /v1/pools/:id/utilization': 'reports:read',
  'HEAD /v1/pools/:id/utilization': 'reports:read',
  'GET /v1/accounts/:id/snippet': 'configuration:read',
  'HEAD /v1/accounts/:id/snippet': 'configuration:read',
  'PATCH /v1/accounts/:id/snippet': 'configuration:write',
  'POST /v1/accounts/:id/snippet/key': 'configuration:write',
  'GET /v1/reports/calls': 'reports:read',
  'HEAD /v1/reports/calls': 'reports:read',
  'GET /v1/reports/pools': 'reports:read',
  'HEAD /v1/reports/pools': 'reports:read',
  'POST /v1/route-plans': 'configuration:write',
  'GET /v1/route-plans': 'configuration:read',
  'HEAD /v1/route-plans': 'configuration:read',
  'GET /v1/route-plans/:id': 'configuration:read',
  'HEAD /v1/route-plans/:id': 'configuration:read',
  'PUT /v1/route-plans/:id': 'configuration:write',
  'PATCH /v1/route-plans/:id': 'configuration:write',
  'DELETE /v1/route-plans/:id': 'configuration:write',
  'GET /v1/dial-allowlist': 'installation',
  'HEAD /v1/dial-allowlist': 'installation',
  'PUT /v1/dial-allowlist': 'installation',
};

let db: Db;
let app: FastifyInstance;

function build(): FastifyInstance {
  return buildApp({
    db,
    logger: pino({ level: 'silent' }),
    adminToken: ADMIN,
    defaultCountryCode: '1',
    telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
  });
}

beforeEach(() => {
  db = openDatabase(':memory:');
  app = build();
});

afterEach(async () => {
  await app.close();
  db.$client.close();
});

describe('the permission wall', () => {
  it('knows every registered route and the permission it needs, exactly as written in this test', async () => {
    await app.ready();
    const got = Object.fromEntries(app.registeredRoutes.map((r) => [`${r.method} ${r.url}`, r.permission]));
    expect(got).toEqual(EXPECTED_ROUTES);
  });

  it('refuses to start with a /v1 route that names no permission, or a route outside /v1 not marked public', async () => {
    const withBareV1 = build();
    void withBareV1.register(
      async (v1) => {
        v1.get('/forgotten', async () => ({ secret: true }));
      },
      { prefix: '/v1' },
    );
    await expect(withBareV1.ready()).rejects.toThrow(/GET \/v1\/forgotten names no permission/);
    await withBareV1.close().catch(() => undefined);

    const withBareRoot = build();
    // Straight on the root, the route is refused as it is added.
    expect(() => withBareRoot.get('/debug', async () => ({ secret: true }))).toThrow(/GET \/debug names no permission/);
    await withBareRoot.close().catch(() => undefined);
  });

  it('answers 403 to everybody, the operator too, should a route without a known permission get past registration', () => {
    for (const config of [{}, { permission: 'calls:raed' }]) {
      const request = { routeOptions: { config }, principal: operatorPrincipal({ kind: 'admin-token' }) } as unknown as FastifyRequest;
      expect(() => checkRoutePermission(request)).toThrow(expect.objectContaining({ code: 'CR_ERR_FORBIDDEN' }));
    }
  });
});
