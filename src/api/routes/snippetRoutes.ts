import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyVisit } from '../../attribution/classifyVisit.js';
import { isAllowedOrigin } from '../../attribution/isAllowedOrigin.js';
import { CallrouteError } from '../../errors.js';
import { accountByPublicKey, allAllowedDomains, allowedDomainsOf, sourceRulesOf, touchFromClassification } from '../../persistence/attributionRepository.js';
import { heartbeatVisitor, openVisitorSession, optOutNumber, type VisitorSession } from '../../persistence/visitorSessions.js';
import type { AccountRow, TrackingNumberRow } from '../../persistence/schema.js';
import { displayNumber } from '../../snippet/displayNumber.js';
import { SNIPPET_ETAG, SNIPPET_JS } from '../../snippet/snippetSource.js';
import type { RouteDeps } from './routeDeps.js';
import { createTokenBuckets } from '../tokenBuckets.js';
import { DEFAULT_SNIPPET_RATE_LIMITS, type SnippetRateLimits } from './snippetRateLimit.js';

export interface PublicApiOptions {
  rateLimits?: Partial<SnippetRateLimits>;
  /** Random visitor ids by default; tests may pass their own. */
  newVisitorId?: () => string;
}

const KEY = { type: 'string', pattern: '^pk_[A-Za-z0-9_-]{16,64}$' } as const;
const VISITOR_ID = { type: 'string', pattern: '^[A-Za-z0-9_-]{16,64}$' } as const;

const numberResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['visitorId', 'number', 'display', 'heartbeatSeconds'],
  properties: {
    visitorId: { type: ['string', 'null'] },
    number: { type: ['string', 'null'] },
    display: { type: ['string', 'null'] },
    heartbeatSeconds: { type: ['integer', 'null'] },
  },
} as const;

interface SessionBody {
  key: string;
  visitorId?: string | null;
  page: string;
  referrer?: string | null;
  dnt?: boolean;
}

interface HeartbeatBody {
  key: string;
  visitorId: string;
}

/** Heartbeats a third of the idle time apart (a lost one or two does not release the number), 10–60 s. */
export function heartbeatSecondsFor(idleReleaseSeconds: number): number {
  return Math.max(5, Math.min(60, Math.floor(idleReleaseSeconds / 3)));
}

function httpUrl(value: string, field: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.href;
  } catch {
    // reported below
  }
  throw new CallrouteError('CR_ERR_VALIDATION', `${field} must be an http(s) URL`, { field });
}

function numberBody(visitorId: string | null, number: TrackingNumberRow | null | undefined, heartbeatSeconds: number | null) {
  return {
    visitorId,
    number: number?.did ?? null,
    display: number ? displayNumber(number.did) : null,
    heartbeatSeconds,
  };
}

function sessionBody(s: VisitorSession) {
  const beat = s.idleReleaseSeconds === null ? null : heartbeatSecondsFor(s.idleReleaseSeconds);
  return numberBody(s.visitorId, s.number, beat);
}

/** The visitor's browser asked not to be tracked (body flag from the snippet, or the headers themselves). */
function optedOut(request: FastifyRequest, flag: boolean | undefined): boolean {
  return flag === true || request.headers.dnt === '1' || request.headers['sec-gpc'] === '1';
}

/**
 * The public API the snippet calls (no bearer token) and the snippet itself:
 * - `GET /snippet.js`: the script, cacheable (ETag, 304).
 * - `POST /public/v1/session {key, visitorId?, page, referrer?, dnt?}` → `{visitorId, number, display, heartbeatSeconds}`.
 * - `POST /public/v1/heartbeat {key, visitorId}` → the same shape.
 * Abuse resistance: the key selects one account and only its numbers; the browser's Origin must be one
 * of the account's allowed domains (CORS headers are sent for allowed origins only; an unknown key and
 * a wrong origin get the same 403); token buckets per IP and per key (429 with Retry-After); answers
 * carry only the caller's own visitor id and number. Bodies may come as text/plain (the snippet sends
 * that: a CORS "simple" request, no preflight round trip) or JSON.
 */
