import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';
import { findApiTokenByHash, touchApiToken } from '../persistence/apiTokenRepository.js';
import type { Db } from '../persistence/openDatabase.js';
import { LEGACY_TOKEN_SCOPES } from './permissions.js';
import { checkRoutePermission, operatorPrincipal } from './principal.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** How a customer token is stored: SHA-256 hex. The token has 256 random bits, so no salt or slow hash is needed. */
export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** last_used_at is written at most this often per token, so authentication is not a write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface BearerAuthOptions {
  /** Enables customer tokens (looked up by hash); without it only the admin token is accepted. */
  db?: Db;
  now?: () => number;
}

/**
 * An onRequest hook that sets `request.principal`:
 * - `Bearer <adminToken>` → the operator. Both sides are hashed to equal-length digests first, so
 *   timingSafeEqual neither throws on a length mismatch nor leaks the token's length through timing.
 * - `Bearer <customer token>` → customer of its account: one probe of the unique index on its SHA-256
 *   (comparing digests of a 256-bit random secret leaks nothing useful through timing). A revoked token
 *   is a 401. Customer tokens reach only routes whose config has `customer: true`; others answer 403.
 */
export function createBearerAuth(
  adminToken: string,
  options: BearerAuthOptions = {},
): (request: FastifyRequest) => Promise<void> {
  if (adminToken === '') throw new CallrouteError('CR_ERR_CONFIG', 'admin token must not be empty');
  const expected = digest(adminToken);
  const now = options.now ?? Date.now;
  return async (request) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const token = match?.[1] ?? '';
    const equal = timingSafeEqual(digest(token), expected);
    if (match && equal) {
      request.principal = operatorPrincipal({ kind: 'admin-token' });
      checkRoutePermission(request);
      return;
    }
    const row = match && options.db ? findApiTokenByHash(options.db, hashApiToken(token)) : undefined;
    if (!row) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
    if (row.revokedAt !== null) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'token has been revoked');
    request.principal = {
      actor: { kind: 'api-key', keyId: row.id, prefix: row.prefix, userId: null },
      operator: false,
      grants: new Map([[row.accountId, new Set(LEGACY_TOKEN_SCOPES)]]),
      agencyOwnerOf: [],
    };
    const t = now();
    if (options.db && (row.lastUsedAt === null || t - row.lastUsedAt >= TOUCH_EVERY_MS)) touchApiToken(options.db, row.id, t);
    checkRoutePermission(request);
  };
}
