import type { Logger } from 'pino';
import { eventView, isRestrictedCall } from '../../events/eventView.js';
import { attemptClaimMs } from '../attemptClaim.js';
import type { Store } from '../../persistence/store.js';
import { createDeliveryQueue, type DueDelivery } from '../../persistence/webhookDeliveryQueue.js';
import { disableEndpoint, getEndpoint, signingSecrets } from '../../persistence/webhookRepository.js';
import { createPollingWorker } from '../createPollingWorker.js';
import { allowedNetworkList } from './deliveryAddress.js';
import { guardedPost, type GuardedPostOptions, type GuardedPostResult } from '../guardedPost.js';
import { SIGNATURE_HEADER, signatureHeader } from './webhookSignature.js';

export interface WebhookSettings {
  timeoutMs: number;
  retryHours: number;
  retryBaseMs: number;
  concurrency: number;
  allowedNetworks: readonly string[];
}

export interface WebhookDispatcherDeps {
  store: Store;
  settings: WebhookSettings;
  logger: Logger;
  now?: () => number;
  /** 0..1; the jitter of retry delays. */
  random?: () => number;
  post?: (o: GuardedPostOptions) => Promise<GuardedPostResult>;
  /** How often the outbox and the due deliveries are looked at (ms). */
  pollMs?: number;
}

/** The longest wait between two retries, whatever the attempt. */
const MAX_RETRY_DELAY_MS = 3_600_000;
/** One endpoint may hold this many of the shared delivery slots: a slow receiver cannot starve the rest. */
const PER_ENDPOINT_IN_FLIGHT = 4;
/** Rendered bodies kept (oldest dropped first): enough for every endpoint of a burst of calls. */
const BODY_CACHE_SIZE = 2_000;

/**
 * The delay before retry number `attempt` (1 = the first retry): base · 2^(attempt−1), capped at an
 * hour, with "equal jitter" (half fixed, half random) so endpoints that failed together do not all
 * come back at the same instant.
 */
export function retryDelayMs(attempt: number, baseMs: number, random: number): number {
  const exp = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (exp / 2) * random);
}

