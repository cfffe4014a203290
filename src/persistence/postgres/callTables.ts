/**
 * The PostgreSQL dialect's tables of calls, numbers, recordings and route plans (./accessTables.ts has
 * the rest), as ../schema.ts documents them. Differences of type only: integers are bigint (times are
 * milliseconds since the epoch), booleans boolean, reals double precision, ids identity columns.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { AnnouncementMode, CallDisposition, DialAllowlistKind, LeadStatus, RecordingChannels, RecordingStatus } from '../schema.js';

export const agencies = pgTable('agencies', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  requireTwoFactor: boolean('require_two_factor').notNull().default(false),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
});

export const accounts = pgTable('accounts', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  name: text('name').notNull(),
  agencyId: bigint('agency_id', { mode: 'number' }).references(() => agencies.id),
  requireTwoFactor: boolean('require_two_factor').notNull().default(false),
  recordingRetentionDays: bigint('recording_retention_days', { mode: 'number' }),
  callRetentionDays: bigint('call_retention_days', { mode: 'number' }).default(730),
  visitRetentionDays: bigint('visit_retention_days', { mode: 'number' }).default(90),
  auditRetentionDays: bigint('audit_retention_days', { mode: 'number' }).default(365),
  publicKey: text('public_key'),
  allowedDomains: text('allowed_domains').notNull().default('[]'),
  attributionModel: text('attribution_model').$type<'first' | 'last'>().notNull().default('first'),
  attributionWindowDays: bigint('attribution_window_days', { mode: 'number' }).notNull().default(30),
  timeZone: text('time_zone'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
},
  (t) => [uniqueIndex('accounts_public_key_unique').on(t.publicKey)],
);

export const announcements = pgTable('announcements', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
  accountId: bigint('account_id', { mode: 'number' }).references(() => accounts.id),
  name: text('name').notNull(),
  soundName: text('sound_name').notNull(),
  durationSeconds: doublePrecision('duration_seconds'),
  createdAt: bigint('created_at', { mode: 'number' }).notNull(),
});

export const trackingNumbers = pgTable(
  'tracking_numbers',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    did: text('did').notNull(),
    label: text('label'),
    destination: text('destination').notNull(),
    ringTimeoutSeconds: bigint('ring_timeout_seconds', { mode: 'number' }).notNull().default(30),
    enabled: boolean('enabled').notNull().default(true),
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    recordingEnabled: boolean('recording_enabled').notNull().default(true),
    recordingChannels: text('recording_channels').$type<RecordingChannels>().notNull().default('mixed'),
    announcement: text('announcement').$type<AnnouncementMode>().notNull().default('none'),
    announcementId: bigint('announcement_id', { mode: 'number' }).references(() => announcements.id),
    poolId: bigint('pool_id', { mode: 'number' }),
    routePlanId: bigint('route_plan_id', { mode: 'number' }).references(() => routePlans.id),
    maxConcurrentCalls: bigint('max_concurrent_calls', { mode: 'number' }),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('tracking_numbers_did_unique').on(t.did), index('tracking_numbers_account_idx').on(t.accountId)],
);

export const calls = pgTable(
  'calls',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' }).references(() => accounts.id),
    trackingNumberId: bigint('tracking_number_id', { mode: 'number' }).references(() => trackingNumbers.id),
    did: text('did').notNull(),
    callerNumber: text('caller_number'),
    callerName: text('caller_name'),
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    destination: text('destination'),
    finished: boolean('finished').notNull().default(false),
    disposition: text('disposition').$type<CallDisposition>(),
    sipCode: bigint('sip_code', { mode: 'number' }),
    hangupCause: bigint('hangup_cause', { mode: 'number' }),
    endedBy: text('ended_by'),
    arrivedAt: bigint('arrived_at', { mode: 'number' }).notNull(),
    answeredAt: bigint('answered_at', { mode: 'number' }),
    endedAt: bigint('ended_at', { mode: 'number' }),
    ringSeconds: doublePrecision('ring_seconds'),
    talkSeconds: doublePrecision('talk_seconds'),
    inboundChannelId: text('inbound_channel_id').notNull(),
    outboundChannelId: text('outbound_channel_id'),
    bridgeId: text('bridge_id'),
    reconciled: boolean('reconciled').notNull().default(false),
    reconciledReason: text('reconciled_reason'),
    visitId: bigint('visit_id', { mode: 'number' }),
    landingPage: text('landing_page'),
    referrer: text('referrer'),
    utm: text('utm'),
    clickIds: text('click_ids'),
    firstVisitAt: bigint('first_visit_at', { mode: 'number' }),
    firstTimeCaller: boolean('first_time_caller'),
    recordingStatus: text('recording_status').$type<RecordingStatus>().notNull().default('none'),
    routeStep: text('route_step'),
    answeredDestination: text('answered_destination'),
    destinationsTried: text('destinations_tried'),
    dialplanHandOff: boolean('dialplan_handoff').notNull().default(false),
    restricted: boolean('restricted').notNull().default(false),
    recordingPauses: text('recording_pauses'),
    tags: text('tags'),
    notes: text('notes'),
    value: doublePrecision('value'),
    leadStatus: text('lead_status').$type<LeadStatus>(),
    nodeId: text('node_id').notNull().default(''),
    sipCallId: text('sip_call_id'),
  },
  (t) => [
    index('calls_arrived_idx').on(t.arrivedAt),
    uniqueIndex('calls_sip_call_unique').on(t.sipCallId),
    index('calls_account_arrived_idx').on(t.accountId, t.arrivedAt),
    index('calls_did_arrived_idx').on(t.did, t.arrivedAt),
    index('calls_unfinished_idx').on(t.finished).where(sql`finished = false`),
    uniqueIndex('calls_inbound_channel_unique').on(t.inboundChannelId),
    index('calls_account_caller_idx').on(t.accountId, t.callerNumber),
    index('calls_account_source_report_idx').on(t.accountId, t.source, t.arrivedAt, t.disposition, t.firstTimeCaller),
  ],
);

export const callReportDays = pgTable(
  'call_report_days',
  {
    accountId: bigint('account_id', { mode: 'number' }).notNull(),
    day: bigint('day', { mode: 'number' }).notNull(),
    source: text('source').notNull(),
    medium: text('medium').notNull(),
    campaign: text('campaign').notNull(),
    calls: bigint('calls', { mode: 'number' }).notNull(),
    answered: bigint('answered', { mode: 'number' }).notNull(),
    firstTimeCallers: bigint('first_time_callers', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.source, t.medium, t.campaign] }), index('call_report_days_day_idx').on(t.day)],
);

export const routeTableVersion = pgTable('route_table_version', {
  id: bigint('id', { mode: 'number' }).primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull(),
});

export const recordings = pgTable(
  'recordings',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    callId: bigint('call_id', { mode: 'number' })
      .notNull()
      .references(() => calls.id),
    accountId: bigint('account_id', { mode: 'number' }).references(() => accounts.id),
    kind: text('kind').notNull().default('call'),
    status: text('status').$type<RecordingStatus>().notNull(),
    channels: text('channels').$type<RecordingChannels>().notNull(),
    asteriskNames: text('asterisk_names').notNull(),
    startedAt: bigint('started_at', { mode: 'number' }).notNull(),
    stoppedAt: bigint('stopped_at', { mode: 'number' }),
    path: text('path'),
    format: text('format'),
    codec: text('codec'),
    contentType: text('content_type'),
    sizeBytes: bigint('size_bytes', { mode: 'number' }),
    durationSeconds: doublePrecision('duration_seconds'),
    sha256: text('sha256'),
    keyId: text('key_id'),
    statusReason: text('status_reason'),
    readyAt: bigint('ready_at', { mode: 'number' }),
    deletedAt: bigint('deleted_at', { mode: 'number' }),
    nodeId: text('node_id').notNull().default(''),
  },
  (t) => [index('recordings_call_idx').on(t.callId), index('recordings_account_started_idx').on(t.accountId, t.startedAt)],
);

export const mediaJobs = pgTable(
  'media_jobs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    recordingId: bigint('recording_id', { mode: 'number' })
      .notNull()
      .references(() => recordings.id),
    status: text('status').notNull(),
    attempts: bigint('attempts', { mode: 'number' }).notNull().default(0),
    lastError: text('last_error'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
    nodeId: text('node_id').notNull().default(''),
  },
  (t) => [index('media_jobs_status_idx').on(t.status, t.id)],
);

export const nodeLeases = pgTable('node_leases', {
  nodeId: text('node_id').primaryKey(),
  startedAt: bigint('started_at', { mode: 'number' }).notNull(),
  renewedAt: bigint('renewed_at', { mode: 'number' }).notNull(),
  expiresAt: bigint('expires_at', { mode: 'number' }).notNull(),
});

export const routePlans = pgTable(
  'route_plans',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    accountId: bigint('account_id', { mode: 'number' })
      .notNull()
      .references(() => accounts.id),
    name: text('name').notNull(),
    timeZone: text('time_zone').notNull(),
    callerIdMode: text('caller_id_mode').$type<'caller' | 'tracking'>().notNull().default('caller'),
    definition: text('definition').notNull(),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('route_plans_account_idx').on(t.accountId)],
);

export const routePlanRoundRobin = pgTable(
  'route_plan_round_robin',
  {
    planId: bigint('plan_id', { mode: 'number' })
      .notNull()
      .references(() => routePlans.id, { onDelete: 'cascade' }),
    stepName: text('step_name').notNull(),
    counters: text('counters').notNull().default('{}'),
    calls: bigint('calls', { mode: 'number' }).notNull().default(0),
    updatedAt: bigint('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.stepName] })],
);

export const dialAllowlist = pgTable(
  'dial_allowlist',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity(),
    kind: text('kind').$type<DialAllowlistKind>().notNull(),
    value: text('value').notNull(),
    note: text('note'),
    createdAt: bigint('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('dial_allowlist_kind_value_unique').on(t.kind, t.value)],
);

