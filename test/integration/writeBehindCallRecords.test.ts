/**
 * Call records written behind the call on PostgreSQL (issue 21): ids known at once, each call's
 * writes applied in order, a refused record taken over by a retry getting the retry's later writes,
 * a write the server refuses dropped without holding the others, and PostgreSQL stopped for 5 s
 * while calls arrive, are answered and end: no record lost, each complete once it is back.
 */
import { asc, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createWriteBehindCallRecords } from '../../src/persistence/postgres/writeBehindCallRecords.js';
import { row, rows, type Store } from '../../src/persistence/store.js';
import { answeredFinish as answeredAt, callArrival as arrival, postgresWithAccount } from '../support/callArrivals.js';
import { usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();
const silent = pino({ level: 'silent' });

const withAccount = (): Promise<Store> => postgresWithAccount(databases);

const callsIn = (store: Store) =>
  store.run(function* ({ db, t }) {
    return yield* rows(db.select().from(t.calls).orderBy(asc(t.calls.id)));
  });

describe('call records written behind the call (PostgreSQL)', () => {
  it('know the id at once and apply each call’s writes in order; a takeover’s later writes reach the refused record', async () => {
    const store = await withAccount();
    const records = createWriteBehindCallRecords({ store, nodeId: 'node-a', logger: silent, idBlock: 8 });
    await records.ready();
    const first = records.insertArrival(arrival({ sipCallId: 'a@carrier' }), { step: 'destination', destinations: ['+15559870000'] });
    records.markAnswered(first, 2_000, { outboundChannelId: 'node-a-x.1', destination: '+15559870000' });
    records.finish(first, answeredAt(2_000));
    const refused = records.insertRefused(arrival({ sipCallId: 'b@carrier' }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_001 });
    await records.drain();
    const retry = records.insertArrival(arrival({ sipCallId: 'b@carrier', arrivedAt: 3_500 }));
    records.finish(retry, answeredAt(4_000));
    // More calls than one block of ids: the next block is fetched while the first is used.
    const more = Array.from({ length: 5 }, (_, i) => records.insertArrival(arrival({ arrivedAt: 10_000 + i })));
    await records.ready();
    more.push(...Array.from({ length: 5 }, (_, i) => records.insertArrival(arrival({ arrivedAt: 20_000 + i }))));
    expect(new Set([first, refused, retry, ...more]).size).toBe(13);
    await records.drain();
    expect(records.pending).toBe(0);
    const all = await callsIn(store);
    expect(all).toHaveLength(12);
    expect(all.find((c) => c.id === first)).toMatchObject({ finished: true, disposition: 'answered', talkSeconds: 30, outboundChannelId: 'node-a-x.1', nodeId: 'node-a' });
    // The retry took the refused record over: one row, under the refused record's id, answered.
    expect(all.filter((c) => c.sipCallId === 'b@carrier')).toEqual([expect.objectContaining({ id: refused, disposition: 'answered', arrivedAt: 3_500, finished: true })]);
    const events = await store.run(function* ({ db, t }) {
      return yield* rows(db.select({ type: t.events.type }).from(t.events).where(eq(t.events.callId, first)).orderBy(asc(t.events.id)));
    });
    expect(events.map((e) => e.type)).toEqual(['call.arrived', 'call.routed', 'call.answered', 'call.ended']);
    records.close();
    await store.close();
  });

  it('attribute arrivals as they are written: the visit holding a pool number, the first-time caller, nothing for a restricted caller', async () => {
    const store = await withAccount();
    const T = 1_000_000;
    const { numberId, visitId } = await store.run(function* ({ db, t }) {
      const pool = (yield* row(db.insert(t.numberPools).values({ accountId: 1, name: 'site', createdAt: 1, updatedAt: 1 }).returning()))!;
      const number = (yield* row(
        db.insert(t.trackingNumbers).values({ accountId: 1, did: '+15551230000', destination: '+15559870000', poolId: pool.id, source: 'website', medium: 'pool', createdAt: 1, updatedAt: 1 }).returning(),
      ))!;
      const visit = (yield* row(
        db
          .insert(t.visits)
          .values({ accountId: 1, visitorId: 'v-1', poolId: pool.id, trackingNumberId: number.id, assignedAt: T - 5_000, lastSeenAt: T - 1_000, source: 'google', medium: 'cpc', campaign: 'spring', landingPage: 'https://acme.test/?gclid=x', clickIds: '{"gclid":"x"}', firstVisitAt: T - 9_000, createdAt: T - 9_000 })
          .returning(),
      ))!;
      return { numberId: number.id, visitId: visit.id };
    });
    const records = createWriteBehindCallRecords({ store, nodeId: 'node-a', logger: silent, attributeArrivals: true });
    await records.ready();
    const ofNumber = { trackingNumberId: numberId, source: 'website', medium: 'pool', campaign: null, arrivedAt: T };
    const first = records.insertArrival(arrival({ ...ofNumber, callerNumber: '+15550000001' }));
    await records.drain();
    const again = records.insertArrival(arrival({ ...ofNumber, callerNumber: '+15550000001', arrivedAt: T + 10 }));
    const restricted = records.insertArrival(arrival({ ...ofNumber, callerNumber: '+15550000002', restricted: true }));
    await records.drain();
    const byId = new Map((await callsIn(store)).map((c) => [c.id, c]));
    expect(byId.get(first)).toMatchObject({ visitId, source: 'google', medium: 'cpc', campaign: 'spring', landingPage: 'https://acme.test/?gclid=x', clickIds: '{"gclid":"x"}', firstVisitAt: T - 9_000, firstTimeCaller: true });
    expect(byId.get(again)).toMatchObject({ visitId, firstTimeCaller: false });
    expect(byId.get(restricted)).toMatchObject({ visitId: null, source: 'website', medium: 'pool', firstTimeCaller: null, restricted: true });
    records.close();
    await store.close();
  });

  it('drop a write the database refuses (a bug) without holding the other calls', async () => {
    const store = await withAccount();
    const records = createWriteBehindCallRecords({ store, nodeId: 'node-a', logger: silent });
    await records.ready();
    const orphan = records.insertArrival(arrival({ accountId: 999 })); // no such account: a foreign key violation
    records.finish(orphan, answeredAt(2_000));
    const fine = records.insertArrival(arrival());
    records.finish(fine, answeredAt(2_000));
    await records.drain();
    expect((await callsIn(store)).map((c) => [c.id, c.finished])).toEqual([[fine, true]]);
    records.close();
    await store.close();
  });

  it('lose no record while PostgreSQL is stopped for 5 s: calls arrive, answer and end meanwhile, written when it is back', async () => {
    const store = await withAccount();
    const records = createWriteBehindCallRecords({ store, nodeId: 'node-a', logger: process.env.DEBUG_WB ? pino() : silent, retryMs: 100, maxRetryMs: 1_000 });
    await records.ready();
    const talking = [1, 2, 3].map((i) => records.insertArrival(arrival({ arrivedAt: 1_000 + i })));
    await records.drain();
    databases.server().halt();
    const downAt = Date.now();
    // While it is down: the talking calls are answered and end, new calls come and go.
    talking.forEach((id, i) => {
      records.markAnswered(id, 2_000 + i);
      records.finish(id, answeredAt(2_000 + i));
    });
    // One of them recorded meanwhile: its recording's rows wait behind its call's.
    const recording = records.insertRecording({ callId: talking[0]!, accountId: 1, channels: 'mixed', asteriskNames: ['call-x'], startedAt: 2_000 });
    expect(records.activeRecordingOf(talking[0]!)).toEqual({ id: recording, channels: 'mixed' });
    const stopped = records.markRecordingStopped(recording, 30_000);
    expect(records.activeRecordingOf(talking[0]!)).toBeUndefined();
    const during = [1, 2, 3, 4].map((i) => records.insertArrival(arrival({ arrivedAt: 5_000 + i })));
    during.forEach((id, i) => records.finish(id, { ...answeredAt(6_000 + i), disposition: 'no-answer', answeredAt: null, sipCode: 480 }));
    expect(records.pending).toBe(3 * 2 + 2 + 4 * 2);
    await new Promise((r) => setTimeout(r, 5_000));
    expect(records.pending).toBe(16);
    databases.server().resume();
    await stopped;
    await records.drain();
    const recordings = await store.run(function* ({ db, t }) {
      return yield* rows(db.select().from(t.recordings));
    });
    expect(recordings).toEqual([expect.objectContaining({ id: recording, callId: talking[0], status: 'processing', stoppedAt: 30_000, nodeId: 'node-a' })]);
    const backAfter = Date.now() - downAt;
    const all = await callsIn(store);
    expect(all.map((c) => c.id)).toEqual([...talking, ...during]);
    expect(all.every((c) => c.finished)).toBe(true);
    expect(all.filter((c) => c.disposition === 'answered').map((c) => [c.id, c.talkSeconds])).toEqual(talking.map((id) => [id, 30]));
    expect(all.find((c) => c.id === talking[0])?.recordingStatus).toBe('processing');
    expect(all.filter((c) => c.disposition === 'no-answer')).toHaveLength(4);
    expect(backAfter).toBeLessThan(10_000);
    records.close();
    await store.close();
  }, 60_000);
});