/**
 * Delivers the event stream to webhook endpoints. It reads the outbox after its saved position
 * (event_consumers), so events written while it was down, or just before a kill -9, are delivered
 * after the restart; deliveries are rows too, so a retry survives a restart as well. Nothing here
 * runs on a call's path: it polls the database on its own timer.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps) {
  const { store, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const post = deps.post ?? guardedPost;
  const allowed = allowedNetworkList(settings.allowedNetworks);
  const retryMs = settings.retryHours * 3_600_000;
  const inFlightPerEndpoint = new Map<number, number>();
  let ticking = false;
  let again = false;

  const queue = createDeliveryQueue(store);
  /** New events into deliveries: once, whichever node's dispatcher comes first. */
  const fanOutNew = () => queue.fanOutNew(now(), retryMs, (e) => isRestrictedCall(eventView(e)));
  const claimMs = attemptClaimMs(settings.timeoutMs);

  /** Each event's body, rendered once for all the endpoints it goes to (and its retries). */
  const bodies = new Map<number, string>();
  function bodyOf(e: DueDelivery['event']): string {
    let body = bodies.get(e.id);
    if (body === undefined) {
      body = JSON.stringify(eventView(e));
      if (bodies.size >= BODY_CACHE_SIZE) bodies.delete(bodies.keys().next().value as number);
      bodies.set(e.id, body);
    }
    return body;
  }

  async function deliver(d: DueDelivery): Promise<void> {
    const body = bodyOf(d.event);
    const sentAt = now();
    const timestamp = Math.floor(sentAt / 1000);
    const result = await post({
      url: d.endpoint.url,
      body,
      timeoutMs: settings.timeoutMs,
      allowedNetworks: allowed,
      headers: {
        [SIGNATURE_HEADER]: signatureHeader(signingSecrets(d.endpoint, sentAt), timestamp, body),
        'callroute-event-id': d.event.uid,
        'callroute-event-type': d.event.type,
        'idempotency-key': d.event.uid,
        'callroute-delivery-attempt': String(d.delivery.attempts + 1),
        'user-agent': 'callroute-webhooks/1',
      },
    });
    const ok = result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;
    const attempt = { at: sentAt, statusCode: result.statusCode, latencyMs: result.latencyMs, error: result.error, responseExcerpt: result.responseExcerpt };
    const log = logger.child({ endpoint: d.endpoint.id, event: d.event.uid, type: d.event.type, attempt: d.delivery.attempts + 1 });
    if (ok) {
      await queue.recordAttempt(d.delivery, attempt, { kind: 'delivered' });
      log.debug({ status: result.statusCode, ms: result.latencyMs }, 'webhook delivered');
      return;
    }
    if (result.refused) {
      // Not a passing fault: the URL now leads somewhere callroute must not go.
      await queue.recordAttempt(d.delivery, attempt, { kind: 'failed' });
      await store.run(disableEndpoint(d.endpoint, result.error ?? 'address refused', now()), { transaction: true });
      log.warn({ reason: result.error }, 'webhook endpoint disabled: its address is refused');
      return;
    }
    const nextAt = now() + retryDelayMs(d.delivery.attempts + 1, settings.retryBaseMs, random());
    if (nextAt <= d.delivery.giveUpAt) {
      await queue.recordAttempt(d.delivery, attempt, { kind: 'retry', at: nextAt });
      log.info({ status: result.statusCode, error: result.error, retryInMs: nextAt - now() }, 'webhook delivery failed; will retry');
      return;
    }
    await queue.recordAttempt(d.delivery, attempt, { kind: 'failed' });
    log.warn({ status: result.statusCode, error: result.error }, 'webhook delivery gave up');
    // Read again: other deliveries of the endpoint may have given up (and disabled it) meanwhile.
    const current = await store.run(getEndpoint(d.endpoint.id));
    if (current?.enabled && !(await queue.deliveredSince(current.id, d.delivery.createdAt))) {
      await store.run(disableEndpoint(current, `deliveries failed for ${settings.retryHours} h (last: ${result.statusCode ?? result.error})`, now()), { transaction: true });
      log.warn('webhook endpoint disabled after failing deliveries');
    }
  }

  async function startDeliveries(): Promise<void> {
    const free = settings.concurrency - worker.inFlight.size;
    if (free <= 0) return;
    const due = await queue.due(now(), free * 2, new Set(worker.inFlight.keys()));
    let started = 0;
    for (const d of due) {
      if (started >= free) break;
      const busy = inFlightPerEndpoint.get(d.endpoint.id) ?? 0;
      if (busy >= PER_ENDPOINT_IN_FLIGHT || !d.endpoint.enabled) continue;
      // Another node's dispatcher may have taken it since the look.
      const at = now();
      if (!(await queue.claim(d.delivery.id, at, at + claimMs))) continue;
      inFlightPerEndpoint.set(d.endpoint.id, busy + 1);
      started++;
      const run = deliver(d).catch((err: unknown) => logger.error({ err, delivery: d.delivery.id }, 'webhook delivery crashed'));
      worker.track(d.delivery.id, run, () => {
        inFlightPerEndpoint.set(d.endpoint.id, (inFlightPerEndpoint.get(d.endpoint.id) ?? 1) - 1);
        // A call's next event may be waiting for this one: look again soon, once for all the
        // deliveries that finish together (one look per delivery cost more than the delivery).
        tickSoon();
      });
    }
  }

  let soon: NodeJS.Immediate | undefined;
  function tickSoon(): void {
    soon ??= setImmediate(() => {
      soon = undefined;
      worker.poke();
    });
  }

  async function tick(): Promise<void> {
    if (worker.stopped) return;
    if (ticking) {
      again = true;
      return;
    }
    ticking = true;
    try {
      do {
        again = false;
        await fanOutNew();
        if (worker.stopped) return;
        await startDeliveries();
      } while (again && !worker.stopped);
    } catch (err) {
      logger.error({ err }, 'webhook dispatch failed');
    } finally {
      ticking = false;
    }
  }

  const worker = createPollingWorker(tick, deps.pollMs ?? 200);
  return {
    start: worker.start,
    /** Looks at the outbox now (tests, and after the API queued a redelivery). */
    poke: worker.poke,
    /** Stops taking work and waits for deliveries in flight (each ends within its timeout). */
    stop: worker.stop,
    get inFlight(): number {
      return worker.inFlight.size;
    },
  };
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>;
