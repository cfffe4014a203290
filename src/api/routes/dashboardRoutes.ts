import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { packageRoot } from '../../packageRoot.js';

/** Where `npm run build:web` puts the dashboard (web/ built by Vite). */
export function dashboardDir(): string {
  return join(packageRoot(), 'dist', 'web');
}

/** What the build emits, by extension. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  woff2: 'font/woff2',
  map: 'application/json; charset=utf-8',
};

/**
 * The dashboard's pages may run only our own files: no inline script (Vite emits none), no
 * third-party host, audio from the API itself (recordings), the live feed and the API on our origin.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * The web dashboard at /app/ (web/, built into dist/web): its page, never cached (it names the
 * current build's files), and its hashed files, cached for a year. It is public as files: what it
 * shows comes from /v1 with the session cookie, under the permission wall. Without a build the page
 * says how to make one.
 */
export function dashboardRoutes(app: FastifyInstance, dir = dashboardDir()): void {
  const indexFile = join(dir, 'index.html');
  // Pages and files, not API: left out of the OpenAPI document (as the sign-in pages and the snippet are).
  app.get('/app', { config: { public: true }, schema: { hide: true } }, async (_request, reply) => reply.redirect('/app/'));
  app.get('/app/', { config: { public: true }, logLevel: 'warn', schema: { hide: true } }, async (_request, reply) => {
    if (!existsSync(indexFile)) {
      return reply.code(503).header('content-type', 'text/plain; charset=utf-8').send('The dashboard is not built: run npm run build:web (npm start does).\n');
    }
    return reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', DASHBOARD_CSP)
      .send(readFileSync(indexFile));
  });
  // The build's files: names carry a hash of their content, so each is cached for good.
  app.get<{ Params: { file: string } }>(
    '/app/assets/:file',
    { config: { public: true }, logLevel: 'warn', schema: { hide: true, params: { type: 'object', required: ['file'], properties: { file: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*\\.[a-z0-9]+$', maxLength: 200 } } } } },
    async (request, reply) => {
      const file = join(dir, 'assets', request.params.file);
      const type = CONTENT_TYPES[request.params.file.slice(request.params.file.lastIndexOf('.') + 1)];
      if (!type || !existsSync(file)) {
        return reply.code(404).send({ error: { code: 'CR_ERR_NOT_FOUND', message: `no such file: ${request.params.file}` } });
      }
      return reply
        .header('content-type', type)
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('content-security-policy', DASHBOARD_CSP)
        .send(readFileSync(file));
    },
  );
}
