/**
 * What a person or key may do, and where. Pure data: who holds which permission in which account is
 * worked out from the database per request (src/api/resolveGrants.ts); this file only says what each
 * role and each route means.
 *
 * Every /v1 route names exactly one permission in its config (`{ permission: 'calls:read' }`); a route
 * without one is refused at registration and, should one slip through, answered 403 for everybody.
 */
export const PERMISSIONS = [
  /** See the accounts one belongs to (every role). */
  'accounts:read',
  /** Rename an account, change its retention and two-factor rule. */
  'accounts:write',
  /** Create accounts: the operator anywhere, an agency owner inside the agency. */
  'accounts:create',
  /** Read tracking numbers, route plans, pools, source rules, announcements, snippet settings. */
  'configuration:read',
  /** Change them. */
  'configuration:write',
  /** Call records (no audio). */
  'calls:read',
  /** Tag a call, note on it, give it a value and a lead status (PATCH /v1/calls/:id). */
  'calls:annotate',
  /** Recording metadata (status, duration, size). */
  'recordings:read',
  /** Recording audio: play, download, signed links. */
  'recordings:listen',
  'recordings:delete',
  /** Pause and resume the recording of a call in progress (an agent taking a card number). */
  'recordings:pause',
  /** Reports: calls by day/source, pool utilisation. */
  'reports:read',
  /** People of the account: invite, change roles, remove, issue password-reset tokens. */
  'users:manage',
  /** API keys of the account. */
  'keys:manage',
  /** The account's audit log. */
  'audit:read',
  /** Webhook endpoints (their secrets, delivery log, redelivery) and ad-platform conversions. */
  'integrations:manage',
  /** Privacy requests of callers: access, erasure. */
  'privacy:manage',
  /** The whole installation: dial allowlist, recordings purge, agencies. The operator only. */
  'installation',
  /**
   * One's own sign-in: who am I, sign out, password, second factor. Every authenticated request holds
   * it (the routes refuse what is not a person's: a key has no password to change).
   */
  'self',
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLES = ['owner', 'manager', 'analyst', 'listener'] as const;

/**
 * Every right that lives inside an account: all but the operator's (`installation`), creating accounts
 * (the operator's and agency owners') and `self` (every signed-in request's). An owner holds them all.
 */
const ACCOUNT_PERMISSIONS: readonly Permission[] = PERMISSIONS.filter((p) => p !== 'installation' && p !== 'accounts:create' && p !== 'self');
export type Role = (typeof ROLES)[number];

/**
 * The rights of each role inside its accounts. Decisions a customer would ask about:
 * - Deleting a recording is a manager's and an owner's right, not a listener's: the office manager who
 *   listens to calls should not be able to destroy evidence of one.
 * - An analyst sees calls and reports but never audio (nor recording metadata, which tells which calls
 *   were recorded and for how long).
 * - `accounts:create` is no role's: the operator creates accounts anywhere, an agency's owner inside
 *   the agency (Principal.agencyOwnerOf); an account's owner cannot create sibling accounts.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  owner: ACCOUNT_PERMISSIONS,
  // An owner's rights but the account's people, keys, audit log, privacy requests and settings.
  manager: ACCOUNT_PERMISSIONS.filter(
    (p) => !(['accounts:write', 'users:manage', 'keys:manage', 'audit:read', 'privacy:manage'] as readonly Permission[]).includes(p),
  ),
  analyst: ['accounts:read', 'calls:read', 'reports:read'],
  // Pausing a recording removes audio and reveals none: the staff on calls (listeners) may.
  // The staff on calls say what a call was (a lead or not): listeners annotate; analysts only read.
  listener: ['accounts:read', 'calls:read', 'calls:annotate', 'recordings:read', 'recordings:listen', 'recordings:pause'],
};

/** What an API key may be given: everything a person of an account may hold (an owner's rights). */
export const KEY_SCOPES: readonly Permission[] = ACCOUNT_PERMISSIONS;

/**
 * The scopes of the customer tokens made before API keys had scopes: what those tokens could do then
 * (read calls, recordings and reports; play and delete recordings), so they keep working unchanged.
 */
export const LEGACY_TOKEN_SCOPES: readonly Permission[] = [
  'calls:read',
  'recordings:read',
  'recordings:listen',
  'recordings:delete',
  'reports:read',
];

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && (PERMISSIONS as readonly string[]).includes(value);
}
