import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';
import { findApiTokenByHash, touchApiToken } from '../persistence/apiTokenRepository.js';
import type { Store } from '../persistence/store.js';
import { findSessionByHash, getUser, touchSession } from '../persistence/userRepository.js';
import { checkRoutePermission, operatorPrincipal } from './principal.js';
import { keyPrincipal, keyScopes, userPrincipal } from './resolveGrants.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * How API keys, session ids, reset tokens and recovery codes are stored: SHA-256 hex. Each is a random
 * secret of 128 bits or more (recovery codes: 59 bits, behind the sign-in limits), so no salt or slow
 * hash is needed; passwords, chosen by people, are argon2id (src/auth/passwords.ts).
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The session cookie: a random id, HttpOnly, SameSite=Lax, Secure over HTTPS. */
export const SESSION_COOKIE = 'callroute_session';

/** Cookies of a request by name (the first of a repeated name wins). */
export function readCookies(request: FastifyRequest): Map<string, string> {
  const out = new Map<string, string>();
  const header = request.headers.cookie;
  if (typeof header !== 'string') return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) {
      try {
        out.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
      } catch {
        // A malformed value is not a session of ours.
      }
    }
  }
  return out;
}

/** last_used_at / last_seen_at are written at most this often, so authentication is not a write per request. */
const TOUCH_EVERY_MS = 60_000;

export interface SessionTimes {
  /** A session ends after this long without a request. */
  idleMs: number;
  /** …and this long after sign-in in any case. */
  maxMs: number;
}

export interface AuthOptions {
  store: Store;
  now: () => number;
  sessions: SessionTimes;
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * CSRF: a state-changing request authenticated by cookie must come from a page of this origin. Browsers
 * send Origin on every such fetch or form post; without it, Sec-Fetch-Site must say same-origin.
 * SameSite=Lax already keeps the cookie off cross-site posts; this holds where SameSite does not
 * (a sibling subdomain is same-site, not same-origin).
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (typeof origin === 'string') return origin === `${request.protocol}://${request.host}`;
  return request.headers['sec-fetch-site'] === 'same-origin';
}

/**
 * An onRequest hook that sets `request.principal` for /v1, then applies the permission wall:
 * - public routes (sign-in, password reset) pass without credentials;
 * - `Authorization: Bearer <adminToken>` → the operator. Both sides are hashed to equal-length digests
 *   first, so timingSafeEqual neither throws on a length mismatch nor leaks the token's length;
 * - `Bearer <API key>` → its scopes in its account: one probe of the unique index on its SHA-256. A
 *   revoked or expired key is a 401;
 * - otherwise the session cookie → the person, with the rights their memberships give them now. An
 *   unsafe method must pass the same-origin check. A Bearer header wins over a cookie, so scripts are
 *   never subject to the CSRF check.
 */
export function createAuthenticator(adminToken: string, options: AuthOptions): (request: FastifyRequest) => Promise<void> {
  if (adminToken === '') throw new CallrouteError('CR_ERR_CONFIG', 'admin token must not be empty');
  const expected = digest(adminToken);
  const { store, now } = options;

  async function bearer(request: FastifyRequest, token: string): Promise<void> {
    if (timingSafeEqual(digest(token), expected)) {
      request.principal = operatorPrincipal({ kind: 'admin-token' });
      return;
    }
    const row = await store.run(findApiTokenByHash(hashSecret(token)));
    if (!row) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
    const t = now();
    if (row.revokedAt !== null) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'token has been revoked');
    if (row.expiresAt !== null && t >= row.expiresAt) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'token has expired');
    const actor = { kind: 'api-key' as const, keyId: row.id, prefix: row.prefix, userId: row.userId };
    const ownerRow = row.userId === null ? undefined : await store.run(getUser(row.userId));
    const owner = ownerRow ? await store.run(userPrincipal(ownerRow, actor)) : undefined;
    request.principal = keyPrincipal(keyScopes(row.scopes), row.accountId, actor, owner);
    if (row.lastUsedAt === null || t - row.lastUsedAt >= TOUCH_EVERY_MS) await store.run(touchApiToken(row.id, t));
  }

  async function session(request: FastifyRequest, id: string): Promise<void> {
    const row = await store.run(findSessionByHash(hashSecret(id)));
    const t = now();
    // A session that ended is someone's own old cookie, not a guess: it does not spend the address's
    // failed-sign-in budget (a person whose session ended reopening the dashboard would lock themselves out).
    if (!row) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'not signed in, or the session has ended; sign in again');
    if (row.revokedAt !== null || t >= row.expiresAt || t - row.lastSeenAt >= options.sessions.idleMs) {
      throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'not signed in, or the session has ended; sign in again', { notAGuess: true });
    }
    const user = await store.run(getUser(row.userId));
    if (!user) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'not signed in, or the session has ended; sign in again');
    if (UNSAFE.has(request.method) && !sameOrigin(request)) {
      throw new CallrouteError('CR_ERR_CSRF', 'this request carries a session cookie but does not come from this site');
    }
    request.principal = await store.run(userPrincipal(user, { kind: 'user', userId: user.id, email: user.email, sessionId: row.id }));
    if (t - row.lastSeenAt >= TOUCH_EVERY_MS) await store.run(touchSession(row.id, t));
  }

  return async (request) => {
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
      if (!match) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
      await bearer(request, match[1]!);
    } else {
      const id = readCookies(request).get(SESSION_COOKIE);
      // No credential at all (a signed-out browser opening a page) is no guess either.
      if (!id) throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'not signed in: send a bearer token or sign in', { notAGuess: true });
      await session(request, id);
    }
    checkRoutePermission(request);
  };
}
