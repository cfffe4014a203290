/**
 * Webhooks through the real app, the real dispatcher and a receiving HTTP server on loopback (allowed
 * by WEBHOOK_ALLOWED_NETWORKS as an operator would for a receiver on the box): deliveries are signed,
 * in order per call, retried with the same idempotency key until they succeed, logged, redelivered on
 * request; a private address is refused when saved; an endpoint that keeps failing is disabled and the
 * account told.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../src/integrations/webhooks/createWebhookDispatcher.js';
import { verifySignature } from '../../src/integrations/webhooks/webhookSignature.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { type CallArrival } from '../../src/persistence/callRecordRepository.js';
import { waitFor } from '../callflow/harness/waitFor.js';
import type { Store } from '../../src/persistence/store.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { allRows } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'webhooks-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; data: { call?: { id: number; disposition: string | null } } };
}


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('webhooks on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let receiver: Server;
  let receiverUrl: string;
  let received: Received[];
  /** What the receiver answers next: a status per request, then 200. */
  let answers: number[];
  let dispatcher: WebhookDispatcher | undefined;

  async function startDispatcher(over: Partial<{ retryHours: number; retryBaseMs: number }> = {}): Promise<WebhookDispatcher> {
    dispatcher = createWebhookDispatcher({
      store,
      logger: createLogger('silent'),
      settings: { timeoutMs: 2_000, retryHours: 1, retryBaseMs: 20, concurrency: 8, allowedNetworks: ['127.0.0.1/32'], ...over },
      pollMs: 20,
    });
    await dispatcher.start();
    return dispatcher;
  }

  beforeEach(async () => {
    store = await open();
    app = buildApp({
      store,
      logger: createLogger('silent'),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      webhooks: { allowedNetworks: ['127.0.0.1/32'], retryHours: 1 },
    });
    received = [];
    answers = [];
    receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body, json: JSON.parse(body) as Received['json'] });
        res.statusCode = answers.shift() ?? 200;
        res.end(res.statusCode === 200 ? 'ok' : 'receiver is down');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  });

  afterEach(async () => {
    await dispatcher?.stop();
    dispatcher = undefined;
    await app.close();
    await new Promise<void>((r) => receiver.close(() => r()));
    await store.close();
  });

  async function account(name = 'Acme'): Promise<number> {
    const res = await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name } });
    expect(res.statusCode).toBe(201);
    return res.json<{ id: number }>().id;
  }

  async function endpoint(accountId: number, eventTypes: string[] = ['*'], url = receiverUrl) {
    const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { accountId, url, eventTypes } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<{ id: number; secret: string }>();
  }

  let channel = 0;
  function arrival(accountId: number, over: Partial<CallArrival> = {}): CallArrival {
    return {
      accountId,
      trackingNumberId: null,
      did: '+15551230000',
      callerNumber: '+15557654321',
      callerName: null,
      source: 'google',
      medium: 'cpc',
      campaign: null,
      destination: '+15559870000',
      arrivedAt: Date.now(),
      inboundChannelId: `chan-${++channel}`,
      outboundChannelId: null,
      bridgeId: null,
      ...over,
    };
  }

  /** A whole call as the router writes it: arrived and routed, answered, ended. */
  async function placeCall(accountId: number, over: Partial<CallArrival> = {}): Promise<number> {
    const records = createCallRecordStore(store);
    const a = arrival(accountId, over);
    const id = await records.insertArrival(a, { step: 'destination', destinations: [a.destination ?? ''] });
    await records.markAnswered(id, a.arrivedAt + 1000);
    await records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: a.arrivedAt + 1000, endedAt: a.arrivedAt + 5000 });
    return id;
  }

  /** The shared poll-with-deadline (test/callflow/harness/waitFor.ts), in these tests' argument order. */
  const until = (what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<unknown> => waitFor(check, { timeoutMs: ms, intervalMs: 10, message: what });

  describe('webhook endpoints', () => {
    it('refuses private, loopback and link-local addresses the operator has not allowed, and plain http to public ones', async () => {
      const accountId = await account();
      for (const url of ['http://10.1.2.3/hook', 'https://192.168.1.10/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/hook', 'https://[::ffff:10.0.0.1]/x', 'https://127.0.0.2/hook']) {
        const res = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { accountId, url, eventTypes: ['*'] } });
        expect(res.statusCode, url).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'CR_ERR_WEBHOOK_ADDRESS_REFUSED', field: 'body.url' });
      }
      const plain = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { accountId, url: 'http://93.184.216.34/hook', eventTypes: ['*'] } });
      expect(plain.statusCode).toBe(400);
      expect(plain.json().error.message).toMatch(/https/);
      const creds = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { accountId, url: 'https://u:p@93.184.216.34/hook', eventTypes: ['*'] } });
      expect(creds.statusCode).toBe(400);
      const badType = await app.inject({ method: 'POST', url: '/v1/webhooks', headers: admin, payload: { accountId, url: receiverUrl, eventTypes: ['call.exploded'] } });
      expect(badType.statusCode).toBe(400);
      expect(badType.json().error.field).toMatch(/eventTypes/);
    });

    it('shows the secret once, and never another tenant’s endpoint', async () => {
      const a = await account('A');
      const b = await account('B');
      const created = await endpoint(a);
      expect(created.secret).toMatch(/^whsec_/);
      const shown = await app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}`, headers: admin });
      expect(shown.json()).not.toHaveProperty('secret');
      const key = await app.inject({ method: 'POST', url: `/v1/accounts/${b}/tokens`, headers: admin, payload: { name: 'crm', scopes: ['integrations:manage'] } });
      expect(key.statusCode, key.body).toBe(201);
      const other = { authorization: `Bearer ${key.json<{ token: string }>().token}` };
      expect((await app.inject({ method: 'GET', url: `/v1/webhooks/${created.id}`, headers: other })).statusCode).toBe(404);
      expect((await app.inject({ method: 'GET', url: '/v1/webhooks', headers: other })).json()).toEqual({ endpoints: [] });
    });
  });

  describe('deliveries', () => {
    it('delivers a call’s events in order, signed, with the event id as idempotency key', async () => {
      const accountId = await account();
      const { secret } = await endpoint(accountId);
      await startDispatcher();
      const callId = await placeCall(accountId);
      await until('four deliveries', () => received.length >= 4);
      expect(received.map((r) => r.json.type)).toEqual(['call.arrived', 'call.routed', 'call.answered', 'call.ended']);
      for (const r of received) {
        expect(verifySignature(String(r.headers['callroute-signature']), r.body, secret, Math.floor(Date.now() / 1000))).toBe(true);
        expect(verifySignature(String(r.headers['callroute-signature']), r.body, 'whsec_wrong', Math.floor(Date.now() / 1000))).toBe(false);
        expect(r.headers['idempotency-key']).toBe(r.json.id);
        expect(r.headers['callroute-event-id']).toBe(r.json.id);
        expect(r.json.data.call?.id).toBe(callId);
      }
      expect(received[3]?.json.data.call?.disposition).toBe('answered');
      // An old signature is refused by a receiver that checks the timestamp (replay window).
      const first = received[0] as Received;
      expect(verifySignature(String(first.headers['callroute-signature']), first.body, secret, Math.floor(Date.now() / 1000) + 3600)).toBe(false);
    });

    it('retries a failing receiver with backoff: after five failures the sixth attempt delivers, and nothing comes again', async () => {
      const accountId = await account();
      const ep = await endpoint(accountId, ['call.ended']);
      answers = [500, 500, 503, 500, 502];
      await startDispatcher();
      await placeCall(accountId);
      await until('six attempts', () => received.length >= 6);
      await new Promise((r) => setTimeout(r, 300));
      expect(received).toHaveLength(6);
      const keys = new Set(received.map((r) => r.headers['idempotency-key']));
      expect(keys.size).toBe(1);
      expect(received.map((r) => r.headers['callroute-delivery-attempt'])).toEqual(['1', '2', '3', '4', '5', '6']);
      const log = await app.inject({ method: 'GET', url: `/v1/webhooks/${ep.id}/deliveries`, headers: admin });
      const [delivery] = log.json<{ deliveries: Array<{ status: string; attempts: number; log: Array<{ statusCode: number; responseExcerpt: string; latencyMs: number }> }> }>().deliveries;
      expect(delivery).toMatchObject({ status: 'delivered', attempts: 6 });
      expect(delivery?.log.map((a) => a.statusCode)).toEqual([500, 500, 503, 500, 502, 200]);
      expect(delivery?.log[0]?.responseExcerpt).toBe('receiver is down');
    });

    it('keeps a call’s order while an earlier event is retried: ended waits for answered', async () => {
      const accountId = await account();
      await endpoint(accountId, ['call.answered', 'call.ended']);
      answers = [500, 500];
      await startDispatcher();
      await placeCall(accountId);
      await until('answered and ended delivered', () => received.filter((r) => r.json.type === 'call.ended').length >= 1);
      expect(received.map((r) => r.json.type)).toEqual(['call.answered', 'call.answered', 'call.answered', 'call.ended']);
    });

    it('redelivers one event, or a time range, with the same event id', async () => {
      const accountId = await account();
      const ep = await endpoint(accountId, ['call.ended']);
      const d = await startDispatcher();
      await placeCall(accountId);
      await until('the first delivery', () => received.length >= 1);
      const eventId = received[0]?.json.id;
      const one = await app.inject({ method: 'POST', url: `/v1/webhooks/${ep.id}/redeliver`, headers: admin, payload: { eventId } });
      expect(one.statusCode).toBe(202);
      expect(one.json()).toEqual({ queued: 1 });
      d.poke();
      await until('the redelivery', () => received.length >= 2);
      expect(received[1]?.json.id).toBe(eventId);
      const range = await app.inject({
        method: 'POST',
        url: `/v1/webhooks/${ep.id}/redeliver`,
        headers: admin,
        payload: { from: new Date(Date.now() - 60_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
      });
      // The endpoint takes call.ended only, but a range redelivers what the account's stream holds.
      expect(range.json<{ queued: number }>().queued).toBeGreaterThanOrEqual(4);
      const missing = await app.inject({ method: 'POST', url: `/v1/webhooks/${ep.id}/redeliver`, headers: admin, payload: { eventId: '0'.repeat(32) } });
      expect(missing.statusCode).toBe(404);
    });

    it('tells nobody of a restricted caller’s calls', async () => {
      const accountId = await account();
      await endpoint(accountId, ['call.ended']);
      await startDispatcher();
      await placeCall(accountId, { restricted: true });
      await placeCall(accountId);
      await until('one delivery', () => received.length >= 1);
      await new Promise((r) => setTimeout(r, 200));
      expect(received).toHaveLength(1);
    });

    it('disables an endpoint that keeps failing past the retry time, and tells the account', async () => {
      const accountId = await account();
      const failing = await endpoint(accountId, ['call.ended']);
      const other = await endpoint(accountId, ['webhook.endpoint-disabled'], receiverUrl.replace('/hooks', '/other'));
      answers = Array.from({ length: 100 }, () => 500);
      // A retry window of about half a second.
      await startDispatcher({ retryHours: 0.5 / 3600, retryBaseMs: 50 });
      await placeCall(accountId);
      await until('the endpoint disabled', async () => (await allRows(store, 'events')).filter((e) => e.type === 'webhook.endpoint-disabled').length === 1, 10_000);
      const shown = await app.inject({ method: 'GET', url: `/v1/webhooks/${failing.id}`, headers: admin });
      expect(shown.json()).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/failed/) });
      expect((await allRows(store, 'auditLog')).filter((e) => e.action === 'webhook.endpoint-disabled')).toHaveLength(1);
      answers = [];
      await until('the other endpoint told', () => received.some((r) => r.json.type === 'webhook.endpoint-disabled'));
      expect(other.id).toBeGreaterThan(failing.id);
      // Enabled again by a person, it clears the reason.
      const again = await app.inject({ method: 'PATCH', url: `/v1/webhooks/${failing.id}`, headers: admin, payload: { enabled: true } });
      expect(again.json()).toMatchObject({ enabled: true, disabledReason: null });
    });

    it('signs with both secrets after a rotation, until the old one expires', async () => {
      const accountId = await account();
      const ep = await endpoint(accountId, ['call.ended']);
      const rotated = await app.inject({ method: 'POST', url: `/v1/webhooks/${ep.id}/rotate-secret`, headers: admin, payload: { previousSecretValidSeconds: 600 } });
      expect(rotated.statusCode).toBe(200);
      const { secret, previousSecretExpiresAt } = rotated.json<{ secret: string; previousSecretExpiresAt: string }>();
      expect(secret).not.toBe(ep.secret);
      expect(Date.parse(previousSecretExpiresAt)).toBeGreaterThan(Date.now());
      await startDispatcher();
      await placeCall(accountId);
      await until('a delivery', () => received.length >= 1);
      const r = received[0] as Received;
      const header = String(r.headers['callroute-signature']);
      expect(header.match(/v1=/g)).toHaveLength(2);
      expect(verifySignature(header, r.body, secret, Math.floor(Date.now() / 1000))).toBe(true);
      expect(verifySignature(header, r.body, ep.secret, Math.floor(Date.now() / 1000))).toBe(true);
    });
  });
});
