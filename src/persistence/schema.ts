import { sql } from 'drizzle-orm';
import { check, index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are integer milliseconds since the epoch (UTC); the API renders ISO 8601. */

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

/**
 * API keys, scoped to one account; only a SHA-256 of the key is stored. A key owned by a user holds at
 * most what the user holds in the account now (it dies with the user); an account's key holds its scopes.
 */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    userId: integer('user_id').references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** JSON array of permissions (src/api/permissions.ts KEY_SCOPES); null: a token from before scopes. */
    scopes: text('scopes'),
    expiresAt: integer('expires_at'),
    tokenHash: text('token_hash').notNull(),
    /** First characters of the token, to tell tokens apart in lists. */
    prefix: text('prefix').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash), index('api_tokens_account_idx').on(t.accountId)],
);

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
export type RecordingRow = typeof recordings.$inferSelect;
export type MediaJobRow = typeof mediaJobs.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
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

export const ROLE_NAMES = ['owner', 'manager', 'analyst', 'listener'] as const;
export type RoleName = (typeof ROLE_NAMES)[number];

/** People who sign in. The e-mail is stored lower-cased and trimmed: one person, one row. */
export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** argon2id PHC string; null until the person sets one through a reset token. */
    passwordHash: text('password_hash'),
    /** The operator of the installation: every permission in every account. */
    operator: integer('operator', { mode: 'boolean' }).notNull().default(false),
    /** Base32 TOTP secret, set at enrolment; in use once totp_enabled_at is set (the first code proved). */
    totpSecret: text('totp_secret'),
    totpEnabledAt: integer('totp_enabled_at'),
    /** The 30-second step of the last code accepted: a code is good once (RFC 6238 section 5.2). */
    totpLastStep: integer('totp_last_step'),
    passwordChangedAt: integer('password_changed_at'),
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('users_email_unique').on(t.email)],
);

/** A user's role in one account, or in one agency (then in all its accounts). */
export const memberships = sqliteTable(
  'memberships',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accountId: integer('account_id').references(() => accounts.id, { onDelete: 'cascade' }),
    agencyId: integer('agency_id').references(() => agencies.id, { onDelete: 'cascade' }),
    role: text('role').$type<RoleName>().notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('memberships_user_account_unique').on(t.userId, t.accountId),
    uniqueIndex('memberships_user_agency_unique').on(t.userId, t.agencyId),
    index('memberships_account_idx').on(t.accountId),
    index('memberships_agency_idx').on(t.agencyId),
    check('memberships_one_scope', sql`(${t.accountId} IS NULL) <> (${t.agencyId} IS NULL)`),
  ],
);

/** Signed-in browsers. The cookie holds a random id; only its SHA-256 is stored. */
export const sessions = sqliteTable(
  'sessions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    tokenHash: text('token_hash').notNull(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: integer('created_at').notNull(),
    lastSeenAt: integer('last_seen_at').notNull(),
    /** The absolute end, whatever the activity. */
    expiresAt: integer('expires_at').notNull(),
    revokedAt: integer('revoked_at'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [uniqueIndex('sessions_token_hash_unique').on(t.tokenHash), index('sessions_user_idx').on(t.userId)],
);

/** One-time codes that stand in for the authenticator app; only their SHA-256 is stored. */
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: integer('used_at'),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('recovery_codes_user_idx').on(t.userId)],
);

/** One-time password-reset tokens issued by the operator or an owner (no mail server assumed). */
export const passwordResets = sqliteTable(
  'password_resets',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at'),
    /** Who issued it, in words (an e-mail, "the admin token"). */
    issuedBy: text('issued_by').notNull(),
  },
  (t) => [uniqueIndex('password_resets_token_hash_unique').on(t.tokenHash)],
);

