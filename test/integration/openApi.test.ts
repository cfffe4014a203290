/**
 * The OpenAPI document covers the API as it is: every route the app registers is an operation with
 * the permission it needs, every error code is in a documented error answer, and the browsable page
 * is served by us (no CDN) under a Content-Security-Policy that allows no inline script.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { DOCS_PREFIX } from '../../src/api/openApi.js';
import { ERROR_CODES } from '../../src/errors.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';

let app: FastifyInstance;
let doc: { paths: Record<string, Record<string, { 'x-permission'?: string; responses?: Record<string, unknown> }>>; components: { schemas: Record<string, { properties?: { error?: { properties?: { code?: { enum?: string[] } } } } }> } };

beforeAll(async () => {
  app = buildApp({ store: sqliteStore(openDatabase(':memory:')), logger: createLogger('silent'), adminToken: 'openapi-test-admin-token-0123456789', defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  doc = res.json();
});

afterAll(async () => {
  await app.close();
});

/** Routes that answer JSON (or audio) to programs: /v1, the snippet's /public/v1, signed links, health. */
const isApi = (url: string) => /^\/(v1|public\/v1)\//.test(url) || /^\/(r|privacy-exports)\/:id$/.test(url) || url === '/health';

/** fastify's `/v1/calls/:id` is OpenAPI's `/v1/calls/{id}`; a wildcard `*` is `{*}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z]+)/g, '{$1}').replace(/\*$/, '{*}');

describe('the OpenAPI document', () => {
  it('has every registered route as an operation, with the permission the route needs', () => {
    const missing: string[] = [];
    const wrong: string[] = [];
    for (const r of app.registeredRoutes) {
      // The API is documented; pages and their files are not (the sign-in pages, the dashboard, the
      // snippet's script, Swagger UI's own, the document itself).
      if (r.method === 'HEAD' || !isApi(r.url)) continue;
      const op = doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()];
      if (!op) missing.push(`${r.method} ${r.url}`);
      else if (op['x-permission'] !== r.permission) wrong.push(`${r.method} ${r.url}: ${op['x-permission']} ≠ ${r.permission}`);
    }
    expect(missing).toEqual([]);
    expect(wrong).toEqual([]);
    expect(Object.keys(doc.paths).length).toBeGreaterThan(70);
    // Pages are not operations (Swagger UI also stopped rendering when they were in the document).
    expect(Object.keys(doc.paths).filter((p) => !isApi(p.replace(/\{(\w+)\}/g, ':$1')))).toEqual([]);
  });

  it('documents every error code in an error answer', () => {
    const documented = new Set(Object.values(doc.components.schemas).flatMap((s) => s.properties?.error?.properties?.code?.enum ?? []));
    expect([...Object.keys(ERROR_CODES)].filter((c) => !documented.has(c))).toEqual([]);
    const patch = doc.paths['/v1/calls/{id}']?.patch;
    expect(Object.keys(patch?.responses ?? {})).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404']));
  });

  it('is browsable at /docs from files we serve, under a policy without inline script', async () => {
    const page = await app.inject({ method: 'GET', url: DOCS_PREFIX });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline|https:/);
    const scripts = [...page.body.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) {
      expect(src).not.toMatch(/^https?:/);
      const js = await app.inject({ method: 'GET', url: src.startsWith('/') ? src : `${DOCS_PREFIX}/${src.replace(/^\.\//, '')}` });
      expect(js.statusCode, src).toBe(200);
    }
    expect(page.body).not.toMatch(/<script(?![^>]*src=)[^>]*>\s*\S/);
  });
});
