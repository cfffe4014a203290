import { dirname, join, resolve } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { convertAnnouncement } from '../media/convertAnnouncement.js';
import { locateFfmpeg, type FfmpegTools } from '../media/locateFfmpeg.js';
import { readRecordingPlaintext } from '../media/recordingCipher.js';
import type { Store } from '../persistence/store.js';
import { createApiLimiter, createRateLimitedAuth, DEFAULT_API_RATE_LIMITS, JSON_BODY_LIMIT_BYTES, securityHeaders, type ApiRateLimits } from './apiGuards.js';
import { createAuditHook } from './audit.js';
import { createAuthenticator, type SessionTimes } from './authenticate.js';
import { errorHandler, notFoundHandler } from './errorHandler.js';
import { isPermission, type Permission } from './permissions.js';
import type { BucketLimit } from './tokenBuckets.js';
import { accountRoutes } from './routes/accountRoutes.js';
import { auditRoutes } from './routes/auditRoutes.js';
import { authRoutes } from './routes/authRoutes.js';
import { peopleRoutes } from './routes/peopleRoutes.js';
import type { PrivacyExportSettings } from '../privacy/exportFiles.js';
import { privacyExportLinkRoutes } from './routes/privacyExport.js';
import { privacyRoutes } from './routes/privacyRoutes.js';
import { retentionRoutes } from './routes/retentionRoutes.js';
import { recordingPauseRoutes } from './routes/recordingPauseRoutes.js';
import { announcementRoutes } from './routes/announcementRoutes.js';
import { attributionRoutes } from './routes/attributionRoutes.js';
import { callRoutes } from './routes/callRoutes.js';
import { dialAllowlistRoutes } from './routes/dialAllowlistRoutes.js';
import { healthRoutes, type TelephonyStatus } from './routes/healthRoutes.js';
import { recordingRoutes, signedLinkRoutes } from './routes/recordingRoutes.js';
import { routePlanRoutes } from './routes/routePlanRoutes.js';
import { reportRoutes } from './routes/reportRoutes.js';
import type { MediaDeps, RecordingsApiConfig, RouteDeps } from './routes/routeDeps.js';
import { webhookRoutes } from './routes/webhookRoutes.js';
import { liveRoutes } from './routes/liveRoutes.js';
import { conversionRoutes } from './routes/conversionRoutes.js';
import { dashboardRoutes } from './routes/dashboardRoutes.js';
import { DOCS_PREFIX, registerOpenApi } from './openApi.js';
import { packageVersion } from '../packageRoot.js';
import { createEventHub, type EventHub } from '../events/createEventHub.js';
import { snippetRoutes, type PublicApiOptions } from './routes/snippetRoutes.js';
import { tokenRoutes } from './routes/tokenRoutes.js';
import { webRoutes } from './routes/webRoutes.js';
import { trackingNumberRoutes } from './routes/trackingNumberRoutes.js';
import { withinMs } from '../withinMs.js';

export type { TelephonyStatus } from './routes/healthRoutes.js';
export type { MediaDeps, RecordingsApiConfig } from './routes/routeDeps.js';

