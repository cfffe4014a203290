/**
 * The SQLite schema, in part: what calls are tied to and flow into: attribution (source rules, number
 * pools, visits), the event outbox, webhooks and ad-platform conversions. src/persistence/schema.ts
 * gathers the parts. Times are integer milliseconds since the epoch (UTC); the API renders ISO 8601.
 */
import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { accounts, calls, trackingNumbers } from './schemaCalls.js';

/**
 * Source rules per account, applied in `position` order: a landing-page parameter, a referrer
 * (exact host or a group such as search engines / social), or direct.
 */
export const sourceRules = sqliteTable(
  'source_rules',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    position: integer('position').notNull(),
    /** param | referrer_host | referrer_group | direct */
    kind: text('kind').notNull(),
    /** param: the parameter (utm_source, gclid, ...); referrer_host: the host; referrer_group: search | social | ... */
    match: text('match'),
    /** param: required value (null = present with any value). */
    value: text('value'),
    source: text('source').notNull(),
    medium: text('medium'),
    campaign: text('campaign'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('source_rules_account_idx').on(t.accountId, t.position)],
);

/** A visitor-level pool of tracking numbers (trackingNumbers.poolId). */
export const numberPools = sqliteTable(
  'number_pools',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    name: text('name').notNull(),
    /** Visitors of this source use the pool; null: any source without a pool of its own. */
    source: text('source'),
    /** Shown when every pool number is held (the exhaustion is counted). */
    fallbackTrackingNumberId: integer('fallback_tracking_number_id').references(() => trackingNumbers.id),
    /** A number is released this long after the visitor's last heartbeat. */
    idleReleaseSeconds: integer('idle_release_seconds').notNull().default(900),
    /** A call within this time after release still belongs to the visit. */
    releaseGraceSeconds: integer('release_grace_seconds').notNull().default(600),
    /** Warn when more than this share of numbers is held. */
    warnUtilization: real('warn_utilization').notNull().default(0.8),
    exhaustedCount: integer('exhausted_count').notNull().default(0),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('number_pools_account_idx').on(t.accountId)],
);

/** A web visit seen by the snippet: what it came with, and the number it was shown. */
export const visits = sqliteTable(
  'visits',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    /** Random id the snippet keeps in the visitor's browser (first-party storage). */
    visitorId: text('visitor_id').notNull(),
    poolId: integer('pool_id'),
    trackingNumberId: integer('tracking_number_id'),
    assignedAt: integer('assigned_at'),
    lastSeenAt: integer('last_seen_at').notNull(),
    releasedAt: integer('released_at'),
    landingPage: text('landing_page'),
    referrer: text('referrer'),
    utm: text('utm'),
    clickIds: text('click_ids'),
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    firstVisitAt: integer('first_visit_at').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('visits_visitor_idx').on(t.accountId, t.visitorId),
    index('visits_number_idx').on(t.trackingNumberId, t.releasedAt),
  ],
);

export type SourceRuleRow = typeof sourceRules.$inferSelect;
export type NumberPoolRow = typeof numberPools.$inferSelect;
export type VisitRow = typeof visits.$inferSelect;
/**
 * What other systems are told (src/events): every event, in order (`id`), is one row written in the
 * same transaction as the change it describes, so none is lost when the process dies (an outbox).
 * Call and recording events and configuration changes are written by triggers (migration 0020);
 * routed and modified by the code that makes them. The payload (JSON, `version` its shape) is the
 * state at that moment: for call events the call row's columns as they were (see src/events/eventView.ts).
 */
export const EVENT_TYPES = [
  'call.arrived',
  'call.routed',
  'call.answered',
  'call.ended',
  'call.modified',
  'recording.ready',
  'recording.deleted',
  'recording.expired',
  'voicemail.left',
  'number.changed',
  'configuration.changed',
  'webhook.endpoint-disabled',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const events = sqliteTable(
  'events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The public id and every delivery's idempotency key: random, so a restored database never reuses one. */
    uid: text('uid').notNull().default(sql`(lower(hex(randomblob(16))))`),
    type: text('type').$type<EventType>().notNull(),
    /** No foreign key: an event outlives nothing it describes but must never block a delete. */
    accountId: integer('account_id'),
    callId: integer('call_id'),
    occurredAt: integer('occurred_at').notNull(),
    version: integer('version').notNull().default(1),
    payload: text('payload').notNull(),
  },
  (t) => [
    uniqueIndex('events_uid_unique').on(t.uid),
    index('events_call_idx').on(t.callId),
    index('events_account_idx').on(t.accountId, t.id),
    index('events_occurred_idx').on(t.occurredAt),
  ],
);
export type EventRow = typeof events.$inferSelect;