export function snippetRoutes(app: FastifyInstance, deps: RouteDeps, options: PublicApiOptions = {}): void {
  const { store, now } = deps;
  const limits = { ...DEFAULT_SNIPPET_RATE_LIMITS, ...options.rateLimits };
  const perIp = createTokenBuckets(limits.perIp, now);
  const perKey = createTokenBuckets(limits.perKey, now);
  const newVisitorId = options.newVisitorId ?? (() => randomBytes(16).toString('base64url'));

  function tooMany(reply: FastifyReply, retryAfter: number): FastifyReply {
    return reply
      .code(429)
      .header('retry-after', String(retryAfter))
      .send({ error: { code: 'CR_ERR_RATE_LIMITED', message: 'too many requests; retry later' } });
  }

  /** The account of the key, when the request's Origin is allowed for it; sets the CORS headers. */
  async function authorise(request: FastifyRequest, reply: FastifyReply, key: string): Promise<AccountRow> {
    const account = await store.run(accountByPublicKey(key));
    const origin = request.headers.origin;
    if (!account || !isAllowedOrigin(origin, allowedDomainsOf(account))) {
      throw new CallrouteError('CR_ERR_FORBIDDEN', 'this key may not be used from this origin', { field: 'body.key' });
    }
    void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    return account;
  }

  // Fetched on every page view and heartbeat: request logs at warn keep them out of the info log.
  app.get('/snippet.js', { logLevel: 'warn', config: { public: true }, schema: { hide: true } }, async (request, reply) => {
    void reply
      .header('content-type', 'application/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=3600')
      .header('etag', SNIPPET_ETAG)
      .header('x-content-type-options', 'nosniff');
    if (request.headers['if-none-match'] === SNIPPET_ETAG) return reply.code(304).send();
    return reply.send(SNIPPET_JS);
  });

  void app.register(async (pub) => {
    // The snippet posts JSON as text/plain (a CORS simple request, no preflight).
    pub.removeContentTypeParser('text/plain');
    pub.addContentTypeParser('text/plain', { parseAs: 'string', bodyLimit: 8192 }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400 }), undefined);
      }
    });

    pub.addHook('onRequest', async (request, reply) => {
      if (request.method !== 'POST') return;
      const wait = perIp.take(request.ip);
      if (wait > 0) return tooMany(reply, wait);
    });

    // Preflight for clients that post application/json: allowed when some account allows the origin
    // (a preflight does not say which key it is for); the POST itself is checked against its account.
    pub.options('/public/v1/*', { config: { public: true } }, async (request, reply) => {
      const origin = request.headers.origin;
      if (isAllowedOrigin(origin, await store.run(allAllowedDomains()))) {
        void reply
          .header('access-control-allow-origin', origin)
          .header('access-control-allow-methods', 'POST')
          .header('access-control-allow-headers', 'content-type')
          .header('access-control-max-age', '600')
          .header('vary', 'Origin');
      }
      return reply.code(204).send();
    });

    pub.post<{ Body: SessionBody }>(
      '/public/v1/session',
      {
        bodyLimit: 8192,
        config: { public: true },
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'page'],
            properties: {
              key: KEY,
              visitorId: { anyOf: [VISITOR_ID, { type: 'null' }] },
              page: { type: 'string', minLength: 1, maxLength: 2048 },
              referrer: { type: ['string', 'null'], maxLength: 2048 },
              dnt: { type: 'boolean' },
            },
          },
          response: { 200: numberResponse },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const wait = perKey.take(b.key);
        if (wait > 0) return tooMany(reply, wait);
        const account = await authorise(request, reply, b.key);
        const page = httpUrl(b.page, 'body.page');
        const referrer = b.referrer ? httpUrlOrNull(b.referrer) : null;
        const touch = touchFromClassification(
          classifyVisit({ landingPage: page, referrer }, await store.run(sourceRulesOf(account.id))),
          page,
          referrer,
        );
        if (optedOut(request, b.dnt)) {
          // Do Not Track / Global Privacy Control: the source-level number, no visitor id, no row written.
          return numberBody(null, await store.run(optOutNumber(account.id, touch)), null);
        }
        const session = await store.run(openVisitorSession({ account, visitorId: b.visitorId ?? null, touch, now: now(), newVisitorId }), { transaction: true });
        return sessionBody(session);
      },
    );

    pub.post<{ Body: HeartbeatBody }>(
      '/public/v1/heartbeat',
      {
        logLevel: 'warn',
        bodyLimit: 1024,
        config: { public: true },
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'visitorId'],
            properties: { key: KEY, visitorId: VISITOR_ID },
          },
          response: { 200: numberResponse },
        },
      },
      async (request, reply) => {
        const b = request.body;
        const wait = perKey.take(b.key);
        if (wait > 0) return tooMany(reply, wait);
        const account = await authorise(request, reply, b.key);
        const session = await store.run(heartbeatVisitor(account.id, b.visitorId, now()), { transaction: true });
        return session ? sessionBody(session) : numberBody(b.visitorId, null, null);
      },
    );
  });
}

/** A referrer that is not an http(s) URL (android-app://, about:) carries no host worth keeping. */
function httpUrlOrNull(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'android-app:' ? url.href : null;
  } catch {
    return null;
  }
}
