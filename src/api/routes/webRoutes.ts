import type { FastifyInstance } from 'fastify';
import { ACCOUNT_HTML, ACCOUNT_JS, APP_CSS, PAGE_CSP, SIGN_IN_HTML, SIGN_IN_JS } from '../../web/signInPages.js';

const ASSETS: Record<string, { type: string; body: string }> = {
  '/sign-in': { type: 'text/html; charset=utf-8', body: SIGN_IN_HTML },
  '/account': { type: 'text/html; charset=utf-8', body: ACCOUNT_HTML },
  '/web/sign-in.js': { type: 'application/javascript; charset=utf-8', body: SIGN_IN_JS },
  '/web/account.js': { type: 'application/javascript; charset=utf-8', body: ACCOUNT_JS },
  '/web/app.css': { type: 'text/css; charset=utf-8', body: APP_CSS },
};

/**
 * The people's pages (src/web/signInPages.ts). Public as files: they hold no data; what they show
 * comes from /v1 with the session cookie, under the permission wall.
 */
export function webRoutes(app: FastifyInstance): void {
  for (const [url, asset] of Object.entries(ASSETS)) {
    app.get(url, { config: { public: true }, logLevel: 'warn', schema: { hide: true } }, async (_request, reply) =>
      reply.header('content-type', asset.type).header('content-security-policy', PAGE_CSP).send(asset.body),
    );
  }
}
