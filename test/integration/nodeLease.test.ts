/**
 * Node leases on both dialects (issue 21): each node renews its lease; when a node's lease lapses, a
 * live node finishes that node's unfinished calls as reconciled, with the reason, and says their
 * recordings still being made are missing; its own calls and live nodes' calls are left alone.
 */
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createNodeLease } from '../../src/cluster/createNodeLease.js';
import { listNodeLeases } from '../../src/persistence/nodeLeaseRepository.js';
import { row, affected, type Store } from '../../src/persistence/store.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const silent = pino({ level: 'silent' });
const databases = usePostgresDatabases();

const dialects = storesOfBothDialects(databases);

let channel = 0;
/** A call arriving on `nodeId`, written as that node's router writes it. */
function arrive(store: Store, nodeId: string, arrivedAt: number, answeredAt: number | null = null): Promise<number> {
  return store.run(function* ({ db, t }) {
    const call = yield* row(
      db
        .insert(t.calls)
        .values({ accountId: 1, did: '+15551230000', destination: '+15559870000', arrivedAt, answeredAt, inboundChannelId: `${nodeId}-${++channel}.1`, nodeId })
        .returning(),
    );
    return call!.id;
  });
}

describe.each(dialects)('node leases on %s', (_name, open) => {
  it('finish the calls of a node whose lease lapsed, and only then, as reconciled with the reason', async () => {
    const store = await open();
    await store.run(function* ({ db, t }) {
      yield* affected(db.insert(t.accounts).values({ name: 'a', createdAt: 1, updatedAt: 1 }));
    });
    let now = 10_000;
    const lease = (nodeId: string) => createNodeLease({ store, nodeId, logger: silent, ttlMs: 10_000, clock: () => now });
    const leaseA = lease('node-a');
    const leaseB = lease('node-b');
    await leaseA.tick();
    await leaseB.tick();
    const ringing = await arrive(store, 'node-a', 9_000);
    const talking = await arrive(store, 'node-a', 8_000, 9_500);
    const own = await arrive(store, 'node-b', 9_000);
    const recording = await store.run(function* ({ db, t }) {
      const r = yield* row(db.insert(t.recordings).values({ callId: talking, accountId: 1, status: 'recording', channels: 'mixed', asteriskNames: '[]', startedAt: 9_500, nodeId: 'node-a' }).returning());
      return r!.id;
    });
    const call = (id: number) => store.run(function* ({ db, t }) {
      return yield* row(db.select().from(t.calls).where(eq(t.calls.id, id)));
    });

    now = 15_000;
    await leaseB.tick();
    expect((await call(ringing))?.finished).toBe(false);
    // node-a stops renewing (killed); its lease lapses at 20 000.
    now = 21_000;
    expect(await leaseB.tick()).toEqual({ renewed: true, finished: 2 });
    const reason = expect.stringContaining('node node-a stopped renewing its lease (last 1970-01-01T00:00:10.000Z');
    expect(await call(ringing)).toMatchObject({ finished: true, reconciled: true, disposition: 'failed', endedBy: 'system', endedAt: 10_000, ringSeconds: 1, reconciledReason: reason });
    expect(await call(talking)).toMatchObject({ finished: true, reconciled: true, disposition: 'answered', sipCode: 200, answeredAt: 9_500, endedAt: 10_000, talkSeconds: 0.5, reconciledReason: reason });
    expect((await call(own))?.finished).toBe(false);
    const lost = await store.run(function* ({ db, t }) {
      return yield* row(db.select().from(t.recordings).where(eq(t.recordings.id, recording)));
    });
    expect(lost).toMatchObject({ status: 'missing', statusReason: reason });
    // The events say so: each call's call.ended comes from the trigger of its dialect.
    const ended = await store.run(function* ({ db, t }) {
      return yield* row(db.select().from(t.events).where(eq(t.events.type, 'call.ended')));
    });
    expect(JSON.parse(ended?.payload ?? '{}')).toMatchObject({ call: { id: ringing, reconciled: 1, reconciledReason: expect.stringContaining('node-a') } });
    // Nothing left of node-a's: the next look finishes nothing; node-a back renews its lease.
    expect((await leaseB.tick()).finished).toBe(0);
    await leaseA.tick();
    expect((await store.run(listNodeLeases())).map((l) => [l.nodeId, l.expiresAt])).toEqual([['node-a', 31_000], ['node-b', 31_000]]);
    await leaseA.stop();
    await leaseB.stop();
  });

  it('say a starting node started, and keep one tick at a time', async () => {
    const store = await open();
    let now = 1_000;
    const lease = createNodeLease({ store, nodeId: 'node-a', logger: silent, ttlMs: 10_000, clock: () => now });
    const first = lease.tick();
    expect(lease.tick()).toBe(first);
    await first;
    now = 2_000;
    await lease.start();
    await lease.stop();
    expect(await store.run(listNodeLeases())).toEqual([{ nodeId: 'node-a', startedAt: 2_000, renewedAt: 2_000, expiresAt: 12_000 }]);
  });
});
