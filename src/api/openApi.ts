import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { ERROR_CODES, type ErrorCode } from '../errors.js';
import { STATUS_BY_CODE } from './errorHandler.js';
import { PERMISSIONS } from './permissions.js';

/** Where the browsable reference lives (Swagger UI, served from the package: no CDN, works offline). */
export const DOCS_PREFIX = '/docs';

/**
 * The UI's own files only: its script and styles from us, nothing from elsewhere, no inline script.
 * The one inline style Swagger UI writes (a <style> it injects) is allowed by its hash; the
 * browser test (test/e2e/apiDocs.test.ts) fails should an upgrade change it.
 */
const SWAGGER_UI_INLINE_STYLE = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";
const DOCS_CSP = `default-src 'none'; script-src 'self'; style-src 'self' ${SWAGGER_UI_INLINE_STYLE}; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;

/** The error codes each status stands for (500 for any code without one of its own). */
function codesByStatus(): Map<number, ErrorCode[]> {
  const out = new Map<number, ErrorCode[]>();
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const status = STATUS_BY_CODE[code] ?? 500;
    out.set(status, [...(out.get(status) ?? []), code]);
  }
  return out;
}

const errorSchemaId = (status: number) => `Error${status}`;

const errorSchema = (codes: readonly ErrorCode[]) => ({
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: [...codes] },
        message: { type: 'string' },
        /** The part of the request that was wrong, e.g. body.did. */
        field: { type: 'string' },
      },
    },
  },
});

/**
 * The API as an OpenAPI 3 document, built from the routes' own JSON schemas as they register:
 * GET /openapi.json, and a browsable page at /docs. Each operation carries the permission it needs
 * (`x-permission`, also in its description) and the error answers it can give, each with the codes
 * (src/errors.ts) its status stands for. Registered before any route, so it sees every one.
 */
export function registerOpenApi(app: FastifyInstance, version: string): void {
  const byStatus = codesByStatus();
  // One shared schema per error status (components in the document), not a copy in every operation.
  for (const [status, codes] of byStatus) app.addSchema({ $id: errorSchemaId(status), ...errorSchema(codes) });
  void app.register(swagger, {
    // Shared schemas keep their names in the document's components (Error404, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String((json as { $id?: string }).$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'callroute API',
        version,
        description:
          'Self-hosted call tracking. Every /v1 operation needs one permission (x-permission): the admin token holds all; ' +
          `an API key or a signed-in person holds what their role or scopes give. Permissions: ${PERMISSIONS.join(', ')}. ` +
          'Errors are JSON { error: { code, message, field? } } with a stable code.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (cr_…) or the admin token' },
          session: { type: 'apiKey', in: 'cookie', name: 'callroute_session', description: 'A signed-in browser (POST /v1/auth/login); writes need a same-origin Origin' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: ({ schema, url, route }) => {
      const config = (route.config ?? {}) as { permission?: string; public?: boolean };
      const open = config.public === true || !url.startsWith('/v1/');
      const responses: Record<string, unknown> = { ...((schema?.response as Record<string, unknown> | undefined) ?? {}) };
      const statuses = open ? [400, 404, 429, 500] : [400, 401, 403, 404, 409, 429, 500];
      for (const status of statuses) {
        const codes = byStatus.get(status);
        if (codes && responses[status] === undefined) responses[status] = { description: `Error: ${codes.join(', ')}`, $ref: `${errorSchemaId(status)}#` };
      }
      const tag = url.split('/')[url.startsWith('/v1/') ? 2 : 1] ?? 'root';
      const describe = open ? 'Public: no credentials.' : `Needs the permission \`${config.permission ?? '?'}\`.`;
      const transformed: Record<string, unknown> = {
        ...schema,
        tags: [tag],
        description: [schema?.description, describe].filter(Boolean).join(' '),
        'x-permission': open ? 'public' : config.permission,
        response: responses,
      };
      if (open) transformed.security = [];
      return { schema: transformed, url };
    },
  });
  void app.register(swaggerUi, { routePrefix: DOCS_PREFIX, staticCSP: DOCS_CSP, uiConfig: { docExpansion: 'list', deepLinking: true } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
}
