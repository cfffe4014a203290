import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** Times are integer milliseconds since the epoch (UTC); the API renders ISO 8601. */
export const accounts = sqliteTable('accounts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  name: text('name').notNull(),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
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
  },
  (t) => [
    index('calls_arrived_idx').on(t.arrivedAt),
    index('calls_account_arrived_idx').on(t.accountId, t.arrivedAt),
    index('calls_did_arrived_idx').on(t.did, t.arrivedAt),
    index('calls_unfinished_idx').on(t.finished).where(sql`finished = 0`),
    uniqueIndex('calls_inbound_channel_unique').on(t.inboundChannelId),
  ],
);

export type AccountRow = typeof accounts.$inferSelect;
export type TrackingNumberRow = typeof trackingNumbers.$inferSelect;
export type CallRow = typeof calls.$inferSelect;
