/**
 * The SQLite schema, in part: accounts, tracking numbers and their route plans (with the dial
 * allowlist), calls and recordings (with their media jobs), and the node leases.
 * src/persistence/schema.ts gathers the parts. Times are integer milliseconds since the epoch (UTC);
 * the API renders ISO 8601.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** An agency: an optional umbrella over client accounts; its members see all of them. */
export const agencies = sqliteTable('agencies', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  /** Every member of the agency and of its accounts must sign in with a second factor. */
  requireTwoFactor: integer('require_two_factor', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

export const accounts = sqliteTable('accounts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  /** The agency the account is a client of; null: a direct customer. */
  agencyId: integer('agency_id').references(() => agencies.id),
  /** Every member of the account must sign in with a second factor. */
  requireTwoFactor: integer('require_two_factor', { mode: 'boolean' }).notNull().default(false),
  /** Recordings older than this many days are purged; null keeps them. */
  recordingRetentionDays: integer('recording_retention_days'),
  /**
   * Call records older than this many days are anonymised (who called goes, as in an erasure; their
   * recordings are deleted); null keeps them. On by default (about two years).
   */
  callRetentionDays: integer('call_retention_days').default(730),
  /** Web visits last seen longer ago than this are deleted (the snippet's visitor id lives as long); null keeps them. */
  visitRetentionDays: integer('visit_retention_days').default(90),
  /** Audit entries of the account older than this are deleted; null keeps them. */
  auditRetentionDays: integer('audit_retention_days').default(365),
  /** Public key in the website snippet's <script> tag (not a secret: it only selects the account). */
  publicKey: text('public_key'),
  /** JSON array of host names the snippet may be used on (exact, or `*.example.com`). */
  allowedDomains: text('allowed_domains').notNull().default('[]'),
  /** first (default) or last touch for returning visitors. */
  attributionModel: text('attribution_model').$type<'first' | 'last'>().notNull().default('first'),
  /** How long a returning visitor keeps their source. */
  attributionWindowDays: integer('attribution_window_days').notNull().default(30),
  /** IANA zone the account's people read times in (the dashboard); null: each viewer's own. */
  timeZone: text('time_zone'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
},
  // The snippet's public requests find their account by key: one indexed lookup.
  (t) => [uniqueIndex('accounts_public_key_unique').on(t.publicKey)],
);

export const RECORDING_CHANNELS = ['mixed', 'dual'] as const;
export type RecordingChannels = (typeof RECORDING_CHANNELS)[number];
export const ANNOUNCEMENT_MODES = ['none', 'default', 'custom'] as const;
export type AnnouncementMode = (typeof ANNOUNCEMENT_MODES)[number];

/** Sound files an admin uploaded, converted to what Asterisk plays (8 kHz mono 16-bit WAV). */
export const announcements = sqliteTable('announcements', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  accountId: integer('account_id').references(() => accounts.id),
  name: text('name').notNull(),
  /** Sound name Asterisk plays, e.g. `callroute/announcement-3` (file under its sounds dir). */
  soundName: text('sound_name').notNull(),
  durationSeconds: real('duration_seconds'),
  createdAt: integer('created_at').notNull(),
});

export const trackingNumbers = sqliteTable(
  'tracking_numbers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    /** E.164, e.g. +15551234567. */
    did: text('did').notNull(),
    label: text('label'),
    /** E.164 number dialed through the outbound trunk, or a sip: URI. */
    destination: text('destination').notNull(),
    ringTimeoutSeconds: integer('ring_timeout_seconds').notNull().default(30),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    /** Record answered calls (the default). */
    recordingEnabled: integer('recording_enabled', { mode: 'boolean' }).notNull().default(true),
    /** mixed: both parties in one mono file; dual: caller left, answering party right. */
    recordingChannels: text('recording_channels').$type<RecordingChannels>().notNull().default('mixed'),
    /** none | default (ships with callroute) | custom (announcementId). */
    announcement: text('announcement').$type<AnnouncementMode>().notNull().default('none'),
    announcementId: integer('announcement_id').references(() => announcements.id),
    /** Set for numbers that belong to a visitor-level pool. */
    poolId: integer('pool_id'),
    /** Calls follow this route plan; null: ring `destination` alone (the number's own ring timeout). */
    routePlanId: integer('route_plan_id').references(() => routePlans.id),
    /** Calls to this number at once beyond this get busy; null: no per-number cap. */
    maxConcurrentCalls: integer('max_concurrent_calls'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('tracking_numbers_did_unique').on(t.did), index('tracking_numbers_account_idx').on(t.accountId)],
);

export const CALL_DISPOSITIONS = ['answered', 'busy', 'no-answer', 'failed', 'caller-abandoned', 'rejected', 'voicemail'] as const;
export type CallDisposition = (typeof CALL_DISPOSITIONS)[number];

/** A person's verdict on a call (as CallRail's lead status). */
export const LEAD_STATUSES = ['good-lead', 'not-a-lead', 'unknown'] as const;
export type LeadStatus = (typeof LEAD_STATUSES)[number];

export const calls = sqliteTable(
  'calls',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** Null for a call to an unknown DID (rejected before any account is known). */
    accountId: integer('account_id').references(() => accounts.id),
    trackingNumberId: integer('tracking_number_id').references(() => trackingNumbers.id),
    did: text('did').notNull(),
    callerNumber: text('caller_number'),
    callerName: text('caller_name'),
    /** Attribution copied from the tracking number when the call arrived. */
    source: text('source'),
    medium: text('medium'),
    campaign: text('campaign'),
    destination: text('destination'),
    /** False from arrival until release writes the outcome; startup reconciles leftovers. */
    finished: integer('finished', { mode: 'boolean' }).notNull().default(false),
    disposition: text('disposition').$type<CallDisposition>(),
    /** SIP response the caller got (200 when answered), when known. */
    sipCode: integer('sip_code'),
    /** Q.850 cause of the ending leg. */
    hangupCause: integer('hangup_cause'),
    /** caller | destination | router | system */
    endedBy: text('ended_by'),
    arrivedAt: integer('arrived_at').notNull(),
    answeredAt: integer('answered_at'),
    endedAt: integer('ended_at'),
    ringSeconds: real('ring_seconds'),
    talkSeconds: real('talk_seconds'),
    inboundChannelId: text('inbound_channel_id').notNull(),
    outboundChannelId: text('outbound_channel_id'),
    bridgeId: text('bridge_id'),
    /** Set when the outcome was completed by reconciliation after a router restart. */
    reconciled: integer('reconciled', { mode: 'boolean' }).notNull().default(false),
    /** Why reconciliation finished the call (e.g. its node's lease lapsed); null when not reconciled or not said. */
    reconciledReason: text('reconciled_reason'),
    /** The web visit the call belongs to (pool number held by that visitor), with what it said. */
    visitId: integer('visit_id'),
    landingPage: text('landing_page'),
    referrer: text('referrer'),
    /** JSON: utm_source, utm_medium, utm_campaign, utm_term, utm_content. */
    utm: text('utm'),
    /** JSON: gclid, fbclid, msclkid, ... */
    clickIds: text('click_ids'),
    firstVisitAt: integer('first_visit_at'),
    /** Has this caller number called this account before? */
    firstTimeCaller: integer('first_time_caller', { mode: 'boolean' }),
    /** none (not recorded) | recording | processing | ready | missing | failed | deleted | expired */
    recordingStatus: text('recording_status').$type<RecordingStatus>().notNull().default('none'),
    /** Route-plan step that answered (or the last one tried); null for calls without a plan. */
    routeStep: text('route_step'),
    /** The destination that answered (E.164 or sip: URI). */
    answeredDestination: text('answered_destination'),
    /** JSON array of every destination rung, in order: `[{ step, target, outcome }]` (routing/routePlan). */
    destinationsTried: text('destinations_tried'),
    /**
     * The router decided the call and handed it back to Asterisk's dialplan (`callroute-direct`),
     * which dialed and recorded it; the router followed its events to complete this record.
     */
    dialplanHandOff: integer('dialplan_handoff', { mode: 'boolean' }).notNull().default(false),
    /**
     * The caller asked for restriction of processing (a privacy request): the record is kept but
     * shown only to those who handle privacy in its account (owners, the operator).
     */
    restricted: integer('restricted', { mode: 'boolean' }).notNull().default(false),
    /**
     * JSON array of the recording's pauses while the call was up (POST /v1/calls/:id/recording/pause):
     * `[{ pausedAt, resumedAt }]` in ms, resumedAt null for a pause the call ended in. The paused spans
     * are silence in the recording.
     */
    recordingPauses: text('recording_pauses'),
    /** What the account's people (or their CRM) say about the call: PATCH /v1/calls/:id. JSON array of tags. */
    tags: text('tags'),
    notes: text('notes'),
    /** What the call was worth to the business (the account's currency), e.g. for ad-platform conversions. */
    value: real('value'),
    leadStatus: text('lead_status').$type<LeadStatus>(),
    /**
     * The node (NODE_ID) whose Asterisk carries the call: only it reconciles the call after a restart,
     * unless its lease lapses (node_leases). '' for calls written before nodes had names.
     */
    nodeId: text('node_id').notNull().default(''),
    /** The SIP Call-ID of the carrier's INVITE: one record per attempt, on whichever node it lands. */
    sipCallId: text('sip_call_id'),
  },
  (t) => [
    index('calls_arrived_idx').on(t.arrivedAt),
    uniqueIndex('calls_sip_call_unique').on(t.sipCallId),
    index('calls_account_arrived_idx').on(t.accountId, t.arrivedAt),
    index('calls_did_arrived_idx').on(t.did, t.arrivedAt),
    index('calls_unfinished_idx').on(t.finished).where(sql`finished = 0`),
    uniqueIndex('calls_inbound_channel_unique').on(t.inboundChannelId),
    // First-time-caller check at call setup: one indexed lookup.
    index('calls_account_caller_idx').on(t.accountId, t.callerNumber),
    // Reports by source per account over a time range read only this index (bench: 262 ms → 40 ms
    // for a year of one big account among 1 M calls).
    index('calls_account_source_report_idx').on(t.accountId, t.source, t.arrivedAt, t.disposition, t.firstTimeCaller),
  ],
);

