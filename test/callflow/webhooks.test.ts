/**
 * Webhooks and the live feed with real calls through Asterisk and the real router (a process).
 *
 * A receiving server in the test (on loopback, which the operator allows with WEBHOOK_ALLOWED_NETWORKS)
 * gets a call's arrived → routed → answered → ended → recording-ready, in that order, each signed
 * with the endpoint's secret; the live feed shows the call arriving while it is still up, then its
 * end. The router killed with -9 after a call ended and before its events were delivered (the
 * receiver was refusing them) delivers them after it starts again, each once. A visitor who came
 * from a Google ad (gclid) is shown a pool number by the snippet's API, calls it, and the qualified
 * call reaches a Google Ads stand-in as a click conversion for that gclid.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignature } from '../../src/integrations/webhooks/webhookSignature.js';
import { readEventStream, type StreamEvent } from '../support/readEventStream.js';
import { ADMIN_TOKEN, startCallflowStack, useStackHooks, type CallflowStack, type CallSummary } from './harness/callflowStack.js';
import { waitFor } from './harness/waitFor.js';

const DID = '+15551260000';
/** A pool of one, and the number shown when it is taken. */
const POOL_DID = '+15551260001';
const FALLBACK_DID = '+15551260002';
const GCLID = 'Cj0KCQiA-callflow-gclid';
const CALL_TYPES = ['call.arrived', 'call.routed', 'call.answered', 'call.ended', 'recording.ready'];

interface Delivery {
  type: string;
  eventId: string;
  callId: number | undefined;
  signature: string;
  body: string;
  /** What the receiver answered. */
  status: number;
}

interface FeedData {
  type?: string;
  data?: { call?: { id: number } };
}

let stack: CallflowStack;
let receiver: Server;
let deliveries: Delivery[] = [];
/** While true the receiver answers 503 (it is "down"). */
let refusing = false;
let secret: string;
/** The Google Ads (and Google OAuth) stand-in: every request it got. */
let googleAds: Server;
const googleHits: Array<{ path: string; body: string; authorization: string | undefined }> = [];
let accountId: number;

function callIdOf(body: { data?: { call?: { id?: number }; recording?: { callId?: number } } }): number | undefined {
  return body.data?.call?.id ?? body.data?.recording?.callId;
}

