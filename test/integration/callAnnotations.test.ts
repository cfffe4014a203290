/**
 * PATCH /v1/calls/:id: tags, notes, a value and a lead status on a call, each change a call.modified
 * event in the same transaction; /v1/calls and the calls report filter by them.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { eventView } from '../../src/events/eventView.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { eventsAfter } from '../../src/persistence/eventRepository.js';
import { affected, type Store } from '../../src/persistence/store.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { eq } from 'drizzle-orm';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'annotations-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('call annotations on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let accountId: number;

  beforeEach(async () => {
    store = await open();
    app = buildApp({ store, logger: createLogger('silent'), adminToken: ADMIN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
    accountId = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'A' } })).json<{ id: number }>().id;
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  let channel = 0;
  async function call(source = 'google'): Promise<number> {
    const records = createCallRecordStore(store);
    const arrivedAt = Date.parse('2026-12-01T10:00:00Z') + ++channel;
    const id = await records.insertArrival({
      accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source, medium: null, campaign: null,
      destination: '+15559870000', arrivedAt, inboundChannelId: `ann-${channel}`, outboundChannelId: null, bridgeId: null,
    });
    await records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: arrivedAt + 1000, endedAt: arrivedAt + 60_000 });
    return id;
  }

  const patch = (id: number, payload: object, headers = admin) => app.inject({ method: 'PATCH', url: `/v1/calls/${id}`, headers, payload });

  describe('PATCH /v1/calls/:id', () => {
    it('sets tags, notes, value and lead status, and writes call.modified with the call as it now is', async () => {
      const id = await call();
      const res = await patch(id, { tags: ['Booked', 'booked ', 'emergency'], notes: 'wants Tuesday', value: 250, leadStatus: 'good-lead' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ id, tags: ['Booked', 'emergency'], notes: 'wants Tuesday', value: 250, leadStatus: 'good-lead' });
      const modified = (await store.run(eventsAfter(0, 100))).filter((e) => e.type === 'call.modified').map(eventView);
      expect(modified).toHaveLength(1);
      expect(modified[0]?.data).toMatchObject({ changed: ['tags', 'notes', 'value', 'leadStatus'], call: { id, tags: ['Booked', 'emergency'], value: 250, leadStatus: 'good-lead' } });
      // Null clears; what is not sent stays.
      const cleared = await patch(id, { notes: null });
      expect(cleared.json()).toMatchObject({ notes: null, value: 250, tags: ['Booked', 'emergency'] });
      expect((await patch(id, { tags: [] })).json().tags).toEqual([]);
    });

    it('answers 400 naming the field, and 404 for a call that is not there', async () => {
      const id = await call();
      for (const [payload, field] of [
        [{ value: -1 }, 'value'],
        [{ leadStatus: 'maybe' }, 'leadStatus'],
        [{ tags: ['x'.repeat(51)] }, 'tags'],
        [{ tags: ['   '] }, 'tags'],
        [{ disposition: 'answered' }, 'disposition'],
        [{}, ''],
      ] as const) {
        const res = await patch(id, payload);
        expect(res.statusCode, JSON.stringify(payload)).toBe(400);
        expect(String(res.json().error.field ?? res.json().error.message)).toContain(field);
      }
      expect((await patch(999_999, { notes: 'x' })).statusCode).toBe(404);
    });

    it('filters /v1/calls and the calls report by tag and lead status', async () => {
      const a = await call('google');
      const b = await call('google');
      await call('bing');
      await patch(a, { tags: ['Booked'], leadStatus: 'good-lead' });
      await patch(b, { leadStatus: 'not-a-lead' });
      const byTag = await app.inject({ method: 'GET', url: '/v1/calls?tag=booked', headers: admin });
      expect(byTag.json<{ calls: Array<{ id: number }> }>().calls.map((c) => c.id)).toEqual([a]);
      const byLead = await app.inject({ method: 'GET', url: '/v1/calls?leadStatus=not-a-lead', headers: admin });
      expect(byLead.json<{ calls: Array<{ id: number }> }>().calls.map((c) => c.id)).toEqual([b]);
      const range = 'from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z';
      const all = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&${range}`, headers: admin });
      expect(all.json().totals.calls).toBe(3);
      const good = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&leadStatus=good-lead&${range}`, headers: admin });
      expect(good.json().rows).toEqual([{ value: 'google', calls: 1, answered: 1, answeredRate: 1, firstTimeCallers: 0 }]);
      const tagged = await app.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&tag=BOOKED&${range}`, headers: admin });
      expect(tagged.json().totals.calls).toBe(1);
    });

    it('searches /v1/calls by caller number digits (any punctuation), caller name, tag and notes, wildcards taken literally', async () => {
      const a = await call();
      const b = await call();
      const c = await call();
      await store.run(function* ({ db, t }) {
        yield* affected(db.update(t.calls).set({ callerNumber: '+15553334444', callerName: 'ACME PLUMBING' }).where(eq(t.calls.id, c)));
      });
      await patch(a, { tags: ['Water heater'] });
      await patch(b, { notes: 'Asked for a 50% discount' });
      const found = async (q: string) => {
        const res = await app.inject({ method: 'GET', url: `/v1/calls?q=${encodeURIComponent(q)}`, headers: admin });
        expect(res.statusCode, res.body).toBe(200);
        return res.json<{ calls: Array<{ id: number }> }>().calls.map((x) => x.id).sort();
      };
      expect(await found('(555) 333-4444')).toEqual([c]);
      expect(await found('333')).toEqual([c]);
      expect(await found('plumbing')).toEqual([c]);
      expect(await found('HEATER')).toEqual([a]);
      expect(await found('50%')).toEqual([b]);
      expect(await found('%')).toEqual([b]);
      expect(await found('_')).toEqual([]);
      expect(await found('7654321')).toEqual([a, b].sort());
      const bad = await app.inject({ method: 'GET', url: `/v1/calls?q=${'x'.repeat(101)}`, headers: admin });
      expect(bad.statusCode).toBe(400);
    });
  });
});