/**
 * Calls per account, UTC day and source / medium / campaign, kept by triggers on `calls` (migration
 * 0008: insert, update, delete), so the calls-by-source report reads whole days here instead of every
 * call (bench: a year of all accounts over 1 M calls took 572 ms from `calls`). Unknown values are ''
 * here: SQLite's upsert never matches NULLs in a key.
 */
export const callReportDays = sqliteTable(
  'call_report_days',
  {
    accountId: integer('account_id').notNull(),
    /** arrived_at / 86 400 000: the UTC day the call arrived. */
    day: integer('day').notNull(),
    source: text('source').notNull(),
    medium: text('medium').notNull(),
    campaign: text('campaign').notNull(),
    calls: integer('calls').notNull(),
    answered: integer('answered').notNull(),
    firstTimeCallers: integer('first_time_callers').notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.day, t.source, t.medium, t.campaign] }), index('call_report_days_day_idx').on(t.day)],
);

/**
 * One row (id 1) whose `version` triggers on `tracking_numbers` and `caller_privacy_rules` bump on
 * every insert, update and delete: the router compares it to the version it last copied into Asterisk's routing table
 * (src/telephony/dialplanHook/routeTable.ts), so no write path can forget to tell it.
 */
export const routeTableVersion = sqliteTable('route_table_version', {
  id: integer('id').primaryKey(),
  version: integer('version').notNull(),
});

