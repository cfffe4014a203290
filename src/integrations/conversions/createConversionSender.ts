import type { Logger } from 'pino';
import { parseJsonObject } from '../../events/callView.js';
import { getCall } from '../../persistence/callQueries.js';
import {
  claimConversion,
  dueConversions,
  enabledDestinationsOf,
  recordConversionAttempt,
  recordQualified,
  visitorIdOfVisit,
} from '../../persistence/conversionRepository.js';
import { createEventConsumer } from '../../persistence/eventRepository.js';
import { attemptClaimMs } from '../attemptClaim.js';
import type { CallRow, ConversionDestinationRow, ConversionRow, EventRow } from '../../persistence/schema.js';
import { runOnSqlite, type Store, type Work } from '../../persistence/store.js';
import { createPollingWorker } from '../createPollingWorker.js';
import { guardedPost, type GuardedPostOptions, type GuardedPostResult } from '../guardedPost.js';
import { retryDelayMs } from '../webhooks/createWebhookDispatcher.js';
import { allowedNetworkList } from '../webhooks/deliveryAddress.js';
import { createOAuthTokens } from './oauthToken.js';
import { PUBLIC_PLATFORM_URLS, type ConversionInput, type PlatformUrls } from './platformAdapter.js';
import { PLATFORM_ADAPTERS } from './platformAdapters.js';
import { DEFAULT_CONVERSION_RULES, qualifyCall, type ConversionRules } from './qualifyCall.js';

export interface ConversionSettings {
  timeoutMs: number;
  retryHours: number;
  retryBaseMs: number;
  allowedNetworks: readonly string[];
  /** Where each platform is reached (CONVERSION_PLATFORM_URLS overrides the public hosts). */
  platformUrls?: Partial<PlatformUrls>;
}

export const CONVERSION_CONSUMER = 'conversions';
/** Conversions sent at once, all platforms together (they are small and rare next to calls). */
const CONCURRENCY = 4;
/** The events after which a call may have become a conversion. */
const QUALIFYING_EVENTS = new Set(['call.ended', 'call.modified']);
/** Events read (and considered) in one transaction. */
const EVENT_BATCH = 500;

export function destinationRules(d: ConversionDestinationRow): ConversionRules {
  return { ...DEFAULT_CONVERSION_RULES, ...(JSON.parse(d.rules) as Partial<ConversionRules>) };
}

/** The call as the adapters take it, for one destination (its rules say whether the number goes). */
export function conversionInput(call: CallRow, d: ConversionDestinationRow, at: number): Work<ConversionInput> {
  return function* (q) {
    const rules = destinationRules(d);
    return {
      callId: call.id,
      clickIds: parseJsonObject(call.clickIds) ?? {},
      callerNumber: rules.sendHashedCallerNumber && call.callerNumber?.startsWith('+') ? call.callerNumber : null,
      conversionTime: at,
      clickTime: call.firstVisitAt,
      clientId: yield* visitorIdOfVisit(call.visitId)(q),
      value: call.value ?? d.defaultValue,
      currency: d.currency,
      conversionName: d.conversionName,
      source: call.source,
      medium: call.medium,
      campaign: call.campaign,
    };
  };
}

/**
 * Calls as conversions. A consumer of the event stream (event_consumers 'conversions'): at a call's
 * end, and when it is tagged or given a lead status later, each enabled destination of its account
 * checks its rules and whether the call has what the platform credits (a gclid for Google Ads, an
 * msclkid for Microsoft; Meta takes an fbclid or, if allowed, the hashed number); a call that
 * qualifies is recorded once per destination. Destinations set to `api` are then sent by their
 * adapter, retried with backoff for WEBHOOK_RETRY_HOURS on network errors, 408, 429 and 5xx; a refusal
 * fails at once. `csv` destinations only list them for the upload file. Never on a call's path.
 */
