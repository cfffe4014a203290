import { and, asc, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import { createEventConsumer } from './eventRepository.js';
import { affected, raw, row, rows, type Store, type Work } from './store.js';
import { events, webhookAttempts, webhookDeliveries, webhookEndpoints, type EventRow, type WebhookDeliveryRow, type WebhookEndpointRow } from './schema.js';
import { endpointWants } from './webhookRepository.js';

export interface DueDelivery {
  delivery: WebhookDeliveryRow;
  endpoint: WebhookEndpointRow;
  event: EventRow;
}

export interface AttemptRecord {
  at: number;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseExcerpt: string | null;
}

export type AttemptOutcome = { kind: 'delivered' } | { kind: 'retry'; at: number } | { kind: 'failed' };

/** A value bound when a prepared statement runs (typed to fit whatever the column asks). */
function slot<T = never>(name: string): T {
  return sql.placeholder(name) as unknown as T;
}

/** What the webhook dispatcher reads and writes; the same on both dialects. */
export interface DeliveryQueue {
  /**
   * New events into pending deliveries, one per enabled endpoint of the event's account that wants
   * its type, once whichever node looks first (an event consumer). `skip` leaves an event undelivered
   * (a restricted caller's call).
   */
  fanOutNew(now: number, retryMs: number, skip: (e: EventRow) => boolean): Promise<void>;
  /** Deliveries whose time has come (see dueIdsText), with their endpoint and event. `exclude`: in flight. */
  due(now: number, limit: number, exclude: ReadonlySet<number>): Promise<DueDelivery[]>;
  /**
   * Takes a due delivery for one attempt until `until` (a time past the attempt's timeout). False:
   * another dispatcher took it first, or it is no longer due.
   */
  claim(id: number, now: number, until: number): Promise<boolean>;
  /** One attempt into the log, and what it means for the delivery, in one transaction. */
  recordAttempt(delivery: WebhookDeliveryRow, a: AttemptRecord, outcome: AttemptOutcome): Promise<void>;
  /** Whether the endpoint took any delivery since `since` (a give-up after successes elsewhere is not a dead endpoint). */
  deliveredSince(endpointId: number, since: number): Promise<boolean>;
}

/**
 * Longest due first, in the (status, next_attempt_at) index's own order, so a look reads only what it
 * returns (and the few later events of a call it skips); a call's later event waits while an earlier
 * one is pending at the same endpoint (webhook_deliveries_call_order_idx). The same SQL on both dialects.
 */
function dueIdsText(now: string, limit: string): string {
  return `SELECT d.id AS id FROM webhook_deliveries d
       WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}
         AND (d.call_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM webhook_deliveries p
           WHERE p.endpoint_id = d.endpoint_id AND p.call_id = d.call_id AND p.event_id < d.event_id AND p.status = 'pending'))
       ORDER BY d.next_attempt_at, d.id LIMIT ${limit}`;
}

/** The consumer name the fan-out keeps its position under (event_consumers). */
export const WEBHOOK_CONSUMER = 'webhooks';
/** Events fanned out per transaction. */
const FAN_OUT_BATCH = 500;

export function createDeliveryQueue(store: Store): DeliveryQueue {
  return store.dialect === 'sqlite' ? sqliteDeliveryQueue(store) : postgresDeliveryQueue(store);
}

/**
 * SQLite: each read and write a statement prepared once. A delivery costs a handful of them, and
 * building and compiling the SQL again for each (as a plain drizzle query does) was most of the
 * router's CPU per delivery (a CPU profile of 1,800 deliveries: 1.8 ms each).
 */
function sqliteDeliveryQueue(store: Extract<Store, { dialect: 'sqlite' }>): DeliveryQueue {
  const { db } = store;
  const statements = {
    enabledEndpoints: db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, slot('accountId')), eq(webhookEndpoints.enabled, true))).prepare(),
    insertDelivery: db
      .insert(webhookDeliveries)
      .values({ endpointId: slot('endpointId'), eventId: slot('eventId'), callId: slot('callId'), status: 'pending', nextAttemptAt: slot('now'), giveUpAt: slot('giveUpAt'), createdAt: slot('now') })
      .prepare(),
    dueIds: db.$client.prepare(dueIdsText('?', '?')),
    due: db
      .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints, event: events })
      .from(webhookDeliveries)
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .innerJoin(events, eq(events.id, webhookDeliveries.eventId))
      .where(eq(webhookDeliveries.id, slot('id')))
      .prepare(),
    insertAttempt: db
      .insert(webhookAttempts)
      .values({ deliveryId: slot('deliveryId'), at: slot('at'), statusCode: slot('statusCode'), latencyMs: slot('latencyMs'), error: slot('error'), responseExcerpt: slot('responseExcerpt') })
      .prepare(),
    delivered: db
      .update(webhookDeliveries)
      .set({ attempts: slot('attempts'), lastStatusCode: slot('statusCode'), lastError: slot('error'), status: 'delivered', deliveredAt: slot('at') })
      .where(eq(webhookDeliveries.id, slot('id')))
      .prepare(),
    // Taken for one delivery attempt: due again only after `until`, so another dispatcher (another
    // node) passes it by meanwhile, and a dispatcher that died mid-attempt leaves it to be retried.
    claim: db
      .update(webhookDeliveries)
      .set({ nextAttemptAt: slot('until') })
      .where(and(eq(webhookDeliveries.id, slot('id')), eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, slot('now'))))
      .prepare(),
    retry: db
      .update(webhookDeliveries)
      .set({ attempts: slot('attempts'), lastStatusCode: slot('statusCode'), lastError: slot('error'), nextAttemptAt: slot('nextAt') })
      .where(eq(webhookDeliveries.id, slot('id')))
      .prepare(),
    failed: db
      .update(webhookDeliveries)
      .set({ attempts: slot('attempts'), lastStatusCode: slot('statusCode'), lastError: slot('error'), status: 'failed' })
      .where(eq(webhookDeliveries.id, slot('id')))
      .prepare(),
    deliveredSince: db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.endpointId, slot('endpointId')), eq(webhookDeliveries.status, 'delivered'), gte(webhookDeliveries.deliveredAt, slot('since'))))
      .orderBy(asc(webhookDeliveries.id))
      .limit(1)
      .prepare(),
  };

  function fanOut(batch: readonly EventRow[], now: number, retryMs: number, skip: (e: EventRow) => boolean): void {
    const endpointsOf = new Map<number, WebhookEndpointRow[]>();
    for (const e of batch) {
      if (e.accountId === null) continue;
      let endpoints = endpointsOf.get(e.accountId);
      if (!endpoints) {
        endpoints = statements.enabledEndpoints.all({ accountId: e.accountId });
        endpointsOf.set(e.accountId, endpoints);
      }
      if (endpoints.length === 0 || skip(e)) continue;
      for (const endpoint of endpoints) {
        if (!endpointWants(endpoint, e.type)) continue;
        statements.insertDelivery.run({ endpointId: endpoint.id, eventId: e.id, callId: e.callId, now, giveUpAt: now + retryMs });
      }
    }
  }
  // The consumer (and its prepared statements) is made once; the look's clock and rules reach its
  // handler through here (fanOutNew sets them, then the handler runs inside that same call).
  let fanOutArgs: Parameters<typeof fanOut> extends [unknown, ...infer R] ? R : never = [0, 0, () => false];
  const consume = createEventConsumer(store, WEBHOOK_CONSUMER, FAN_OUT_BATCH, { dialect: 'sqlite', handle: (batch) => fanOut(batch, ...fanOutArgs) });
  const recordAttempt = db.$client.transaction((delivery: WebhookDeliveryRow, a: AttemptRecord, outcome: AttemptOutcome) => {
    statements.insertAttempt.run({ deliveryId: delivery.id, ...a });
    const common = { id: delivery.id, attempts: delivery.attempts + 1, statusCode: a.statusCode, error: a.error };
    if (outcome.kind === 'delivered') statements.delivered.run({ ...common, at: a.at });
    else if (outcome.kind === 'retry') statements.retry.run({ ...common, nextAt: outcome.at });
    else statements.failed.run(common);
  });

  return {
    async fanOutNew(now, retryMs, skip) {
      fanOutArgs = [now, retryMs, skip];
      await consume();
    },
    async due(now, limit, exclude) {
      const ids = (statements.dueIds.all(now, limit + exclude.size) as Array<{ id: number }>).map((r) => r.id).filter((id) => !exclude.has(id)).slice(0, limit);
      return ids.map((id) => statements.due.get({ id })).filter((d): d is DueDelivery => d !== undefined);
    },
    async claim(id, now, until) {
      return statements.claim.run({ id, now, until }).changes === 1;
    },
    async recordAttempt(delivery, a, outcome) {
      recordAttempt(delivery, a, outcome);
    },
    async deliveredSince(endpointId, since) {
      return statements.deliveredSince.get({ endpointId, since }) !== undefined;
    },
  };
}