/**
 * Who did what, when, from where. Append-only: the API has no route that changes or deletes an entry
 * and a trigger refuses UPDATE. The actor is copied in words too, so an entry outlives its user or key;
 * account_id has no foreign key for the same reason.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    /** admin-token | user | api-key | anonymous (a failed sign-in). */
    actorKind: text('actor_kind').notNull(),
    actorUserId: integer('actor_user_id'),
    actorKeyId: integer('actor_key_id'),
    /** The e-mail, key prefix or "admin token"; for a failed sign-in the e-mail that was tried. */
    actor: text('actor').notNull(),
    accountId: integer('account_id'),
    /** e.g. auth.login, auth.login-failed, recording.play, PATCH /v1/tracking-numbers/:id */
    action: text('action').notNull(),
    /** The object acted on, e.g. tracking-number 12, user 3. */
    target: text('target'),
    /** JSON with what else matters (status code, fields changed: never a secret). */
    detail: text('detail'),
    ip: text('ip'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at),
    index('audit_log_account_idx').on(t.accountId, t.at),
    index('audit_log_actor_idx').on(t.actorUserId, t.at),
  ],
);

export type AgencyRow = typeof agencies.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type AuditRow = typeof auditLog.$inferSelect;

export const PRIVACY_REQUEST_KINDS = ['access', 'export', 'erasure', 'restriction', 'lift-restriction'] as const;
export type PrivacyRequestKind = (typeof PRIVACY_REQUEST_KINDS)[number];

/**
 * Privacy requests as they ran: who asked, when, where, what was found and done. The subject is kept
 * only as its keyed hash (src/privacy/subjectNumbers.ts): an erasure must not leave the number behind
 * in its own record. The erasure rows are also the list a restore from backup re-applies.
 */
export const privacyRequests = sqliteTable(
  'privacy_requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at').notNull(),
    kind: text('kind').$type<PrivacyRequestKind>().notNull(),
    /** The keyed hash of the subject (`erased:…`), never the number. */
    subjectHash: text('subject_hash').notNull(),
    /** The one account asked about; null: an agency's accounts (agencyId) or, for the operator, all. */
    accountId: integer('account_id'),
    /** The agency whose accounts were asked about (its client accounts the asker handles privacy in). */
    agencyId: integer('agency_id'),
    /** Who asked, in words (describeActor). */
    actor: text('actor').notNull(),
    /** JSON: counts found and done (no personal data). */
    result: text('result').notNull(),
  },
  (t) => [index('privacy_requests_subject_idx').on(t.subjectHash)],
);

export type PrivacyRequestRow = typeof privacyRequests.$inferSelect;

export const CALLER_PRIVACY_RULES = ['do-not-record', 'restricted'] as const;
export type CallerPrivacyRule = (typeof CALLER_PRIVACY_RULES)[number];

/**
 * Callers an account treats differently at call setup, by their E.164 number:
 * - `do-not-record`: the do-not-record list; their calls are routed, never recorded;
 * - `restricted`: a privacy request restricted processing; their calls are routed, not recorded,
 *   not attributed to a web visit, and their records hidden from everyone but who handles privacy.
 * Asterisk's routing table carries them (routeTable.ts), and the router keeps them in memory, so
 * the check costs a call nothing it waits for. Triggers bump route_table_version (migration 0015).
 */
export const callerPrivacyRules = sqliteTable(
  'caller_privacy_rules',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    callerNumber: text('caller_number').notNull(),
    rule: text('rule').$type<CallerPrivacyRule>().notNull(),
    createdAt: integer('created_at').notNull(),
    /** Who added it, in words (describeActor). */
    createdBy: text('created_by').notNull(),
  },
  (t) => [uniqueIndex('caller_privacy_rules_unique').on(t.accountId, t.callerNumber, t.rule)],
);

export type CallerPrivacyRuleRow = typeof callerPrivacyRules.$inferSelect;

/**
 * Where the retention job got to in anonymising an account's call records (keyset: arrival, id):
 * each run goes on from here in small batches, so it never holds the database for long and a
 * restart loses nothing.
 */
export const retentionCursors = sqliteTable('retention_cursors', {
  accountId: integer('account_id')
    .primaryKey()
    .references(() => accounts.id, { onDelete: 'cascade' }),
  callsArrivedAt: integer('calls_arrived_at').notNull(),
  callsId: integer('calls_id').notNull(),
});

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
