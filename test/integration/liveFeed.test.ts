/**
 * GET /v1/live over a real socket: a snapshot of the calls in progress, then each change as it is
 * committed, scoped to what the caller may see; a reconnect with Last-Event-ID catches up; a client
 * that stops reading is dropped once the server would have to buffer too much for it.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createEventHub, type EventHub } from '../../src/events/createEventHub.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { type CallArrival } from '../../src/persistence/callRecordRepository.js';
import { eq } from 'drizzle-orm';
import { readEventStream, type StreamEvent } from '../support/readEventStream.js';
import { waitFor } from '../callflow/harness/waitFor.js';
import { affected, type Store } from '../../src/persistence/store.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'live-feed-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('the live feed on %s', (_dialect, openStore) => {
  let store: Store;
  let app: FastifyInstance;
  let hub: EventHub;
  let base: string;
  const open: IncomingMessage[] = [];

  beforeEach(async () => {
    store = await openStore();
    hub = createEventHub({ store, logger: createLogger('silent'), pollMs: 20 });
    app = buildApp({ store, logger: createLogger('silent'), adminToken: ADMIN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }), eventHub: hub });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    for (const res of open.splice(0)) res.destroy();
    hub.close();
    await app.close();
    await store.close();
  });

  interface FeedData {
    type?: string;
    data?: { call?: { id: number; finished: boolean } };
    calls?: Array<{ id: number }>;
  }

  async function connect(headers: Record<string, string>): Promise<{ res: IncomingMessage; events: Array<StreamEvent<FeedData>> }> {
    const stream = await readEventStream<FeedData>(`${base}/v1/live`, headers);
    open.push(stream.res);
    return stream;
  }

  /** The shared poll-with-deadline (test/callflow/harness/waitFor.ts), in these tests' argument order. */
  const until = (what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<unknown> => waitFor(check, { timeoutMs: ms, intervalMs: 10, message: what });

  async function account(name: string): Promise<number> {
    return (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name } })).json<{ id: number }>().id;
  }

  async function key(accountId: number, scopes: string[]): Promise<Record<string, string>> {
    const res = await app.inject({ method: 'POST', url: `/v1/accounts/${accountId}/tokens`, headers: admin, payload: { name: 'k', scopes } });
    expect(res.statusCode, res.body).toBe(201);
    return { authorization: `Bearer ${res.json<{ token: string }>().token}` };
  }

  let channel = 0;
  const arrival = (accountId: number, over: Partial<CallArrival> = {}): CallArrival => ({
    accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: 'google', medium: null, campaign: null,
    destination: '+15559870000', arrivedAt: Date.now(), inboundChannelId: `live-${++channel}`, outboundChannelId: null, bridgeId: null, ...over,
  });

  describe('the live feed', () => {
    it('starts with the calls in progress, then shows each change of a call as it is committed', async () => {
      const a = await account('A');
      const records = createCallRecordStore(store);
      const ongoing = await records.insertArrival(arrival(a));
      const { res, events } = await connect(admin);
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
      await until('the snapshot', () => events.length >= 1);
      expect(events[0]?.event).toBe('snapshot');
      expect(events[0]?.data.calls?.map((c) => c.id)).toEqual([ongoing]);

      const id = await records.insertArrival(arrival(a), { step: 'destination', destinations: ['+15559870000'] });
      await until('arrived and routed', () => events.length >= 3);
      await records.markAnswered(id, Date.now());
      await until('answered', () => events.length >= 4);
      await records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: Date.now() - 1, endedAt: Date.now() });
      await until('ended', () => events.length >= 5);
      expect(events.slice(1).map((e) => e.event)).toEqual(['call.arrived', 'call.routed', 'call.answered', 'call.ended']);
      expect(events[4]?.data.data?.call).toMatchObject({ id, finished: true });
      // SSE ids are the stream's positions, increasing.
      const ids = events.slice(1).map((e) => Number(e.id));
      expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    });

    it('shows only the accounts the key may see, recording events only with recordings:read, restricted callers only to who handles privacy', async () => {
      const a = await account('A');
      const b = await account('B');
      const analyst = await connect(await key(a, ['calls:read']));
      const owner = await connect(await key(a, ['calls:read', 'recordings:read', 'privacy:manage']));
      const records = createCallRecordStore(store);
      await records.insertArrival(arrival(b));
      await records.insertArrival(arrival(a, { restricted: true }));
      const mine = await records.insertArrival(arrival(a));
      const rec = await insertRow(store, 'recordings', { callId: mine, accountId: a, status: 'processing', channels: 'mixed', asteriskNames: '[]', startedAt: Date.now() });
      await store.run(function* ({ db, t }) {
        yield* affected(db.update(t.recordings).set({ status: 'ready', readyAt: Date.now() }).where(eq(t.recordings.id, rec.id)));
      });
      await until('the owner’s three events', () => owner.events.length >= 4);
      await new Promise((r) => setTimeout(r, 100));
      expect(owner.events.slice(1).map((e) => e.event)).toEqual(['call.arrived', 'call.arrived', 'recording.ready']);
      expect(analyst.events.slice(1).map((e) => [e.event, e.data.data?.call?.id])).toEqual([['call.arrived', mine]]);
    });

    it('catches a reconnecting client up from Last-Event-ID instead of a snapshot', async () => {
      const a = await account('A');
      const records = createCallRecordStore(store);
      const first = await connect(admin);
      const id = await records.insertArrival(arrival(a));
      await until('arrived', () => first.events.length >= 2);
      const lastId = first.events[1]?.id ?? '';
      first.res.destroy();
      await until('the server to let go', () => hub.listeners === 0);
      await records.markAnswered(id, Date.now());
      const again = await connect({ ...admin, 'last-event-id': lastId });
      await until('the missed event', () => again.events.length >= 1);
      expect(again.events.map((e) => e.event)).toEqual(['call.answered']);
    });

    it('drops a client that stops reading before it holds more than the buffer cap', async () => {
      const a = await account('A');
      const { res } = await connect(admin);
      res.pause();
      const records = createCallRecordStore(store);
      const big = 'x'.repeat(4000);
      let closed = false;
      res.on('close', () => (closed = true));
      res.socket.on('close', () => (closed = true));
      for (let i = 0; i < 40 && hub.listeners > 0; i++) {
        for (let j = 0; j < 100; j++) await records.insertArrival(arrival(a, { landingPage: big }));
        await hub.poll();
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(hub.listeners).toBe(0);
      res.resume();
      await until('the socket closed', () => closed);
    });

    it('refuses without credentials', async () => {
      const { res } = await connect({});
      expect(res.statusCode).toBe(401);
    });
  });
});
