import { and, asc, eq, gte, lte, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
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

/**
 * The webhook dispatcher's reads and writes, each a statement prepared once: a delivery costs a
 * handful of them, and building and compiling the SQL again for each (as a plain drizzle query
 * does) was most of the router's CPU per delivery (a CPU profile of 1,800 deliveries: 1.8 ms each).
 */
export function createDeliveryQueue(db: Db) {
  const statements = {
    enabledEndpoints: db.select().from(webhookEndpoints).where(and(eq(webhookEndpoints.accountId, slot('accountId')), eq(webhookEndpoints.enabled, true))).prepare(),
    insertDelivery: db
      .insert(webhookDeliveries)
      .values({ endpointId: slot('endpointId'), eventId: slot('eventId'), callId: slot('callId'), status: 'pending', nextAttemptAt: slot('now'), giveUpAt: slot('giveUpAt'), createdAt: slot('now') })
      .prepare(),
    // Longest due first, in the (status, next_attempt_at) index's own order, so a look reads only what
    // it returns (and the few later events of a call it skips); a call's later event waits while an
    // earlier one is pending at the same endpoint (webhook_deliveries_call_order_idx).
    dueIds: db.$client.prepare(
      `SELECT d.id AS id FROM webhook_deliveries d
       WHERE d.status = 'pending' AND d.next_attempt_at <= ?
         AND (d.call_id IS NULL OR NOT EXISTS (
           SELECT 1 FROM webhook_deliveries p
           WHERE p.endpoint_id = d.endpoint_id AND p.call_id = d.call_id AND p.event_id < d.event_id AND p.status = 'pending'))
       ORDER BY d.next_attempt_at, d.id LIMIT ?`,
    ),
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

  return {
    /**
     * Turns events into pending deliveries, one per enabled endpoint of the event's account that
     * wants its type. `skip` leaves an event undelivered (a restricted caller's call). One transaction.
     */
    fanOut(batch: readonly EventRow[], now: number, retryMs: number, skip: (e: EventRow) => boolean): number {
      const endpointsOf = new Map<number, WebhookEndpointRow[]>();
      let queued = 0;
      db.$client.transaction(() => {
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
            queued++;
          }
        }
      })();
      return queued;
    },

    /** Deliveries whose time has come (see dueIds), with their endpoint and event. `exclude`: in flight. */
    due(now: number, limit: number, exclude: ReadonlySet<number>): DueDelivery[] {
      const ids = (statements.dueIds.all(now, limit + exclude.size) as Array<{ id: number }>).map((r) => r.id).filter((id) => !exclude.has(id)).slice(0, limit);
      return ids.map((id) => statements.due.get({ id })).filter((d): d is DueDelivery => d !== undefined);
    },

    /**
     * Takes a due delivery for one attempt until `until` (a time past the attempt's timeout). False:
     * another dispatcher took it first, or it is no longer due.
     */
    claim(id: number, now: number, until: number): boolean {
      return statements.claim.run({ id, now, until }).changes === 1;
    },

    /** One attempt into the log, and what it means for the delivery, in one transaction. */
    recordAttempt(delivery: WebhookDeliveryRow, a: AttemptRecord, outcome: AttemptOutcome): void {
      db.$client.transaction(() => {
        statements.insertAttempt.run({ deliveryId: delivery.id, ...a });
        const common = { id: delivery.id, attempts: delivery.attempts + 1, statusCode: a.statusCode, error: a.error };
        if (outcome.kind === 'delivered') statements.delivered.run({ ...common, at: a.at });
        else if (outcome.kind === 'retry') statements.retry.run({ ...common, nextAt: outcome.at });
        else statements.failed.run(common);
      })();
    },

    /** Whether the endpoint took any delivery since `since` (a give-up after successes elsewhere is not a dead endpoint). */
    deliveredSince(endpointId: number, since: number): boolean {
      return statements.deliveredSince.get({ endpointId, since }) !== undefined;
    },
  };
}

export type DeliveryQueue = ReturnType<typeof createDeliveryQueue>;
