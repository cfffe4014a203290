/**
 * Reconciliation after a restart on a shared database (issue 21): node B's router, restarting, sees
 * none of node A's channels in its own Asterisk, yet leaves node A's live calls alone and finishes
 * only its own call whose channels are gone — on SQLite and on PostgreSQL.
 */
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { CallArrival } from '../../src/persistence/callRecordRepository.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { affected, row } from '../../src/persistence/store.js';
import { createSessionTestbed } from '../unit/fakes/sessionTestbed.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

const dialects = storesOfBothDialects(databases);

const arrival = (channel: string, over: Partial<CallArrival> = {}): CallArrival => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: null, medium: null,
  campaign: null, destination: '+15559870000', arrivedAt: 1_000, inboundChannelId: channel, outboundChannelId: null, bridgeId: null, ...over,
});

describe.each(dialects)('reconciliation on one node of a shared %s database', (_name, open) => {
  it('finishes its own call whose channels are gone and leaves the other node’s live calls alone', async () => {
    const store = await open();
    await store.run(function* ({ db, t }) {
      yield* affected(db.insert(t.accounts).values({ name: 'a', createdAt: 1, updatedAt: 1 }));
    });
    const nodeA = createCallRecordStore(store, { nodeId: 'node-a' });
    const nodeB = createCallRecordStore(store, { nodeId: 'node-b' });
    // Node A: one call talking, one ringing, both in node A's Asterisk only.
    const talking = await nodeA.insertArrival(arrival('node-a-1.1', { outboundChannelId: 'node-a-1.2', bridgeId: 'cr-br-1' }));
    await nodeA.markAnswered(talking, 2_000);
    const ringing = await nodeA.insertArrival(arrival('node-a-2.1'));
    // Node B: a call that ended while its router was down (no channel left in node B's Asterisk).
    const gone = await nodeB.insertArrival(arrival('node-b-1.1', { outboundChannelId: 'node-b-1.2', bridgeId: 'cr-br-2' }));
    await nodeB.markAnswered(gone, 2_000);

    // Node B's router restarts: its Asterisk (the fake) has no channels at all.
    const tb = createSessionTestbed({ numbers: [{ did: '+15551230000' }] });
    try {
      expect(await tb.reconcile(undefined, nodeB)).toMatchObject({ resumed: 0, finished: 1 });
    } finally {
      tb.close();
    }
    const call = (id: number) => store.run(function* ({ db, t }) {
      return yield* row(db.select().from(t.calls).where(eq(t.calls.id, id)));
    });
    expect(await call(gone)).toMatchObject({ finished: true, reconciled: true, disposition: 'answered', reconciledReason: 'the router restarted after the call ended' });
    expect(await call(talking)).toMatchObject({ finished: false, answeredAt: 2_000 });
    expect(await call(ringing)).toMatchObject({ finished: false });
    expect((await nodeA.listUnfinished()).map((r) => r.id)).toEqual([talking, ringing]);
    await store.close();
  });
});