export const RECORDING_STATUSES = ['none', 'recording', 'processing', 'ready', 'missing', 'failed', 'deleted', 'expired'] as const;
export type RecordingStatus = (typeof RECORDING_STATUSES)[number];

/**
 * One recording of a call. Asterisk writes WAV into its spool (`asteriskFiles`, one per channel
 * recorded); the transcode job turns that into `path` (MP3 by default), optionally encrypted.
 */
export const recordings = sqliteTable(
  'recordings',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    callId: integer('call_id')
      .notNull()
      .references(() => calls.id),
    accountId: integer('account_id').references(() => accounts.id),
    /** call | voicemail */
    kind: text('kind').notNull().default('call'),
    status: text('status').$type<RecordingStatus>().notNull(),
    channels: text('channels').$type<RecordingChannels>().notNull(),
    /** JSON array of Asterisk live-recording names (without extension), in channel order. */
    asteriskNames: text('asterisk_names').notNull(),
    startedAt: integer('started_at').notNull(),
    stoppedAt: integer('stopped_at'),
    /** Stored file (relative to the recordings directory) once transcoded. */
    path: text('path'),
    format: text('format'),
    codec: text('codec'),
    contentType: text('content_type'),
    sizeBytes: integer('size_bytes'),
    durationSeconds: real('duration_seconds'),
    /** SHA-256 (hex) of the audio as served (plaintext), also the download ETag. */
    sha256: text('sha256'),
    /** Key id of the AES-256-GCM key the file is encrypted with; null when stored in clear. */
    keyId: text('key_id'),
    /** Why it is missing / failed / deleted / expired. */
    statusReason: text('status_reason'),
    readyAt: integer('ready_at'),
    deletedAt: integer('deleted_at'),
    /** The node whose disk holds the file (Asterisk's spool, then the recordings directory). '' before node names. */
    nodeId: text('node_id').notNull().default(''),
  },
  (t) => [index('recordings_call_idx').on(t.callId), index('recordings_account_started_idx').on(t.accountId, t.startedAt)],
);

