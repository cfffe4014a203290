/**
 * A node killed with -9 (issue 21): a process renewing its lease in PostgreSQL, with a call talking
 * and one ringing, is killed outright; the other node finishes both calls as reconciled within the
 * lease time (NODE_LEASE_SECONDS, 3 s here) and one of its renewals.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createNodeLease } from '../../src/cluster/createNodeLease.js';
import { affected, postgresStore, row } from '../../src/persistence/store.js';
import { usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();
const TTL_MS = 3_000;

describe('a node killed with -9 on PostgreSQL', () => {
  it('has its calls finished by the other node within the lease time', async () => {
    const db = await databases.fresh();
    const store = postgresStore(db);
    await store.run(function* ({ db: d, t }) {
      yield* affected(d.insert(t.accounts).values({ name: 'a', createdAt: 1, updatedAt: 1 }));
    });
    const nodeA = spawn('npx', ['tsx', 'test/support/leaseNode.ts'], {
      env: { ...process.env, CALLROUTE_TEST_DB_URL: db.url, NODE_ID: 'node-a', NODE_LEASE_MS: String(TTL_MS) },
      stdio: ['ignore', 'pipe', 'inherit'],
      // Its own process group, so the kill reaches npx, tsx and node alike.
      detached: true,
    });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: nodeA.stdout }).once('line', resolve);
        nodeA.once('exit', (code) => reject(new Error(`node A exited (${code}) before its calls were written`)));
      });
      const { talking, ringing } = JSON.parse(first) as { talking: number; ringing: number };
      const nodeB = createNodeLease({ store, nodeId: 'node-b', logger: pino({ level: 'silent' }), ttlMs: TTL_MS });
      await nodeB.start();
      const call = (id: number) => store.run(function* ({ db: d, t }) {
        return yield* row(d.select().from(t.calls).where(eq(t.calls.id, id)));
      });
      // While node A lives, its calls are its own.
      await new Promise((r) => setTimeout(r, TTL_MS + 1_000));
      expect((await call(talking))?.finished).toBe(false);

      // The whole group gets SIGKILL: nothing can clean up or say goodbye.
      process.kill(-nodeA.pid!, 'SIGKILL');
      const killedAt = Date.now();
      while (!((await call(talking))?.finished && (await call(ringing))?.finished)) {
        if (Date.now() - killedAt > TTL_MS * 3) throw new Error('node B did not finish node A’s calls');
        await new Promise((r) => setTimeout(r, 50));
      }
      const tookMs = Date.now() - killedAt;
      expect(await call(talking)).toMatchObject({ finished: true, reconciled: true, disposition: 'answered', reconciledReason: expect.stringContaining('node node-a stopped renewing its lease') });
      expect(await call(ringing)).toMatchObject({ finished: true, reconciled: true, disposition: 'failed' });
      // The lease lapses at most TTL after node A's last renewal; node B looks every TTL/5.
      expect(tookMs).toBeLessThan(TTL_MS + TTL_MS / 5 + 500);
      await nodeB.stop();
    } finally {
      try {
        process.kill(-nodeA.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
      await store.close();
    }
  }, 60_000);
});
