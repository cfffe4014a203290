import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are integer milliseconds since the epoch (UTC); the API renders ISO 8601. */
export const accounts = sqliteTable('accounts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  /** Recordings older than this many days are purged; null keeps them. */
  recordingRetentionDays: integer('recording_retention_days'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
});

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
    createdAt: integer('created_at').notNull(),
    updatedAt: integer('updated_at').notNull(),
  },
  (t) => [uniqueIndex('tracking_numbers_did_unique').on(t.did), index('tracking_numbers_account_idx').on(t.accountId)],
);

export const CALL_DISPOSITIONS = ['answered', 'busy', 'no-answer', 'failed', 'caller-abandoned', 'rejected'] as const;
export type CallDisposition = (typeof CALL_DISPOSITIONS)[number];

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
    /** none (not recorded) | recording | processing | ready | missing | failed | deleted | expired */
    recordingStatus: text('recording_status').$type<RecordingStatus>().notNull().default('none'),
  },
  (t) => [
    index('calls_arrived_idx').on(t.arrivedAt),
    index('calls_account_arrived_idx').on(t.accountId, t.arrivedAt),
    index('calls_did_arrived_idx').on(t.did, t.arrivedAt),
    index('calls_unfinished_idx').on(t.finished).where(sql`finished = 0`),
    uniqueIndex('calls_inbound_channel_unique').on(t.inboundChannelId),
  ],
);

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
  },
  (t) => [index('media_jobs_status_idx').on(t.status, t.id)],
);

/** Customers' API tokens, scoped to one account; only a SHA-256 of the token is stored. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    accountId: integer('account_id')
      .notNull()
      .references(() => accounts.id),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    /** First characters of the token, to tell tokens apart in lists. */
    prefix: text('prefix').notNull(),
    createdAt: integer('created_at').notNull(),
    revokedAt: integer('revoked_at'),
    lastUsedAt: integer('last_used_at'),
  },
  (t) => [uniqueIndex('api_tokens_hash_unique').on(t.tokenHash), index('api_tokens_account_idx').on(t.accountId)],
);

export type RecordingRow = typeof recordings.$inferSelect;
export type MediaJobRow = typeof mediaJobs.$inferSelect;
export type ApiTokenRow = typeof apiTokens.$inferSelect;
export type AnnouncementRow = typeof announcements.$inferSelect;
export type AccountRow = typeof accounts.$inferSelect;
export type TrackingNumberRow = typeof trackingNumbers.$inferSelect;
export type CallRow = typeof calls.$inferSelect;