describe('webhooks and the live feed with real calls', () => {
  beforeAll(async () => {
    receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        const json = JSON.parse(body) as { id: string; type: string; data?: { call?: { id?: number }; recording?: { callId?: number } } };
        const status = refusing ? 503 : 200;
        deliveries.push({ type: json.type, eventId: json.id, callId: callIdOf(json), signature: String(req.headers['callroute-signature']), body, status });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    googleAds = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        googleHits.push({ path: req.url ?? '', body, authorization: req.headers.authorization });
        res.setHeader('content-type', 'application/json');
        res.end(req.url === '/token' ? '{"access_token":"stand-in-token","expires_in":3600}' : '{"results":[{}]}');
      });
    });
    await new Promise<void>((r) => googleAds.listen(0, '127.0.0.1', r));
    const google = `http://127.0.0.1:${(googleAds.address() as AddressInfo).port}`;
    stack = await startCallflowStack({
      instance: 'webhooks',
      httpPort: 8093,
      env: {
        WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32',
        WEBHOOK_RETRY_BASE_MS: '200',
        CONVERSION_PLATFORM_URLS: `google-ads=${google},google-oauth=${google}`,
      },
    });
    ({ accountId } = await stack.addNumbers([{ did: DID }]));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/callroute`;
    const created = await stack.api.call<{ secret: string }>('POST', '/v1/webhooks', { accountId, url, eventTypes: CALL_TYPES });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    secret = created.body.secret;
  }, 120_000);

  afterAll(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
    await new Promise<void>((r) => googleAds.close(() => r()));
  });

  useStackHooks(() => stack);

  it('delivers arrived, routed, answered, ended and recording-ready in order, signed; the live feed shows the call as it happens', async () => {
    deliveries = [];
    const feed = await readEventStream<FeedData>(`${stack.baseUrl}/v1/live`, { authorization: `Bearer ${ADMIN_TOKEN}` });
    try {
      const before = await stack.newestCallId();
      let callOver = false;
      const placed = stack.answeredCall(DID, 3_000).then(() => (callOver = true));
      // The call's record is written (and its arrival told) while the call is still up.
      await waitFor(() => feed.events.some((e) => e.event === 'call.arrived'), { timeoutMs: 10_000, intervalMs: 20, message: 'call.arrived in the live feed' });
      expect(callOver).toBe(false);
      await placed;
      const call = await stack.finishedCall<CallSummary>(before);
      await waitFor(() => deliveries.some((d) => d.type === 'recording.ready' && d.callId === call.id), {
        timeoutMs: 40_000,
        intervalMs: 100,
        message: 'recording.ready delivered',
      });
      const ofCall = deliveries.filter((d) => d.callId === call.id);
      expect(ofCall.map((d) => d.type)).toEqual(CALL_TYPES);
      const now = Math.floor(Date.now() / 1000);
      for (const d of ofCall) expect(verifySignature(d.signature, d.body, secret, now), d.type).toBe(true);
      await waitFor(() => feed.events.some((e) => e.event === 'recording.ready'), { timeoutMs: 5_000, intervalMs: 20, message: 'recording.ready in the live feed' });
      const live = feed.events.filter((e: StreamEvent<FeedData>) => e.event !== 'snapshot' && (e.data.data?.call?.id ?? call.id) === call.id);
      expect(live.map((e) => e.event)).toEqual(CALL_TYPES);
    } finally {
      feed.res.destroy();
    }
  }, 90_000);

  it('delivers a call’s events after the router was killed with -9 before it could', async () => {
    deliveries = [];
    refusing = true;
    const before = await stack.newestCallId();
    await stack.answeredCall(DID, 1_500);
    const call = await stack.finishedCall<CallSummary>(before);
    const recs = await stack.finishedRecordings(call.id);
    expect(recs.map((r) => r.status)).toEqual(['ready']);
    // The receiver has refused at least the first event: nothing of this call is delivered yet.
    await waitFor(() => deliveries.some((d) => d.callId === call.id), { timeoutMs: 10_000, intervalMs: 50, message: 'a refused attempt' });
    expect(deliveries.filter((d) => d.status === 200)).toEqual([]);
    await stack.router.stop('SIGKILL');
    refusing = false;
    await stack.startRouter();
    await waitFor(() => deliveries.filter((d) => d.callId === call.id && d.status === 200).length >= CALL_TYPES.length, {
      timeoutMs: 30_000,
      intervalMs: 100,
      message: 'every event of the call delivered after the restart',
    });
    const delivered = deliveries.filter((d) => d.callId === call.id && d.status === 200);
    expect(delivered.map((d) => d.type)).toEqual(CALL_TYPES);
    // Each once: the same event never accepted twice.
    expect(new Set(delivered.map((d) => d.eventId)).size).toBe(CALL_TYPES.length);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(deliveries.filter((d) => d.callId === call.id && d.status === 200)).toHaveLength(CALL_TYPES.length);
  }, 90_000);

  it('sends a Google Ads click conversion for the gclid of the visit a real call came from', async () => {
    // The website's snippet, as its API sees it: a visit from a Google ad is shown the pool's number.
    const key = (await stack.api.call<{ publicKey: string }>('POST', `/v1/accounts/${accountId}/snippet/key`)).body.publicKey;
    await stack.api.call('PATCH', `/v1/accounts/${accountId}/snippet`, { allowedDomains: ['127.0.0.1'] });
    const fallback = await stack.api.call<{ id: number }>('POST', '/v1/tracking-numbers', { accountId, did: FALLBACK_DID, destination: '+15550001111', recordingEnabled: false });
    const pool = await stack.api.call<{ id: number }>('POST', '/v1/pools', { accountId, name: 'website', fallbackTrackingNumberId: fallback.body.id });
    const n = await stack.api.call<{ id: number }>('POST', '/v1/tracking-numbers', { accountId, did: POOL_DID, destination: '+15550001111', recordingEnabled: false });
    await stack.api.call('PATCH', `/v1/tracking-numbers/${n.body.id}`, { poolId: pool.body.id });
    const destination = await stack.api.call('POST', '/v1/conversion-destinations', {
      accountId,
      platform: 'google-ads',
      name: 'Google Ads',
      settings: { customerId: '1234567890', developerToken: 'dev', clientId: 'client', clientSecret: 'secret', refreshToken: 'refresh' },
      conversionName: '424242',
      defaultValue: 120,
      rules: { minTalkSeconds: 1 },
    });
    expect(destination.status, JSON.stringify(destination.body)).toBe(201);
    const session = await fetch(`${stack.baseUrl}/public/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', origin: 'http://127.0.0.1:8000' },
      body: JSON.stringify({ key, visitorId: null, page: `http://127.0.0.1:8000/landing?utm_source=google&utm_medium=cpc&gclid=${GCLID}`, referrer: 'https://www.google.com/' }),
    });
    expect(session.status).toBe(200);
    const shown = (await session.json()) as { number: string };
    expect(shown.number).toBe(POOL_DID);

    const before = await stack.newestCallId();
    await stack.answeredCall(POOL_DID, 2_000);
    const call = await stack.finishedCall<CallSummary & { clickIds: Record<string, string> | null }>(before);
    expect(call.clickIds).toEqual({ gclid: GCLID });
    await waitFor(() => googleHits.some((h) => h.path.includes(':uploadClickConversions')), { timeoutMs: 15_000, intervalMs: 100, message: 'the Google Ads upload' });
    const upload = googleHits.find((h) => h.path.includes(':uploadClickConversions'));
    expect(upload?.path).toBe('/v26/customers/1234567890:uploadClickConversions');
    expect(upload?.authorization).toBe('Bearer stand-in-token');
    expect(JSON.parse(upload?.body ?? '{}')).toMatchObject({
      partialFailure: true,
      conversions: [{ gclid: GCLID, conversionAction: 'customers/1234567890/conversionActions/424242', conversionValue: 120, currencyCode: 'USD', orderId: `callroute-call-${call.id}` }],
    });
    const recorded = await stack.api.call<{ conversions: Array<{ status: string; clickId: string }> }>('GET', `/v1/calls/${call.id}/conversions`);
    await waitFor(async () => (await stack.api.call<{ conversions: Array<{ status: string }> }>('GET', `/v1/calls/${call.id}/conversions`)).body.conversions[0]?.status === 'sent', {
      timeoutMs: 5_000,
      intervalMs: 100,
      message: 'the conversion recorded as sent',
    });
    expect(recorded.body.conversions[0]?.clickId).toBe(GCLID);
  }, 90_000);
});
