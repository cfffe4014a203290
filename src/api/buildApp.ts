import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Db } from '../persistence/openDatabase.js';
import { createBearerAuth } from './createBearerAuth.js';
import { errorHandler, notFoundHandler } from './errorHandler.js';
import { accountRoutes } from './routes/accountRoutes.js';
import { callRoutes } from './routes/callRoutes.js';
import { healthRoutes, type TelephonyStatus } from './routes/healthRoutes.js';
import { trackingNumberRoutes } from './routes/trackingNumberRoutes.js';

export type { TelephonyStatus } from './routes/healthRoutes.js';

export interface BuildAppDeps {
  db: Db;
  /** The root logger; fastify logs requests through it. */
  logger: Logger;
  /** Required as `Authorization: Bearer <adminToken>` on everything but GET /health. Must not be empty. */
  adminToken: string;
  /** Country code for national-format numbers, e.g. '1'. */
  defaultCountryCode: string;
  /** Read on every GET /health; must be cheap and must not throw. */
  telephonyStatus: () => TelephonyStatus;
}

/**
 * The HTTP API (not listening; the caller calls `listen`, tests call `inject`).
 * GET /health is public; everything under /v1 needs the admin bearer token.
 */
export function buildApp(deps: BuildAppDeps): FastifyInstance {
  const auth = createBearerAuth(deps.adminToken);
  // Widened to fastify's logger interface so route files take a plain FastifyInstance.
  const logger: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance: logger,
    ajv: {
      customOptions: {
        // fastify's default silently strips unknown properties; we reject them (additionalProperties: false).
        removeAdditional: false,
        allErrors: false,
      },
    },
  });

  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  healthRoutes(app, deps.telephonyStatus);
  void app.register(
    async (v1) => {
      v1.addHook('onRequest', auth);
      const routeDeps = { db: deps.db, defaultCountryCode: deps.defaultCountryCode };
      accountRoutes(v1, routeDeps);
      trackingNumberRoutes(v1, routeDeps);
      callRoutes(v1, routeDeps);
    },
    { prefix: '/v1' },
  );

  return app;
}
