import { and, asc, desc, eq, inArray, lt, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from './auditRepository.js';
import { appendEvent } from './eventRepository.js';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import {
  events,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
  type EventRow,
  type EventType,
  type WebhookAttemptRow,
  type WebhookDeliveryRow,
  type WebhookDeliveryStatus,
  type WebhookEndpointRow,
} from './schema.js';

export const ALL_EVENT_TYPES = '*';

export interface EndpointInput {
  accountId: number;
  url: string;
  description: string | null;
  eventTypes: ReadonlyArray<EventType | typeof ALL_EVENT_TYPES>;
  secret: string;
  enabled: boolean;
}

export function createEndpoint(db: Db, e: EndpointInput, now: number): WebhookEndpointRow {
  return db
    .insert(webhookEndpoints)
    .values({ ...e, eventTypes: JSON.stringify(e.eventTypes), createdAt: now, updatedAt: now })
    .returning()
    .get();
}

export function getEndpoint(db: Db, id: number): WebhookEndpointRow | undefined {
  return db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)).get();
}

/** Undefined accountIds: every account's (the operator). */
export function listEndpoints(db: Db, accountIds?: readonly number[]): WebhookEndpointRow[] {
  const where = accountIds === undefined ? undefined : inAccounts(webhookEndpoints.accountId, accountIds);
  return db.select().from(webhookEndpoints).where(where).orderBy(asc(webhookEndpoints.id)).all();
}

export type EndpointChange = Partial<Pick<EndpointInput, 'url' | 'description' | 'eventTypes' | 'enabled'>>;

/** Enabling again clears why callroute had disabled it; changes take effect for events from now on. */
export function updateEndpoint(db: Db, id: number, c: EndpointChange, now: number): WebhookEndpointRow | undefined {
  const set: Partial<typeof webhookEndpoints.$inferInsert> = { updatedAt: now };
  if (c.url !== undefined) set.url = c.url;
  if (c.description !== undefined) set.description = c.description;
  if (c.eventTypes !== undefined) set.eventTypes = JSON.stringify(c.eventTypes);
  if (c.enabled !== undefined) {
    set.enabled = c.enabled;
    if (c.enabled) Object.assign(set, { disabledReason: null, disabledAt: null });
  }
  return db.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning().get();
}

export function deleteEndpoint(db: Db, id: number): boolean {
  return db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).run().changes > 0;
}

/** The new secret signs from now on; the old one also signs until `previousValidUntil`. */
export function rotateEndpointSecret(db: Db, id: number, secret: string, previousValidUntil: number, now: number): WebhookEndpointRow | undefined {
  return db
    .update(webhookEndpoints)
    .set({ secret, previousSecret: sql`${webhookEndpoints.secret}`, previousSecretExpiresAt: previousValidUntil, updatedAt: now })
    .where(eq(webhookEndpoints.id, id))
    .returning()
    .get();
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
export function disableEndpoint(db: Db, endpoint: WebhookEndpointRow, reason: string, now: number): void {
  db.transaction((tx) => {
    const txDb = tx as unknown as Db;
    tx.update(webhookEndpoints).set({ enabled: false, disabledReason: reason, disabledAt: now, updatedAt: now }).where(eq(webhookEndpoints.id, endpoint.id)).run();
    tx.update(webhookDeliveries)
      .set({ status: 'failed', lastError: `endpoint disabled: ${reason}` })
      .where(and(eq(webhookDeliveries.endpointId, endpoint.id), eq(webhookDeliveries.status, 'pending')))
      .run();
    appendEvent(txDb, {
      type: 'webhook.endpoint-disabled',
      accountId: endpoint.accountId,
      callId: null,
      occurredAt: now,
      payload: { endpoint: { id: endpoint.id, url: endpoint.url, reason } },
    });
    appendAudit(
      txDb,
      { actorKind: 'system', actorUserId: null, actorKeyId: null, actor: 'webhooks', accountId: endpoint.accountId, action: 'webhook.endpoint-disabled', target: `webhook ${endpoint.id}`, detail: JSON.stringify({ reason }), ip: null },
      now,
    );
  });
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
export function deliveryLog(db: Db, endpointId: number, f: DeliveryLogFilter): DeliveryLogEntry[] {
  const where: SQL[] = [eq(webhookDeliveries.endpointId, endpointId)];
  if (f.status !== undefined) where.push(eq(webhookDeliveries.status, f.status));
  if (f.before !== undefined) where.push(lt(webhookDeliveries.id, f.before));
  const deliveries = db.select().from(webhookDeliveries).where(and(...where)).orderBy(desc(webhookDeliveries.id)).limit(f.limit).all();
  if (deliveries.length === 0) return [];
  const ids = deliveries.map((d) => d.id);
  const attempts = db.select().from(webhookAttempts).where(inArray(webhookAttempts.deliveryId, ids)).orderBy(asc(webhookAttempts.id)).all();
  const eventRows = db.select().from(events).where(inArray(events.id, deliveries.map((d) => d.eventId))).all();
  const eventById = new Map(eventRows.map((e) => [e.id, e]));
  return deliveries.flatMap((delivery) => {
    const e = eventById.get(delivery.eventId);
    if (!e) return [];
    return [{ delivery, event: { uid: e.uid, type: e.type, occurredAt: e.occurredAt }, attempts: attempts.filter((a) => a.deliveryId === delivery.id) }];
  });
}

/** Queues these events again for one endpoint (same event ids, so receivers that dedupe see one event). */
export function queueRedelivery(db: Db, endpoint: WebhookEndpointRow, batch: readonly EventRow[], now: number, retryMs: number): number {
  let queued = 0;
  db.transaction((tx) => {
    for (const e of batch) {
      if (e.accountId !== endpoint.accountId) continue;
      tx.insert(webhookDeliveries)
        .values({ endpointId: endpoint.id, eventId: e.id, callId: e.callId, status: 'pending', nextAttemptAt: now, giveUpAt: now + retryMs, redelivery: true, createdAt: now })
        .run();
      queued++;
    }
  });
  return queued;
}