/** Persisted media work (transcoding), so a restart resumes it. */
export const mediaJobs = sqliteTable(
  'media_jobs',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    recordingId: integer('recording_id')
      .notNull()
      .references(() => recordings.id),
    /** queued | running | done | failed */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
    /** The node that holds the recording's file: only it can transcode it. '' before node names. */
    nodeId: text('node_id').notNull().default(''),
  },
  (t) => [index('media_jobs_status_idx').on(t.status, t.id)],
);

/**
 * One row per node (NODE_ID), renewed every few seconds while its router runs. A node whose lease
 * lapsed is gone: any live node finishes its unfinished calls as reconciled.
 */
export const nodeLeases = sqliteTable('node_leases', {
  nodeId: text('node_id').primaryKey(),
  startedAt: integer('started_at').notNull(),
  renewedAt: integer('renewed_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
});

export type RecordingRow = typeof recordings.$inferSelect;
export type MediaJobRow = typeof mediaJobs.$inferSelect;
export type AnnouncementRow = typeof announcements.$inferSelect;
export type AccountRow = typeof accounts.$inferSelect;
export type TrackingNumberRow = typeof trackingNumbers.$inferSelect;
export type CallRow = typeof calls.$inferSelect;

/**
 * A reusable call flow (tracking_numbers.routePlanId): ordered ring steps, open hours, whisper,
 * screening and what happens when nobody answers. `definition` is JSON (`RoutePlanDefinition` in
 * src/routing/routePlan/types.ts), validated by the API before it is written.
 */
export const routePlans = sqliteTable(
  'route_plans',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    name: text('name').notNull(),
    /** IANA zone the schedule is read in, e.g. America/New_York. */
    timeZone: text('time_zone').notNull(),
    /** Caller ID the destination sees: the caller's number or the tracking number. */
    callerIdMode: text('caller_id_mode').$type<'caller' | 'tracking'>().notNull().default('caller'),
    definition: text('definition').notNull(),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [index('route_plans_account_idx').on(t.accountId)],
);

/**
 * Smooth weighted round-robin state of one round-robin step, so spreading survives restarts.
 * `counters` is JSON `{ [target]: currentWeight }`; `calls` counts picks (for inspection).
 */
export const routePlanRoundRobin = sqliteTable(
  'route_plan_round_robin',
  {
    planId: integer('plan_id')
      .notNull()
      .references(() => routePlans.id, { onDelete: 'cascade' }),
    stepName: text('step_name').notNull(),
    counters: text('counters').notNull().default('{}'),
    calls: integer('calls').notNull().default(0),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.planId, t.stepName] })],
);

export const DIAL_ALLOWLIST_KINDS = ['prefix', 'sip-host'] as const;
export type DialAllowlistKind = (typeof DIAL_ALLOWLIST_KINDS)[number];

/**
 * Toll-fraud guard: where destinations may go. `prefix`: E.164 prefix with `+` (`+1`, `+44`,
 * `+1555`); `sip-host`: a host name or address sip: URIs may name (lower case).
 */
export const dialAllowlist = sqliteTable(
  'dial_allowlist',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').$type<DialAllowlistKind>().notNull(),
    value: text('value').notNull(),
    note: text('note'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [uniqueIndex('dial_allowlist_kind_value_unique').on(t.kind, t.value)],
);

export type RoutePlanRow = typeof routePlans.$inferSelect;
export type RoutePlanRoundRobinRow = typeof routePlanRoundRobin.$inferSelect;
export type DialAllowlistRow = typeof dialAllowlist.$inferSelect;

export type AgencyRow = typeof agencies.$inferSelect;
