/**
 * Two routers on one database hand out one pool's numbers (issue 21): 200 visitors opening sessions at
 * once, half through each router's snippet API, each router with its own connection(s) to the
 * database, never get one number twice; the rest see the pool's fallback, each counted as an
 * exhaustion. On SQLite the routers are two connections to one file; on PostgreSQL two connection
 * pools to one database of the tests' server.
 */
import { and, eq, isNull } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { affected, row, rows, type Store } from '../../src/persistence/store.js';
import { twoNodesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

const ORIGIN = 'https://acme.example';
const KEY = 'pk_two_nodes_test_key_0123456789';
const POOL_SIZE = 50;
const VISITORS = 200;

/** Two stores on one database: the two routers' connections. */
const dialects = twoNodesOfBothDialects(databases);

/** An account with a snippet key, a catch-all pool of POOL_SIZE numbers and a fallback number. */
async function provision(store: Store): Promise<{ poolId: number; fallbackId: number }> {
  return store.run(
    function* ({ db, t }) {
      const account = (yield* row(db.insert(t.accounts).values({ name: 'Acme', publicKey: KEY, allowedDomains: JSON.stringify(['acme.example']), createdAt: 1, updatedAt: 1 }).returning()))!;
      const number = (did: string, poolId: number | null) =>
        row(db.insert(t.trackingNumbers).values({ accountId: account.id, did, destination: '+15550001111', poolId, createdAt: 1, updatedAt: 1 }).returning());
      const fallback = (yield* number('+15552000000', null))!;
      const pool = (yield* row(db.insert(t.numberPools).values({ accountId: account.id, name: 'website', fallbackTrackingNumberId: fallback.id, createdAt: 1, updatedAt: 1 }).returning()))!;
      for (let i = 1; i <= POOL_SIZE; i++) yield* number(`+1555200${String(i).padStart(4, '0')}`, pool.id);
      return { poolId: pool.id, fallbackId: fallback.id };
    },
    { transaction: true },
  );
}

function router(store: Store): FastifyInstance {
  return buildApp({
    // The snippet API reads and writes through `store` only; the rest of the app is not asked here.
    store,
    logger: pino({ level: 'silent' }),
    adminToken: 'two-nodes-admin-token-0123456789',
    defaultCountryCode: '1',
    telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    publicApi: { rateLimits: { perIp: { burst: 10_000, perSecond: 1_000 }, perKey: { burst: 10_000, perSecond: 1_000 } } },
  });
}

describe.each(dialects)('two routers on one %s database', (_name, open) => {
  it(`give ${VISITORS} visitors opening sessions at once at most one number each, never one number to two`, async () => {
    const [storeA, storeB] = await open();
    const { poolId } = await provision(storeA);
    const routers = [router(storeA), router(storeB)];
    const answers = await Promise.all(
      Array.from({ length: VISITORS }, async (_, i) => {
        const res = await routers[i % 2]!.inject({
          method: 'POST',
          url: '/public/v1/session',
          headers: { 'content-type': 'text/plain', origin: ORIGIN },
          payload: JSON.stringify({ key: KEY, page: 'https://acme.example/?utm_source=google' }),
          remoteAddress: `198.51.100.${i % 250}`,
        });
        expect(res.statusCode, res.body).toBe(200);
        return res.json() as { visitorId: string; number: string; heartbeatSeconds: number | null };
      }),
    );
    const pooled = answers.filter((a) => a.number !== '+15552000000');
    expect(new Set(pooled.map((a) => a.number)).size).toBe(POOL_SIZE);
    expect(pooled).toHaveLength(POOL_SIZE);
    expect(answers.filter((a) => a.number === '+15552000000')).toHaveLength(VISITORS - POOL_SIZE);
    expect(new Set(answers.map((a) => a.visitorId)).size).toBe(VISITORS);

    // What the database holds: one live hold per number, and every exhaustion counted.
    const { holds, exhausted } = await storeB.run(function* ({ db, t }) {
      const live = yield* rows(db.select({ number: t.visits.trackingNumberId }).from(t.visits).where(and(eq(t.visits.poolId, poolId), isNull(t.visits.releasedAt))));
      const pool = yield* row(db.select().from(t.numberPools).where(eq(t.numberPools.id, poolId)));
      return { holds: live.map((v) => v.number).filter((n) => n !== null), exhausted: pool?.exhaustedCount };
    });
    expect(holds).toHaveLength(POOL_SIZE);
    expect(new Set(holds).size).toBe(POOL_SIZE);
    expect(exhausted).toBe(VISITORS - POOL_SIZE);

    // A heartbeat through the other router keeps the visitor's number.
    const held = pooled[0]!;
    const index = answers.indexOf(held);
    const beat = await routers[(index + 1) % 2]!.inject({
      method: 'POST',
      url: '/public/v1/heartbeat',
      headers: { 'content-type': 'text/plain', origin: ORIGIN },
      payload: JSON.stringify({ key: KEY, visitorId: held.visitorId }),
    });
    expect(beat.json()).toMatchObject({ visitorId: held.visitorId, number: held.number });
    await Promise.all(routers.map((r) => r.close()));
    await storeA.run(function* ({ db, t }) {
      yield* affected(db.delete(t.visits));
    });
    await Promise.all([storeA.close(), storeB.close()]);
  });
});
