/** Webhook endpoints, their delivery log and redeliveries: works of ./store.ts (the dispatcher's queue: ./webhookDeliveryQueue.ts). */
import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from './auditRepository.js';
import { appendEvent } from './eventRepository.js';
import { inAccounts } from './inAccounts.js';
import type { EventRow, EventType, WebhookAttemptRow, WebhookDeliveryRow, WebhookDeliveryStatus, WebhookEndpointRow } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

export const ALL_EVENT_TYPES = '*';

export interface EndpointInput {
  accountId: number;
  url: string;
  description: string | null;
  eventTypes: ReadonlyArray<EventType | typeof ALL_EVENT_TYPES>;
  secret: string;
  enabled: boolean;
}

export function createEndpoint(e: EndpointInput, now: number): Work<WebhookEndpointRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.webhookEndpoints).values({ ...e, eventTypes: JSON.stringify(e.eventTypes), createdAt: now, updatedAt: now }).returning()))!;
  };
}

export function getEndpoint(id: number): Work<WebhookEndpointRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.webhookEndpoints).where(eq(t.webhookEndpoints.id, id)));
  };
}

/** Undefined accountIds: every account's (the operator). */
export function listEndpoints(accountIds?: readonly number[]): Work<WebhookEndpointRow[]> {
  return function* ({ db, t }) {
    const where = accountIds === undefined ? undefined : inAccounts(t.webhookEndpoints.accountId, accountIds);
    return yield* rows(db.select().from(t.webhookEndpoints).where(where).orderBy(asc(t.webhookEndpoints.id)));
  };
}

export type EndpointChange = Partial<Pick<EndpointInput, 'url' | 'description' | 'eventTypes' | 'enabled'>>;

/** Enabling again clears why callroute had disabled it; changes take effect for events from now on. */
export function updateEndpoint(id: number, c: EndpointChange, now: number): Work<WebhookEndpointRow | undefined> {
  return function* ({ db, t }) {
    const set: Partial<typeof t.webhookEndpoints.$inferInsert> = { updatedAt: now };
    if (c.url !== undefined) set.url = c.url;
    if (c.description !== undefined) set.description = c.description;
    if (c.eventTypes !== undefined) set.eventTypes = JSON.stringify(c.eventTypes);
    if (c.enabled !== undefined) {
      set.enabled = c.enabled;
      if (c.enabled) Object.assign(set, { disabledReason: null, disabledAt: null });
    }
    return yield* row(db.update(t.webhookEndpoints).set(set).where(eq(t.webhookEndpoints.id, id)).returning());
  };
}

export function deleteEndpoint(id: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.delete(t.webhookEndpoints).where(eq(t.webhookEndpoints.id, id)))) > 0;
  };
}

/** The new secret signs from now on; the old one also signs until `previousValidUntil`. */
export function rotateEndpointSecret(id: number, secret: string, previousValidUntil: number, now: number): Work<WebhookEndpointRow | undefined> {
  return function* ({ db, t }) {
    const e = t.webhookEndpoints;
    return yield* row(db.update(e).set({ secret, previousSecret: sql`${e.secret}`, previousSecretExpiresAt: previousValidUntil, updatedAt: now }).where(eq(e.id, id)).returning());
  };
}

/** The secrets a delivery is signed with now: the current one, and the previous one while it lasts. */
export function signingSecrets(e: WebhookEndpointRow, now: number): string[] {
  const previous = e.previousSecret && e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > now ? [e.previousSecret] : [];
  return [e.secret, ...previous];
}

export function endpointWants(e: WebhookEndpointRow, type: EventType): boolean {
  const types = JSON.parse(e.eventTypes) as string[];
  return types.includes(ALL_EVENT_TYPES) || types.includes(type);
}

/**
 * callroute stops delivering to an endpoint that keeps failing: it is disabled, its pending
 * deliveries fail, and the account is told (a webhook.endpoint-disabled event, which other
 * endpoints and the live feed carry, and an audit entry). One transaction.
 */
export function disableEndpoint(endpoint: WebhookEndpointRow, reason: string, now: number): Work<void> {
  return function* (q) {
    const { db, t } = q;
    const set = { enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now };
    yield* affected(db.update(t.webhookEndpoints).set(set).where(eq(t.webhookEndpoints.id, endpoint.id)));
    const d = t.webhookDeliveries;
    yield* affected(db.update(d).set({ status: 'failed', lastError: `endpoint disabled: ${reason}` }).where(and(eq(d.endpointId, endpoint.id), eq(d.status, 'pending'))));
    yield* appendEvent({
      type: 'webhook.endpoint-disabled',
      accountId: endpoint.accountId,
      callId: null,
      occurredAt: now,
      payload: { endpoint: { id: endpoint.id, url: endpoint.url, reason } },
    })(q);
    yield* appendAudit(
      { actorKind: 'system', actorUserId: null, actorKeyId: null, actor: 'webhooks', accountId: endpoint.accountId, action: 'webhook.endpoint-disabled', target: `webhook ${endpoint.id}`, detail: JSON.stringify({ reason }), ip: null },
      now,
    )(q);
  };
}

export interface DeliveryLogFilter {
  status?: WebhookDeliveryStatus;
  /** Deliveries with a smaller id than this (the previous page's last). */
  before?: number;
  limit: number;
}

export interface DeliveryLogEntry {
  delivery: WebhookDeliveryRow;
  event: { uid: string; type: EventType; occurredAt: number };
  attempts: WebhookAttemptRow[];
}

/** An endpoint's deliveries, newest first, each with its event and every attempt. */
export function deliveryLog(endpointId: number, f: DeliveryLogFilter): Work<DeliveryLogEntry[]> {
  return function* ({ db, t }) {
    const { webhookDeliveries: d, webhookAttempts: a, events } = t;
    const where: SQL[] = [eq(d.endpointId, endpointId)];
    if (f.status !== undefined) where.push(eq(d.status, f.status));
    if (f.before !== undefined) where.push(lt(d.id, f.before));
    const deliveries = yield* rows(db.select().from(d).where(and(...where)).orderBy(desc(d.id)).limit(f.limit));
    if (deliveries.length === 0) return [];
    const ids = deliveries.map((x) => x.id);
    const attempts = yield* rows(db.select().from(a).where(inArray(a.deliveryId, ids)).orderBy(asc(a.id)));
    const eventRows = yield* rows(db.select().from(events).where(inArray(events.id, deliveries.map((x) => x.eventId))));
    const eventById = new Map(eventRows.map((e) => [e.id, e]));
    return deliveries.flatMap((delivery) => {
      const e = eventById.get(delivery.eventId);
      if (!e) return [];
      return [{ delivery, event: { uid: e.uid, type: e.type, occurredAt: e.occurredAt }, attempts: attempts.filter((x) => x.deliveryId === delivery.id) }];
    });
  };
}

/** Queues these events again for one endpoint (same event ids, so receivers that dedupe see one event). Run it as a transaction. */
export function queueRedelivery(endpoint: WebhookEndpointRow, batch: readonly EventRow[], now: number, retryMs: number): Work<number> {
  return function* ({ db, t }) {
    let queued = 0;
    for (const e of batch) {
      if (e.accountId !== endpoint.accountId) continue;
      const values = { endpointId: endpoint.id, eventId: e.id, callId: e.callId, status: 'pending' as const, nextAttemptAt: now, giveUpAt: now + retryMs, redelivery: true, createdAt: now };
      yield* affected(db.insert(t.webhookDeliveries).values(values));
      queued++;
    }
    return queued;
  };
}
