/**
 * The SQLite schema, in part: API keys, people and their sign-in, the audit log, privacy requests and
 * caller privacy rules, and the retention cursors. src/persistence/schema.ts gathers the parts. Times
 * are integer milliseconds since the epoch (UTC); the API renders ISO 8601.
 */
import { sql } from 'drizzle-orm';
import { check, index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { accounts, agencies } from './schemaCalls.js';

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

export type ApiTokenRow = typeof apiTokens.$inferSelect;
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