export function createConversionSender(deps: { store: Store; settings: ConversionSettings; logger: Logger; now?: () => number; random?: () => number; pollMs?: number; post?: (o: GuardedPostOptions) => Promise<GuardedPostResult> }) {
  const { store, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const post = deps.post ?? guardedPost;
  const urls: PlatformUrls = { ...PUBLIC_PLATFORM_URLS, ...settings.platformUrls };
  const allowed = allowedNetworkList(settings.allowedNetworks);
  const tokens = createOAuthTokens({ timeoutMs: settings.timeoutMs, allowedNetworks: allowed, now });
  const retryMs = settings.retryHours * 3_600_000;

  /** Whether the call qualifies for each enabled destination of its account; records those that do, once. */
  const consider = (callId: number): Work<void> =>
    function* (q) {
      const call = yield* getCall(callId)(q);
      if (!call || call.accountId === null || call.endedAt === null) return;
      for (const d of yield* enabledDestinationsOf(call.accountId)(q)) {
        const adapter = PLATFORM_ADAPTERS[d.platform];
        const rules = destinationRules(d);
        if (!qualifyCall(call, rules).qualifies) continue;
        const input = yield* conversionInput(call, d, call.endedAt)(q);
        const click = adapter.clickIdOf(input.clickIds);
        if (adapter.needsClickId && !click) continue;
        if (d.platform === 'meta' && !click && !input.callerNumber) continue;
        if (d.platform === 'ga4' && input.clientId === null) continue;
        const status = d.delivery === 'api' ? 'pending' : 'csv';
        const qualified = { destinationId: d.id, callId: call.id, accountId: call.accountId, status, clickId: click?.value ?? null, conversionTime: call.endedAt, value: input.value, currency: d.currency } as const;
        if (yield* recordQualified(qualified, now(), retryMs)(q)) logger.info({ callId: call.id, destination: d.id, platform: d.platform, status }, 'call qualified as a conversion');
      }
    };
  const considerBatch = (batch: EventRow[]): Work<void> =>
    function* (q) {
      for (const e of batch) if (QUALIFYING_EVENTS.has(e.type) && e.callId !== null) yield* consider(e.callId)(q);
    };

  /** New events considered: once, whichever node's sender comes first. */
  const readEvents = createEventConsumer(
    store,
    CONVERSION_CONSUMER,
    EVENT_BATCH,
    store.dialect === 'sqlite' ? { dialect: 'sqlite', handle: (batch) => runOnSqlite(store.db, considerBatch(batch)) } : { dialect: 'postgres', handle: considerBatch },
  );
  const claimMs = attemptClaimMs(settings.timeoutMs);

  async function send(c: ConversionRow, d: ConversionDestinationRow): Promise<void> {
    const adapter = PLATFORM_ADAPTERS[d.platform];
    const call = await store.run(getCall(c.callId));
    const log = logger.child({ conversion: c.id, callId: c.callId, platform: d.platform });
    if (!call) {
      await store.run(recordConversionAttempt(c, { payload: null, statusCode: null, error: 'the call is gone', responseExcerpt: null }, { kind: 'failed' }));
      return;
    }
    const s = JSON.parse(d.settings) as never;
    const retryOrFail = async (error: string, retry: boolean, statusCode: number | null, payload: string | null, excerpt: string | null): Promise<void> => {
      const nextAt = now() + retryDelayMs(c.attempts + 1, settings.retryBaseMs, random());
      const outcome = retry && nextAt <= c.giveUpAt ? { kind: 'retry' as const, at: nextAt } : { kind: 'failed' as const };
      await store.run(recordConversionAttempt(c, { payload, statusCode, error, responseExcerpt: excerpt }, outcome));
      log.warn({ error, statusCode, outcome: outcome.kind }, 'conversion not accepted');
    };
    const oauth = adapter.oauth(s, urls);
    let accessToken: string | null = null;
    if (oauth) {
      const t = await tokens.token(oauth);
      if ('error' in t) return retryOrFail(t.error, t.retry, null, null, null);
      accessToken = t.token;
    }
    const request = adapter.buildRequest({ ...(await store.run(conversionInput(call, d, c.conversionTime))), value: c.value, currency: c.currency }, s, urls, accessToken);
    const res = await post({ url: request.url, headers: request.headers, body: request.body, timeoutMs: settings.timeoutMs, allowedNetworks: allowed });
    if (res.statusCode === null) return retryOrFail(res.error ?? 'no answer', !res.refused, null, request.body, null);
    const verdict = adapter.verdict(res.statusCode, res.responseExcerpt ?? '');
    if (!verdict.ok) return retryOrFail(verdict.reason, verdict.retry, res.statusCode, request.body, res.responseExcerpt);
    await store.run(recordConversionAttempt(c, { payload: request.body, statusCode: res.statusCode, error: null, responseExcerpt: res.responseExcerpt }, { kind: 'sent', at: now() }));
    log.info({ statusCode: res.statusCode, ms: res.latencyMs }, 'conversion sent');
  }

  let ticking = false;
  async function tick(): Promise<void> {
    if (worker.stopped || ticking) return;
    ticking = true;
    try {
      await readEvents();
      const free = CONCURRENCY - worker.inFlight.size;
      if (free <= 0 || worker.stopped) return;
      for (const { conversion, destination } of await store.run(dueConversions(now(), free, new Set(worker.inFlight.keys())))) {
        // Another node's sender may have taken it since the look.
        const at = now();
        if (!(await store.run(claimConversion(conversion.id, at, at + claimMs)))) continue;
        worker.track(conversion.id, send(conversion, destination).catch((err: unknown) => logger.error({ err, conversion: conversion.id }, 'sending a conversion crashed')));
      }
    } catch (err) {
      logger.error({ err }, 'conversions failed');
    } finally {
      ticking = false;
    }
  }

  // Once a second: a conversion a second later changes nothing for an ad platform.
  const worker = createPollingWorker(tick, deps.pollMs ?? 1_000);
  return { start: worker.start, poke: worker.poke, stop: worker.stop };
}

export type ConversionSender = ReturnType<typeof createConversionSender>;