/** A route as registered, for the permission matrix: what it needs, or 'public'. */
export interface RegisteredRoute {
  method: string;
  url: string;
  permission: Permission | 'public';
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app with its permission, filled while routes register. */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

export interface BuildAppDeps {
  /** The database every route reads and writes, of either dialect (src/persistence/store.ts). */
  store: Store;
  /** The root logger; fastify logs requests through it. */
  logger: Logger;
  /** `Authorization: Bearer <adminToken>` reaches every /v1 route. Must not be empty. */
  adminToken: string;
  /** Country code for national-format numbers, e.g. '1'. */
  defaultCountryCode: string;
  /** Read on every GET /health; must be cheap and must not throw. */
  telephonyStatus: () => TelephonyStatus;
  /** `config.recordings`; defaults suit a local run (links signed with a secret derived from the admin token). */
  recordings?: RecordingsApiConfig;
  /** This node (NODE_ID): purges started through the API remove the recordings its disk holds. '' when nodes have no names. */
  nodeId?: string;
  /** Media functions (decrypt, convert, find ffmpeg); tests may pass fakes. */
  media?: Partial<MediaDeps>;
  /** Clock in ms (link expiry, retention, token last use). */
  now?: () => number;
  /** The snippet's public API: rate limits (per IP, per key), visitor ids. */
  publicApi?: PublicApiOptions;
  /**
   * Awaited before the answer to every successful /v1 write leaves (bounded): the router brings
   * Asterisk's routing table in step, so a number changed by the API routes its next call the new
   * way. Cheap when nothing routable changed.
   */
  afterWrite?: () => Promise<void>;
  /**
   * The reverse proxies whose X-Forwarded-For/-Proto are believed (fastify's trustProxy: addresses,
   * CIDRs, `loopback`); without it request.ip is the connection's peer.
   */
  trustProxy?: string | false;
  /** Per-IP limits of /v1: all requests and failed sign-ins. */
  apiRateLimits?: ApiRateLimits;
  /** Idle and absolute session lifetimes (SESSION_IDLE_MINUTES, SESSION_MAX_HOURS). */
  sessions?: SessionTimes;
  /** Failed sign-ins per e-mail before 429 (refilling: a lockout that ends by itself). */
  signInFailures?: BucketLimit;
  /** config.privacy.hashSecret; derived from the admin token when absent. */
  privacyHashSecret?: string;
  /** Where privacy exports go and how long they live; default: `exports/` beside the recordings directory, 1 hour. */
  privacyExports?: PrivacyExportSettings;
  /** Pauses and resumes the recording of a call in progress (the session registry); absent: 409 for every call. */
  recordingControl?: RouteDeps['recordingControl'];
  /** PRIVACY_ERASURE_LIST: the erasure list file; default `erasures.jsonl` beside the recordings directory. */
  erasureList?: string;
  /** AUDIT_RETENTION_DAYS: how long audit entries of no account are kept (default 365). */
  installationAuditDays?: number;
  /** The built dashboard (dist/web unless given). */
  dashboardDir?: string;
  /** Hands committed events to the live feed; one is made (and closed with the app) when absent. */
  eventHub?: EventHub;
  /** WEBHOOK_ALLOWED_NETWORKS and WEBHOOK_RETRY_HOURS, and the dispatcher's wake-up; default: no private network, 24 h. */
  webhooks?: RouteDeps['webhooks'];
}

/** Five wrong passwords for one e-mail, then one try a minute. */
export const DEFAULT_SIGN_IN_FAILURES: BucketLimit = { burst: 5, perSecond: 1 / 60 };

/** How long a write's answer waits for Asterisk's routing table at most (it is retried in the background). */
const AFTER_WRITE_WAIT_MS = 2_000;

/** The real media functions; ffmpeg is located on first use (an upload), not at start. */
function defaultMedia(ffmpegPath: string | null): MediaDeps {
  let tools: FfmpegTools | undefined;
  return {
    readPlaintext: readRecordingPlaintext,
    convertAnnouncement: (input, out, t) => convertAnnouncement(input, out, t),
    ffmpeg: () => (tools ??= locateFfmpeg(ffmpegPath)),
  };
}

/**
 * The HTTP API (not listening; the caller calls `listen`, tests call `inject`).
 * - GET /health: public.
 * - GET /r/:id?exp&sig: public, authorised by the link's HMAC (players that cannot send headers).
 * - /v1: every route names a permission (src/api/permissions.ts); the admin token (the operator)
 *   holds all, a customer token its scopes in its account; 403 for a route whose permission it lacks.
 */
export function buildApp(deps: BuildAppDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const sessions: SessionTimes = deps.sessions ?? { idleMs: 60 * 60_000, maxMs: 12 * 3_600_000 };
  const auth = createAuthenticator(deps.adminToken, { store: deps.store, now, sessions });
  const limiter = createApiLimiter(deps.apiRateLimits ?? DEFAULT_API_RATE_LIMITS, now);
  // Widened to fastify's logger interface so route files take a plain FastifyInstance.
  const logger: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance: logger,
    trustProxy: deps.trustProxy || false,
    bodyLimit: JSON_BODY_LIMIT_BYTES,
    ajv: {
      customOptions: {
        // fastify's default silently strips unknown properties; we reject them (additionalProperties: false).
        removeAdditional: false,
        allErrors: false,
      },
    },
  });

  // The permission wall's first half: a route that says neither what it needs nor that it is public
  // is not registered at all (the app does not start), so none can be reached by mistake.
  const routes: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', routes);
  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    // Swagger UI's own routes (its page and files) are public like the document they show.
    const open = route.config?.public === true || route.url === DOCS_PREFIX || route.url.startsWith(`${DOCS_PREFIX}/`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // Exactly one of the two; outside /v1 only public routes (health, signed links, the snippet) live.
    if (isPermission(permission) === open || (!open && !route.url.startsWith('/v1/'))) {
      throw new Error(`route ${methods.join(',')} ${route.url} names no permission (config.permission under /v1, or config.public)`);
    }
    for (const method of methods) routes.push({ method, url: route.url, permission: isPermission(permission) ? permission : 'public' });
  });
  app.addHook('onRequest', securityHeaders);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);
  app.decorateRequest('principal', null);
  app.decorateRequest('auditAccountId', null);

  const recordings: RecordingsApiConfig = deps.recordings ?? {
    dir: 'data/recordings',
    asteriskRoot: '/',
    keys: new Map(),
    linkSecret: `link:${deps.adminToken}`,
    linkTtlSeconds: 300,
    publicBaseUrl: 'http://127.0.0.1:8080',
    ffmpegPath: null,
  };
  const routeDeps: RouteDeps = {
    store: deps.store,
    nodeId: deps.nodeId ?? '',
    defaultCountryCode: deps.defaultCountryCode,
    recordings,
    media: { ...defaultMedia(recordings.ffmpegPath), ...deps.media },
    now,
    auth: {
      sessions,
      limiter,
      signInFailures: deps.signInFailures ?? DEFAULT_SIGN_IN_FAILURES,
      deviceSecret: `device:${deps.adminToken}`,
      resetTtlMs: 72 * 3_600_000,
    },
    ...(deps.recordingControl ? { recordingControl: deps.recordingControl } : {}),
    webhooks: deps.webhooks ?? { allowedNetworks: [], retryHours: 24 },
    privacy: {
      hashSecret: deps.privacyHashSecret ?? `privacy:${deps.adminToken}`,
      exports: deps.privacyExports ?? { dir: join(dirname(resolve(recordings.dir)), 'exports'), ttlSeconds: 3600 },
      installationAuditDays: deps.installationAuditDays ?? 365,
      erasureList: deps.erasureList ?? join(dirname(resolve(recordings.dir)), 'erasures.jsonl'),
    },
  };
  const audit = createAuditHook(deps.store, now);
  const eventHub = deps.eventHub ?? createEventHub({ store: deps.store, logger });
  if (!deps.eventHub) app.addHook('onClose', async () => eventHub.close());

  registerOpenApi(app, packageVersion());
  // In a plugin, so the OpenAPI document (registered just above, loaded first) sees these routes too.
  void app.register(async (root) => {
    healthRoutes(root, deps.telephonyStatus);
    webRoutes(root);
    snippetRoutes(root, routeDeps, deps.publicApi);
    dashboardRoutes(root, deps.dashboardDir);
  });
  void app.register(async (links) => {
    links.addHook('onResponse', audit);
    signedLinkRoutes(links, routeDeps);
    privacyExportLinkRoutes(links, { store: deps.store, now, linkSecret: recordings.linkSecret, exports: routeDeps.privacy.exports });
  });
  void app.register(
    async (v1) => {
      v1.addHook('onRequest', createRateLimitedAuth(auth, limiter));
      v1.addHook('onResponse', audit);
      const afterWrite = deps.afterWrite;
      if (afterWrite) {
        v1.addHook('onSend', async (request, reply, payload) => {
          if (request.method !== 'GET' && request.method !== 'HEAD' && reply.statusCode < 400) {
            await withinMs(afterWrite(), AFTER_WRITE_WAIT_MS);
          }
          return payload;
        });
      }
      authRoutes(v1, routeDeps);
      peopleRoutes(v1, routeDeps);
      auditRoutes(v1, routeDeps);
      privacyRoutes(v1, routeDeps);
      retentionRoutes(v1, routeDeps);
      recordingPauseRoutes(v1, routeDeps);
      accountRoutes(v1, routeDeps);
      tokenRoutes(v1, routeDeps);
      trackingNumberRoutes(v1, routeDeps);
      callRoutes(v1, routeDeps);
      recordingRoutes(v1, routeDeps);
      announcementRoutes(v1, routeDeps);
      attributionRoutes(v1, routeDeps);
      reportRoutes(v1, routeDeps);
      routePlanRoutes(v1, routeDeps);
      dialAllowlistRoutes(v1, routeDeps);
      webhookRoutes(v1, routeDeps);
      liveRoutes(v1, routeDeps, eventHub);
      conversionRoutes(v1, routeDeps);
    },
    { prefix: '/v1' },
  );

  return app;
}