/** PostgreSQL: the same reads and writes as works (a network round trip each; nothing here is on a call's path). */
function postgresDeliveryQueue(store: Extract<Store, { dialect: 'postgres' }>): DeliveryQueue {
  const fanOut = (batch: readonly EventRow[], now: number, retryMs: number, skip: (e: EventRow) => boolean): Work<void> =>
    function* ({ db, t }) {
      const e = t.webhookEndpoints;
      const endpointsOf = new Map<number, WebhookEndpointRow[]>();
      for (const ev of batch) {
        if (ev.accountId === null) continue;
        let endpoints = endpointsOf.get(ev.accountId);
        if (!endpoints) {
          endpoints = yield* rows(db.select().from(e).where(and(eq(e.accountId, ev.accountId), eq(e.enabled, true))));
          endpointsOf.set(ev.accountId, endpoints);
        }
        if (endpoints.length === 0 || skip(ev)) continue;
        const values = endpoints
          .filter((endpoint) => endpointWants(endpoint, ev.type))
          .map((endpoint) => ({ endpointId: endpoint.id, eventId: ev.id, callId: ev.callId, status: 'pending' as const, nextAttemptAt: now, giveUpAt: now + retryMs, createdAt: now }));
        if (values.length > 0) yield* affected(db.insert(t.webhookDeliveries).values(values));
      }
    };
  // As on SQLite: set by fanOutNew for the consumer's handler (one look at a time: the dispatcher's tick).
  let fanOutArgs: [number, number, (e: EventRow) => boolean] = [0, 0, () => false];
  const consume = createEventConsumer(store, WEBHOOK_CONSUMER, FAN_OUT_BATCH, { dialect: 'postgres', handle: (batch) => fanOut(batch, ...fanOutArgs) });
  return {
    async fanOutNew(now, retryMs, skip) {
      fanOutArgs = [now, retryMs, skip];
      await consume();
    },
    due: (now, limit, exclude) =>
      store.run(function* ({ db, t }) {
        const ids = (yield* raw<{ id: number }>(sql.raw(dueIdsText(String(Math.trunc(now)), String(Math.trunc(limit + exclude.size)))))).map((r) => Number(r.id)).filter((id) => !exclude.has(id)).slice(0, limit);
        if (ids.length === 0) return [];
        const { webhookDeliveries: d, webhookEndpoints: e, events } = t;
        const found = yield* rows(
          db.select({ delivery: d, endpoint: e, event: events }).from(d).innerJoin(e, eq(e.id, d.endpointId)).innerJoin(events, eq(events.id, d.eventId)).where(inArray(d.id, ids)),
        );
        const byId = new Map(found.map((f) => [f.delivery.id, f]));
        return ids.flatMap((id) => byId.get(id) ?? []);
      }),
    claim: (id, now, until) =>
      store.run(function* ({ db, t }) {
        const d = t.webhookDeliveries;
        return (yield* affected(db.update(d).set({ nextAttemptAt: until }).where(and(eq(d.id, id), eq(d.status, 'pending'), lte(d.nextAttemptAt, now))))) === 1;
      }),
    recordAttempt: (delivery, a, outcome) =>
      store.run(
        function* ({ db, t }) {
          const d = t.webhookDeliveries;
          yield* affected(db.insert(t.webhookAttempts).values({ deliveryId: delivery.id, ...a }));
          const common = { attempts: delivery.attempts + 1, lastStatusCode: a.statusCode, lastError: a.error };
          const set =
            outcome.kind === 'delivered'
              ? { ...common, status: 'delivered' as const, deliveredAt: a.at }
              : outcome.kind === 'retry'
                ? { ...common, nextAttemptAt: outcome.at }
                : { ...common, status: 'failed' as const };
          yield* affected(db.update(d).set(set).where(eq(d.id, delivery.id)));
        },
        { transaction: true },
      ),
    deliveredSince: (endpointId, since) =>
      store.run(function* ({ db, t }) {
        const d = t.webhookDeliveries;
        return (yield* row(db.select({ id: d.id }).from(d).where(and(eq(d.endpointId, endpointId), eq(d.status, 'delivered'), gte(d.deliveredAt, since))).limit(1))) !== undefined;
      }),
  };
}

