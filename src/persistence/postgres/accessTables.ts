/**
 * The PostgreSQL dialect's other half (./callTables.ts has calls, numbers, recordings and route plans):
 * access, attribution, privacy, the event stream and its consumers, as ../schema.ts documents them.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, doublePrecision, index, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { CallerPrivacyRule, ConversionPlatform, ConversionStatus, EventType, PrivacyRequestKind, RoleName, WebhookDeliveryStatus } from '../schema.js';
import { accounts, agencies, calls, trackingNumbers } from './callTables.js';
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    userId: bigint('user_id', { mode: 'number' }).references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    scopes: text('scopes'),
    expiresAt: bigint('expires_at', { mode: 'number' }),
    tokenHash: text('token_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    revokedAt: bigint('revoked_at', { mode: 'number' }),
    lastUsedAt: bigint('last_used_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash), index('api_tokens_account_idx').on(t.accountId)],
);

export const sourceRules = pgTable(
  'source_rules',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    position: bigint('position', { mode: 'number' }).notNull(),
    kind: text('kind').notNull(),
    match: text('match'),
    value: text('value'),
    source: text('source').notNull(),
    medium: text('medium'),
    campaign: text('campaign'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('source_rules_account_idx').on(t.accountId, t.position)],
);

export const numberPools = pgTable(
  'number_pools',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    name: text('name').notNull(),
    source: text('source'),
    fallbackTrackingNumberId: bigint('fallback_tracking_number_id', { mode: 'number' }).references(() => trackingNumbers.id),
    idleReleaseSeconds: bigint('idle_release_seconds', { mode: 'number' }).notNull().default(900),
    releaseGraceSeconds: bigint('release_grace_seconds', { mode: 'number' }).notNull().default(600),
    warnUtilization: doublePrecision('warn_utilization').notNull().default(0.8),
    exhaustedCount: bigint('exhausted_count', { mode: 'number' }).notNull().default(0),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('number_pools_account_idx').on(t.accountId)],
);

export const visits = pgTable(
  'visits',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    visitorId: text('visitor_id').notNull(),
    poolId: bigint('pool_id', { mode: 'number' }),
    trackingNumberId: bigint('tracking_number_id', { mode: 'number' }),
    assignedAt: bigint('assigned_at', { mode: 'number' }),
    lastSeenAt: bigint('last_seen_at', { mode: 'number' }).notNull(),
    releasedAt: bigint('released_at', { mode: 'number' }),
    landingPage: text('landing_page'),
    referrer: text('referrer'),
    utm: text('utm'),
    clickIds: text('click_ids'),
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    firstVisitAt: bigint('first_visit_at', { mode: 'number' }).notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('visits_visitor_idx').on(t.accountId, t.visitorId),
    index('visits_number_idx').on(t.trackingNumberId, t.releasedAt),
  ],
);

export const users = pgTable(
  'users',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash'),
    operator: boolean('operator').notNull().default(false),
    totpSecret: text('totp_secret'),
    totpEnabledAt: bigint('totp_enabled_at', { mode: 'number' }),
    totpLastStep: bigint('totp_last_step', { mode: 'number' }),
    passwordChangedAt: bigint('password_changed_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accountId: bigint('account_id', { mode: 'number' }).references(() => accounts.id, { onDelete: 'cascade' }),
    agencyId: bigint('agency_id', { mode: 'number' }).references(() => agencies.id, { onDelete: 'cascade' }),
    role: text('role').$type<RoleName>().notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('memberships_user_account_unique').on(t.userId, t.accountId),
    uniqueIndex('memberships_user_agency_unique').on(t.userId, t.agencyId),
    index('memberships_account_idx').on(t.accountId),
    index('memberships_agency_idx').on(t.agencyId),
    check('memberships_one_scope', sql`(${t.accountId} IS NULL) <> (${t.agencyId} IS NULL)`),
  ],
);

export const sessions = pgTable(
  'sessions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    tokenHash: text('token_hash').notNull(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    lastSeenAt: bigint('last_seen_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    revokedAt: bigint('revoked_at', { mode: 'number' }),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [uniqueIndex('sessions_token_hash_unique').on(t.tokenHash), index('sessions_user_idx').on(t.userId)],
);

export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: bigint('used_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('recovery_codes_user_idx').on(t.userId)],
);

export const passwordResets = pgTable(
  'password_resets',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    userId: bigint('user_id', { mode: 'number' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
    usedAt: bigint('used_at', { mode: 'number' }),
    issuedBy: text('issued_by').notNull(),
  },
  (t) => [uniqueIndex('password_resets_token_hash_unique').on(t.tokenHash)],
);

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    at: bigint('at', { mode: 'number' }).notNull(),
    actorKind: text('actor_kind').notNull(),
    actorUserId: bigint('actor_user_id', { mode: 'number' }),
    actorKeyId: bigint('actor_key_id', { mode: 'number' }),
    actor: text('actor').notNull(),
    accountId: bigint('account_id', { mode: 'number' }),
    action: text('action').notNull(),
    target: text('target'),
    detail: text('detail'),
    ip: text('ip'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_account_idx').on(t.accountId, t.at),
    index('audit_log_actor_idx').on(t.actorUserId, t.at),
  ],
);

export const privacyRequests = pgTable(
  'privacy_requests',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    at: bigint('at', { mode: 'number' }).notNull(),
    kind: text('kind').$type<PrivacyRequestKind>().notNull(),
    subjectHash: text('subject_hash').notNull(),
    accountId: bigint('account_id', { mode: 'number' }),
    agencyId: bigint('agency_id', { mode: 'number' }),
    actor: text('actor').notNull(),
    result: text('result').notNull(),
  },
  (t) => [index('privacy_requests_subject_idx').on(t.subjectHash)],
);

export const callerPrivacyRules = pgTable(
  'caller_privacy_rules',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    callerNumber: text('caller_number').notNull(),
    rule: text('rule').$type<CallerPrivacyRule>().notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    createdBy: text('created_by').notNull(),
  },
  (t) => [uniqueIndex('caller_privacy_rules_unique').on(t.accountId, t.callerNumber, t.rule)],
);

export const retentionCursors = pgTable('retention_cursors', {
  accountId: bigint('account_id', { mode: 'number' })
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  callsArrivedAt: bigint('calls_arrived_at', { mode: 'number' }).notNull(),
  callsId: bigint('calls_id', { mode: 'number' }).notNull(),
});

export const events = pgTable(
  'events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    uid: text('uid').notNull().default(sql`replace(gen_random_uuid()::text, '-', '')`),
    type: text('type').$type<EventType>().notNull(),
    accountId: bigint('account_id', { mode: 'number' }),
    callId: bigint('call_id', { mode: 'number' }),
    occurredAt: bigint('occurred_at', { mode: 'number' }).notNull(),
    version: bigint('version', { mode: 'number' }).notNull().default(1),
    payload: text('payload').notNull(),
  },
  (t) => [
    uniqueIndex('events_uid_unique').on(t.uid),
    index('events_call_idx').on(t.callId),
    index('events_account_idx').on(t.accountId, t.id),
    index('events_occurred_idx').on(t.occurredAt),
  ],
);

export const eventConsumers = pgTable('event_consumers', {
  name: text('name').primaryKey(),
  lastEventId: bigint('last_event_id', { mode: 'number' }).notNull(),
});

export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    description: text('description'),
    eventTypes: text('event_types').notNull(),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: bigint('previous_secret_expires_at', { mode: 'number' }),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    disabledAt: bigint('disabled_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('webhook_endpoints_account_idx').on(t.accountId)],
);

export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    endpointId: bigint('endpoint_id', { mode: 'number' })
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: bigint('event_id', { mode: 'number' })
      .notNull()
      .references(() => events.id, { onDelete: 'cascade' }),
    callId: bigint('call_id', { mode: 'number' }),
    status: text('status').$type<WebhookDeliveryStatus>().notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
    giveUpAt: bigint('give_up_at', { mode: 'number' }).notNull(),
    lastStatusCode: bigint('last_status_code', { mode: 'number' }),
    lastError: text('last_error'),
    deliveredAt: bigint('delivered_at', { mode: 'number' }),
    redelivery: boolean('redelivery').notNull().default(false),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_call_order_idx').on(t.endpointId, t.callId, t.eventId),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
    index('webhook_deliveries_event_idx').on(t.eventId),
  ],
);

export const webhookAttempts = pgTable(
  'webhook_attempts',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    deliveryId: bigint('delivery_id', { mode: 'number' })
      .notNull()
      .references(() => webhookDeliveries.id, { onDelete: 'cascade' }),
    at: bigint('at', { mode: 'number' }).notNull(),
    statusCode: bigint('status_code', { mode: 'number' }),
    latencyMs: bigint('latency_ms', { mode: 'number' }).notNull(),
    error: text('error'),
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [index('webhook_attempts_delivery_idx').on(t.deliveryId, t.id)],
);

export const conversionDestinations = pgTable(
  'conversion_destinations',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    platform: text('platform').$type<ConversionPlatform>().notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    delivery: text('delivery').$type<'api' | 'csv'>().notNull().default('api'),
    settings: text('settings').notNull(),
    rules: text('rules').notNull(),
    conversionName: text('conversion_name').notNull(),
    defaultValue: doublePrecision('default_value'),
    currency: text('currency').notNull().default('USD'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('conversion_destinations_account_idx').on(t.accountId)],
);

export const conversions = pgTable(
  'conversions',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    destinationId: bigint('destination_id', { mode: 'number' })
      .notNull()
      .references(() => conversionDestinations.id, { onDelete: 'cascade' }),
    callId: bigint('call_id', { mode: 'number' })
      .notNull()
      .references(() => calls.id),
    accountId: bigint('account_id', { mode: 'number' }).notNull(),
    status: text('status').$type<ConversionStatus>().notNull(),
    clickId: text('click_id'),
    conversionTime: bigint('conversion_time', { mode: 'number' }).notNull(),
    value: doublePrecision('value'),
    currency: text('currency').notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    nextAttemptAt: bigint('next_attempt_at', { mode: 'number' }).notNull(),
    giveUpAt: bigint('give_up_at', { mode: 'number' }).notNull(),
    payload: text('payload'),
    lastStatusCode: bigint('last_status_code', { mode: 'number' }),
    lastError: text('last_error'),
    responseExcerpt: text('response_excerpt'),
    sentAt: bigint('sent_at', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('conversions_destination_call_unique').on(t.destinationId, t.callId),
    index('conversions_due_idx').on(t.status, t.nextAttemptAt),
    index('conversions_call_idx').on(t.callId),
    index('conversions_account_idx').on(t.accountId, t.conversionTime),
  ],
);
