import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';
import { createTokenBuckets, type BucketLimit, type TokenBuckets } from './tokenBuckets.js';

/** Limits of the authenticated API, per client IP (request.ip: the proxy's client with TRUST_PROXY). */
export interface ApiRateLimits {
  /** Every /v1 request. */
  requests: BucketLimit;
  /** Requests whose credentials were wrong: once spent, the IP gets 429 before its token is even looked at. */
  failedAuth: BucketLimit;
}

/**
 * The limits from the configuration's two rates (API_RATE_LIMIT_PER_SECOND, AUTH_FAILURES_PER_MINUTE):
 * requests burst five seconds' worth; failed sign-ins burst a minute's worth.
 */
export function apiRateLimits(requestsPerSecond: number, authFailuresPerMinute: number): ApiRateLimits {
  return {
    requests: { burst: 5 * requestsPerSecond, perSecond: requestsPerSecond },
    failedAuth: { burst: authFailuresPerMinute, perSecond: authFailuresPerMinute / 60 },
  };
}

// loadConfig's defaults. A CRM sync pages through calls quickly; a person clicks. Ten wrong tokens,
// then one guess every six seconds.
export const DEFAULT_API_RATE_LIMITS: ApiRateLimits = apiRateLimits(50, 10);

/** Default body limit of JSON requests; uploads (announcements) set their own. */
export const JSON_BODY_LIMIT_BYTES = 256 * 1024;

/** The per-IP buckets of /v1: one set per app, shared by the auth hook and the sign-in route. */
export interface ApiLimiter {
  requests: TokenBuckets;
  /** Wrong tokens, wrong passwords, wrong codes, bad reset tokens: one budget per address. */
  failedAuth: TokenBuckets;
}

export function createApiLimiter(limits: ApiRateLimits, now: () => number): ApiLimiter {
  return { requests: createTokenBuckets(limits.requests, now), failedAuth: createTokenBuckets(limits.failedAuth, now) };
}

/**
 * Wraps the auth hook with per-IP limits: all requests, and failed sign-ins. An IP that spent its
 * failures gets 429 with Retry-After, even with the right token, until one is back: a token cannot be
 * guessed faster than the failure rate.
 */
export function createRateLimitedAuth(
  auth: (request: FastifyRequest) => Promise<void>,
  limiter: ApiLimiter,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const { requests, failedAuth: failures } = limiter;
  return async (request, reply) => {
    const wait = requests.take(request.ip) || failures.peek(request.ip);
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new CallrouteError('CR_ERR_RATE_LIMITED', 'too many requests from this address; retry later');
    }
    try {
      await auth(request);
    } catch (err) {
      if (err instanceof CallrouteError && err.code === 'CR_ERR_UNAUTHORIZED' && err.details?.notAGuess !== true) failures.take(request.ip);
      throw err;
    }
  };
}

/**
 * Headers every answer carries unless its route sets its own (set on request, so a route's
 * header wins): JSON and audio are never sniffed into something else, no page of ours is framed,
 * no Referer leaks a signed link, nothing is cached unless the route says so. HSTS only when the
 * request came over HTTPS (a reverse proxy terminating TLS, trusted through TRUST_PROXY).
 */
export async function securityHeaders(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  void reply.headers({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cache-control': 'no-store',
  });
  if (request.protocol === 'https') void reply.header('strict-transport-security', 'max-age=31536000');
}
