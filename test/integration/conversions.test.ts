/**
 * Calls as ad-platform conversions, through the real app and the real sender, against one local
 * HTTP server standing in for Google Ads, GA4, Meta, Microsoft Advertising and their OAuth token
 * services (CONVERSION_PLATFORM_URLS as an operator would point them at a proxy). The payloads the
 * stand-ins receive are the documented ones (test/unit/conversionAdapters.test.ts checks each field).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createConversionSender, type ConversionSender } from '../../src/integrations/conversions/createConversionSender.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { waitFor } from '../callflow/harness/waitFor.js';
import type { Store } from '../../src/persistence/store.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'conversions-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

interface Hit {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('conversions on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let platforms: Server;
  let base: string;
  let hits: Hit[];
  /** Statuses the stand-ins answer next, per path prefix, before they answer normally. */
  let failures: Map<string, number[]>;
  let sender: ConversionSender;
  let accountId: number;

  function answer(path: string): { status: number; body: string } {
    for (const [prefix, queue] of failures) {
      if (path.startsWith(prefix) && queue.length > 0) {
        const status = queue.shift() as number;
        return { status, body: status === 400 ? '{"error":{"message":"invalid click id"}}' : 'unavailable' };
      }
    }
    if (path === '/token') return { status: 200, body: '{"access_token":"google-access","expires_in":3599,"token_type":"Bearer"}' };
    if (path === '/common/oauth2/v2.0/token') return { status: 200, body: `{"access_token":"${'m'.repeat(2500)}","expires_in":3600}` };
    if (path.includes(':uploadClickConversions')) return { status: 200, body: '{"results":[{"gclid":"x"}]}' };
    if (path.startsWith('/mp/collect')) return { status: 204, body: '' };
    if (path.endsWith('/events')) return { status: 200, body: '{"events_received":1,"fbtrace_id":"A"}' };
    if (path.endsWith('/OfflineConversions/Apply')) return { status: 200, body: '{"PartialErrors":null}' };
    return { status: 404, body: 'no such stand-in' };
  }

  beforeEach(async () => {
    hits = [];
    failures = new Map();
    platforms = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const path = req.url ?? '';
        hits.push({ path, headers: req.headers, body });
        const a = answer(path);
        res.statusCode = a.status;
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => platforms.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(platforms.address() as AddressInfo).port}`;
    store = await open();
    app = buildApp({ store, logger: createLogger('silent'), adminToken: ADMIN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
    const urls = { 'google-ads': base, ga4: base, meta: base, 'microsoft-ads': base, 'google-oauth': base, 'microsoft-oauth': base };
    sender = createConversionSender({
      store,
      logger: createLogger('silent'),
      settings: { timeoutMs: 2_000, retryHours: 1, retryBaseMs: 20, allowedNetworks: ['127.0.0.1/32'], platformUrls: urls },
      pollMs: 20,
    });
    await sender.start();
    accountId = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme' } })).json<{ id: number }>().id;
  });

  afterEach(async () => {
    await sender.stop();
    await app.close();
    await new Promise<void>((r) => platforms.close(() => r()));
    await store.close();
  });

  const GOOGLE = { customerId: '1234567890', developerToken: 'dev-token', clientId: 'client', clientSecret: 'secret', refreshToken: 'refresh' };

  async function destination(payload: Record<string, unknown>): Promise<{ id: number }> {
    const res = await app.inject({ method: 'POST', url: '/v1/conversion-destinations', headers: admin, payload: { accountId, name: 'd', ...payload } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  }

  let channel = 0;
  /** A call from a visit with these click ids, answered and talking `talkSeconds`. */
  async function call(clickIds: Record<string, string>, talkSeconds: number): Promise<number> {
    const arrivedAt = Date.now() - 120_000;
    const visit = await insertRow(store, 'visits', { accountId, visitorId: `visitor-${++channel}`, lastSeenAt: arrivedAt, firstVisitAt: arrivedAt - 60_000, createdAt: arrivedAt - 60_000, clickIds: JSON.stringify(clickIds) });
    const records = createCallRecordStore(store);
    const id = await records.insertArrival({
      accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: 'google', medium: 'cpc', campaign: null,
      destination: '+15559870000', arrivedAt, inboundChannelId: `conv-${channel}`, outboundChannelId: null, bridgeId: null,
      visitId: visit.id, clickIds: JSON.stringify(clickIds), firstVisitAt: arrivedAt - 60_000, firstTimeCaller: true,
    });
    await records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: arrivedAt + 5_000, endedAt: arrivedAt + 5_000 + talkSeconds * 1000 });
    return id;
  }

  /** The shared poll-with-deadline (test/callflow/harness/waitFor.ts), in these tests' argument order. */
  const until = (what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<unknown> => waitFor(check, { timeoutMs: ms, intervalMs: 10, message: what });

  async function conversionsOf(callId: number) {
    return (await app.inject({ method: 'GET', url: `/v1/calls/${callId}/conversions`, headers: admin })).json<{ conversions: Array<{ id: number; status: string; attempts: number; payload: string | null; lastError: string | null }> }>().conversions;
  }

  describe('conversions', () => {
    it('turn a gclid visit’s qualified call into a Google Ads click conversion, and skip a short call', async () => {
      await destination({ platform: 'google-ads', settings: GOOGLE, conversionName: '555', defaultValue: 80, rules: { minTalkSeconds: 30 } });
      const short = await call({ gclid: 'gclid-short' }, 10);
      const good = await call({ gclid: 'gclid-good' }, 90);
      await until('the upload', () => hits.some((h) => h.path.includes(':uploadClickConversions')));
      const upload = hits.find((h) => h.path.includes(':uploadClickConversions')) as Hit;
      expect(upload.path).toBe('/v26/customers/1234567890:uploadClickConversions');
      expect(upload.headers.authorization).toBe('Bearer google-access');
      expect(upload.headers['developer-token']).toBe('dev-token');
      const body = JSON.parse(upload.body);
      expect(body).toMatchObject({ partialFailure: true, conversions: [{ gclid: 'gclid-good', conversionAction: 'customers/1234567890/conversionActions/555', conversionValue: 80, currencyCode: 'USD', orderId: `callroute-call-${good}` }] });
      expect(body.conversions[0].conversionDateTime).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00:00$/);
      // The OAuth refresh went to the token service with the refresh token.
      const token = hits.find((h) => h.path === '/token') as Hit;
      expect(new URLSearchParams(token.body).get('grant_type')).toBe('refresh_token');
      await until('sent', async () => (await conversionsOf(good))[0]?.status === 'sent');
      expect(JSON.parse((await conversionsOf(good))[0]?.payload ?? '{}')).toEqual(body);
      expect(await conversionsOf(short)).toEqual([]);
    });

    it('send each conversion once when two senders share the database (two nodes): the first to claim it sends it', async () => {
      const second = createConversionSender({
        store,
        logger: createLogger('silent'),
        settings: { timeoutMs: 2_000, retryHours: 1, retryBaseMs: 20, allowedNetworks: ['127.0.0.1/32'], platformUrls: { 'google-ads': base, 'google-oauth': base } },
        pollMs: 20,
      });
      await second.start();
      try {
        await destination({ platform: 'google-ads', settings: GOOGLE, conversionName: '555', rules: { minTalkSeconds: 30 } });
        const calls: number[] = [];
        for (const i of [1, 2, 3, 4, 5]) calls.push(await call({ gclid: `gclid-two-${i}` }, 90));
        await until('all sent', async () => (await Promise.all(calls.map(conversionsOf))).every((c) => c.length === 1 && c[0]?.status === 'sent'));
        await new Promise((r) => setTimeout(r, 200));
        const uploads = hits.filter((h) => h.path.includes(':uploadClickConversions')).map((h) => (JSON.parse(h.body) as { conversions: Array<{ gclid: string }> }).conversions[0]?.gclid);
        expect(uploads.sort()).toEqual(calls.map((_, i) => `gclid-two-${i + 1}`));
      } finally {
        await second.stop();
      }
    });

    it('send GA4, Meta and Microsoft conversions of one call, each its platform’s way', async () => {
      await destination({ platform: 'ga4', settings: { measurementId: 'G-TEST1234', apiSecret: 'mp-secret' }, conversionName: 'phone_lead' });
      await destination({ platform: 'meta', settings: { pixelId: '123456789', accessToken: 'EAAB' }, conversionName: 'Lead', rules: { sendHashedCallerNumber: true } });
      await destination({ platform: 'microsoft-ads', settings: { customerId: '11', customerAccountId: '22', developerToken: 'd', clientId: 'c', refreshToken: 'r' }, conversionName: 'Phone call' });
      const id = await call({ msclkid: 'ms-1', fbclid: 'fb-1' }, 45);
      await until('three sent', async () => (await conversionsOf(id)).filter((c) => c.status === 'sent').length === 3);
      const ga = hits.find((h) => h.path.startsWith('/mp/collect')) as Hit;
      expect(ga.path).toBe('/mp/collect?measurement_id=G-TEST1234&api_secret=mp-secret');
      expect(JSON.parse(ga.body)).toMatchObject({ client_id: expect.stringMatching(/^visitor-/), events: [{ name: 'phone_lead', params: { currency: 'USD' } }] });
      const fb = JSON.parse((hits.find((h) => h.path === '/v23.0/123456789/events') as Hit).body);
      expect(fb.data[0]).toMatchObject({ event_name: 'Lead', action_source: 'phone_call', event_id: `callroute-call-${id}`, user_data: { ph: [expect.stringMatching(/^[0-9a-f]{64}$/)], fbc: expect.stringMatching(/^fb\.1\.\d{13}\.fb-1$/) } });
      const ms = hits.find((h) => h.path.endsWith('/OfflineConversions/Apply')) as Hit;
      expect(ms.headers.authorization).toBe(`Bearer ${'m'.repeat(2500)}`);
      expect(JSON.parse(ms.body)).toMatchObject({ OfflineConversions: [{ MicrosoftClickId: 'ms-1', ConversionName: 'Phone call' }] });
    });

    it('retry a platform that is down, fail at once on a refusal, and send again on request', async () => {
      await destination({ platform: 'meta', settings: { pixelId: '123456789', accessToken: 'EAAB' }, conversionName: 'Lead' });
      failures.set('/v23.0/', [503, 500]);
      const retried = await call({ fbclid: 'fb-retried' }, 60);
      await until('sent after retries', async () => (await conversionsOf(retried))[0]?.status === 'sent');
      expect((await conversionsOf(retried))[0]?.attempts).toBe(3);
      failures.set('/v23.0/', [400]);
      const refused = await call({ fbclid: 'fb-refused' }, 60);
      await until('failed', async () => (await conversionsOf(refused))[0]?.status === 'failed');
      const [failed] = await conversionsOf(refused);
      expect(failed?.attempts).toBe(1);
      expect(failed?.lastError).toMatch(/HTTP 400/);
      const again = await app.inject({ method: 'POST', url: `/v1/conversions/${failed?.id}/retry`, headers: admin });
      expect(again.statusCode, again.body).toBe(200);
      sender.poke();
      await until('sent on retry', async () => (await conversionsOf(refused))[0]?.status === 'sent');
      // A sent conversion is not retried.
      expect((await app.inject({ method: 'POST', url: `/v1/conversions/${failed?.id}/retry`, headers: admin })).statusCode).toBe(400);
    });

    it('qualify a call when its lead status is set later (call.modified)', async () => {
      await destination({ platform: 'google-ads', settings: GOOGLE, conversionName: '555', rules: { leadStatus: 'good-lead' } });
      const id = await call({ gclid: 'gclid-later' }, 60);
      await new Promise((r) => setTimeout(r, 150));
      expect(await conversionsOf(id)).toEqual([]);
      const patched = await app.inject({ method: 'PATCH', url: `/v1/calls/${id}`, headers: admin, payload: { leadStatus: 'good-lead', value: 300 } });
      expect(patched.statusCode).toBe(200);
      await until('sent', async () => (await conversionsOf(id))[0]?.status === 'sent');
      expect(JSON.parse((await conversionsOf(id))[0]?.payload ?? '{}').conversions[0]).toMatchObject({ gclid: 'gclid-later', conversionValue: 300 });
    });

    it('list conversions of a csv destination for the platform’s upload file, never sending them', async () => {
      const d = await destination({ platform: 'google-ads', delivery: 'csv', settings: GOOGLE, conversionName: 'Phone calls', defaultValue: 50 });
      const id = await call({ gclid: 'gclid-csv' }, 60);
      await until('listed', async () => (await conversionsOf(id))[0]?.status === 'csv');
      const csv = await app.inject({ method: 'GET', url: `/v1/conversion-destinations/${d.id}/upload.csv`, headers: admin });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toMatch(/text\/csv/);
      const lines = csv.body.trim().split('\r\n');
      expect(lines[0]).toBe('Parameters:TimeZone=+0000');
      expect(lines[1]).toBe('Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency');
      expect(lines[2]).toMatch(/^gclid-csv,Phone calls,\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,50,USD$/);
      expect(hits.filter((h) => h.path.includes(':uploadClickConversions'))).toEqual([]);
    });

    it('refuse settings a platform would refuse, naming the setting, and never show a secret back', async () => {
      const bad = await app.inject({ method: 'POST', url: '/v1/conversion-destinations', headers: admin, payload: { accountId, name: 'x', platform: 'google-ads', settings: { ...GOOGLE, customerId: '123-456-7890' }, conversionName: '1' } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.field).toBe('body.settings.customerId');
      const missing = await app.inject({ method: 'POST', url: '/v1/conversion-destinations', headers: admin, payload: { accountId, name: 'x', platform: 'ga4', settings: { measurementId: 'G-ABCD1234' }, conversionName: 'e' } });
      expect(missing.json().error.field).toBe('body.settings.apiSecret');
      const d = await destination({ platform: 'google-ads', settings: GOOGLE, conversionName: '555' });
      const shown = await app.inject({ method: 'GET', url: `/v1/conversion-destinations/${d.id}`, headers: admin });
      expect(shown.json().settings).toEqual({ customerId: '1234567890', developerToken: '(set)', clientId: 'client', clientSecret: '(set)', refreshToken: '(set)' });
      expect(shown.body).not.toContain('refresh"');
    });

    it('are named in a privacy access request as recipients, and go with an erasure', async () => {
      await destination({ platform: 'google-ads', settings: GOOGLE, conversionName: '555' });
      const id = await call({ gclid: 'gclid-private' }, 60);
      await until('sent', async () => (await conversionsOf(id))[0]?.status === 'sent');
      const access = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'access', callerNumber: '+15557654321', accountId } });
      expect(access.statusCode, access.body).toBe(201);
      expect(access.json().disclosures.conversions).toEqual([{ callId: id, platform: 'google-ads', destination: 'd', status: 'sent', clickId: 'gclid-private', sentAt: expect.any(String) }]);
      const erased = await app.inject({ method: 'POST', url: '/v1/privacy/requests', headers: admin, payload: { kind: 'erasure', callerNumber: '+15557654321', accountId } });
      expect(erased.statusCode, erased.body).toBe(201);
      expect(await conversionsOf(id)).toEqual([]);
    });
  });
});