/** How far each consumer of the event stream has read (webhook fan-out, conversions). */
export const eventConsumers = sqliteTable('event_consumers', {
  name: text('name').primaryKey(),
  lastEventId: integer('last_event_id').notNull(),
});

/** A receiver of an account's events: where, which types, the secrets it verifies signatures with. */
export const webhookEndpoints = sqliteTable(
  'webhook_endpoints',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    /** JSON array of event types; ["*"] for all. */
    eventTypes: text('event_types').notNull(),
    secret: text('secret').notNull(),
    /** After a rotation the old secret also signs until this time, so receivers can switch over. */
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: integer('previous_secret_expires_at'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    /** Why it was disabled by callroute (deliveries kept failing); null when enabled or disabled by a person. */
    disabledReason: text('disabled_reason'),
    disabledAt: integer('disabled_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('webhook_endpoints_account_idx').on(t.accountId)],
);
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/** One event for one endpoint: pending until a 2xx, failed when its retry time ran out (or the endpoint went). */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    endpointId: integer('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: integer('event_id')
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    /** Copied from the event: a call's deliveries to one endpoint go in event order. */
    callId: integer('call_id'),
    status: text('status').$type<WebhookDeliveryStatus>().notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    /** Retries stop after this time (the first attempt plus WEBHOOK_RETRY_HOURS). */
    giveUpAt: integer('give_up_at').notNull(),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: integer('delivered_at'),
    /** redelivery: asked for through the API. */
    redelivery: integer('redelivery', { mode: 'boolean' }).notNull().default(false),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_call_order_idx').on(t.endpointId, t.callId, t.eventId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
    index('webhook_deliveries_event_idx').on(t.eventId),
  ],
);
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

/** Every attempt of a delivery: the endpoint's delivery log. */
export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deliveryId: integer('delivery_id')
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    at: integer('at').notNull(),
    /** HTTP status; null when no response came (refused address, timeout, connection error). */
    statusCode: integer('status_code'),
    latencyMs: integer('latency_ms').notNull(),
    error: text('error'),
    /** The first bytes of the response body (capped). */
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id)],
);
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

export const CONVERSION_PLATFORMS = ['google-ads', 'ga4', 'meta', 'microsoft-ads'] as const;
export type ConversionPlatform = (typeof CONVERSION_PLATFORMS)[number];

/**
 * Where an account's qualified calls go as conversions: one ad platform account (its settings,
 * secrets included, in `settings` JSON, never shown back), the rules a call must meet (`rules` JSON:
 * src/integrations/conversions/qualifyCall.ts), and whether callroute sends them (`api`) or only
 * lists them for the platform's upload file (`csv`).
 */
export const conversionDestinations = sqliteTable(
  'conversion_destinations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    platform: text('platform').$type<ConversionPlatform>().notNull(),
    name: text('name').notNull(),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    delivery: text('delivery').$type<'api' | 'csv'>().notNull().default('api'),
    settings: text('settings').notNull(),
    rules: text('rules').notNull(),
    /** The platform's name for the conversion: a Google Ads conversion action id, a GA4 event, a Meta event, a Microsoft goal. */
    conversionName: text('conversion_name').notNull(),
    /** Used when the call has no value of its own (PATCH /v1/calls/:id). */
    defaultValue: real('default_value'),
    currency: text('currency').notNull().default('USD'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('conversion_destinations_account_idx').on(t.accountId)],
);
export type ConversionDestinationRow = typeof conversionDestinations.$inferSelect;

export const CONVERSION_STATUSES = ['pending', 'sent', 'failed', 'csv'] as const;
export type ConversionStatus = (typeof CONVERSION_STATUSES)[number];

/** A call that qualified for a destination: at most one per call and destination, with how sending it went. */
export const conversions = sqliteTable(
  'conversions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    destinationId: integer('destination_id')
      .notNull()
      .references(() => conversionDestinations.id, { onDelete: 'cascade' }),
    callId: integer('call_id')
      .notNull()
      .references(() => calls.id),
    accountId: integer('account_id').notNull(),
    status: text('status').$type<ConversionStatus>().notNull(),
    /** The click id it is credited to (gclid, msclkid, fbclid), when the platform takes one. */
    clickId: text('click_id'),
    conversionTime: integer('conversion_time').notNull(),
    value: real('value'),
    currency: text('currency').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    giveUpAt: integer('give_up_at').notNull(),
    /** The request body last sent (JSON), for the record of what the platform was told. */
    payload: text('payload'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    responseExcerpt: text('response_excerpt'),
    sentAt: integer('sent_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('conversions_destination_call_unique').on(t.destinationId, t.callId),
    index('conversions_due_idx').on(t.status, t.nextAttemptAt),
    index('conversions_call_idx').on(t.callId),
    index('conversions_account_idx').on(t.accountId, t.conversionTime),
  ],
);
export type ConversionRow = typeof conversions.$inferSelect;
