/**
 * Call records on both dialects (issue 21): the same writes through createCallRecordStore leave the
 * same rows and the same events on SQLite (the prepared repository) and PostgreSQL (store works):
 * a routed and answered call, a refusal taken over by the carrier's retry of the same SIP Call-ID, a
 * duplicated INVITE of a live call, idempotent release, and each node's unfinished calls.
 */
import { asc } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { CallArrival } from '../../src/persistence/callRecordRepository.js';
import { createCallRecordStore, type CallRecordStore } from '../../src/persistence/callRecordStore.js';
import { affected, rows, type Store } from '../../src/persistence/store.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

const dialects = storesOfBothDialects(databases);

const arrival = (over: Partial<CallArrival> = {}): CallArrival => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: 'PAT', source: 'google', medium: 'cpc',
  campaign: null, destination: '+15559870000', arrivedAt: 1_000, inboundChannelId: 'node-a-1.1', outboundChannelId: null, bridgeId: null, ...over,
});

/** Every write the router makes, in the order a day of calls makes them; what is left is compared. */
async function aDayOfCalls(store: Store) {
  await store.run(function* ({ db, t }) {
    yield* affected(db.insert(t.accounts).values({ name: 'a', createdAt: 1, updatedAt: 1 }));
  });
  const a: CallRecordStore = createCallRecordStore(store, { nodeId: 'node-a' });
  const b: CallRecordStore = createCallRecordStore(store, { nodeId: 'node-b' });
  // Routed and answered, first-time caller, through a route plan.
  const answered = await a.insertArrival(arrival({ firstTimeCaller: true, sipCallId: 'call-1@carrier' }), { step: 'front desk', destinations: ['+15559870000'] });
  await a.markAnswered(answered, 3_000, { outboundChannelId: 'node-a-2.1', destination: '+15559870000' });
  await a.finish(answered, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: 3_000, endedAt: 63_000, route: { step: 'front desk', answeredDestination: '+15559870000', tried: [{ step: 'front desk', target: '+15559870000', result: 'answered' }] } });
  // Release is idempotent: a second finish changes nothing.
  await a.finish(answered, { disposition: 'failed', sipCode: null, hangupCause: null, endedBy: 'system', answeredAt: null, endedAt: 99_000 });
  // Refused on node-a (over capacity), retried by the carrier on node-b with the same Call-ID.
  const refused = await a.insertRefused(arrival({ inboundChannelId: 'node-a-3.1', sipCallId: 'call-2@carrier', arrivedAt: 5_000 }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 5_002 });
  const retried = await b.insertArrival(arrival({ inboundChannelId: 'node-b-1.1', sipCallId: 'call-2@carrier', arrivedAt: 7_000, dialplanHandOff: true }));
  // The refusal's line read again adds nothing.
  const again = await b.insertRefused(arrival({ inboundChannelId: 'node-a-3.1', sipCallId: 'call-2@carrier', arrivedAt: 5_000 }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 5_002 });
  // A duplicated INVITE of the live call: a record of its own, without the Call-ID.
  const duplicate = await a.insertArrival(arrival({ inboundChannelId: 'node-a-4.1', sipCallId: 'call-2@carrier', arrivedAt: 7_500 }));
  const nameless = await createCallRecordStore(store).insertArrival(arrival({ inboundChannelId: 'old-1.1', arrivedAt: 500, restricted: true }));
  return {
    ids: { answered, refused, retried, again, duplicate, nameless },
    unfinishedOfA: (await a.listUnfinished()).map((r) => r.id),
    unfinishedOfB: (await b.listUnfinished()).map((r) => r.id),
    onlyB: (await a.listUnfinishedOf('node-b')).map((r) => r.id),
    byChannel: (await b.findByInboundChannel('node-b-1.1'))?.id,
    rows: await Promise.all([answered, retried, duplicate, nameless].map((id) => a.get(id))),
    events: await store.run(function* ({ db, t }) {
      const all = yield* rows(db.select().from(t.events).orderBy(asc(t.events.id)));
      return all.map((e) => ({ type: e.type, callId: e.callId, occurredAt: e.occurredAt, payload: JSON.parse(e.payload) as unknown }));
    }),
  };
}

describe('call records on both dialects', () => {
  it('keep one record per SIP attempt, release once, and leave the same rows and events', async () => {
    const results = [];
    for (const [, open] of dialects) results.push(await aDayOfCalls(await open()));
    const [sqlite, pg] = results;
    expect(sqlite!.ids.retried).toBe(sqlite!.ids.refused);
    expect(sqlite!.ids.again).toBe(sqlite!.ids.refused);
    expect(sqlite!.unfinishedOfA).toEqual([sqlite!.ids.duplicate, sqlite!.ids.nameless]);
    expect(sqlite!.onlyB).toEqual([sqlite!.ids.retried]);
    expect(sqlite!.unfinishedOfB).toEqual([sqlite!.ids.retried, sqlite!.ids.nameless]);
    expect(sqlite!.rows[0]).toMatchObject({ finished: true, disposition: 'answered', ringSeconds: 2, talkSeconds: 60, routeStep: 'front desk', firstTimeCaller: true, nodeId: 'node-a', sipCallId: 'call-1@carrier' });
    expect(sqlite!.rows[1]).toMatchObject({ finished: false, nodeId: 'node-b', sipCallId: 'call-2@carrier', disposition: null, arrivedAt: 7_000, dialplanHandOff: true });
    expect(sqlite!.rows[2]).toMatchObject({ sipCallId: null, nodeId: 'node-a' });
    expect(sqlite!.events.map((e) => e.type)).toEqual(['call.arrived', 'call.routed', 'call.answered', 'call.ended', 'call.arrived', 'call.ended', 'call.arrived', 'call.arrived']);
    expect(pg).toEqual(sqlite);
  });
});
