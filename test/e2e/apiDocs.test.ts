/**
 * The browsable API reference in real headless chromium (Debian's): Swagger UI, served by callroute
 * from its own files under its strict Content-Security-Policy, loads /openapi.json and lists the
 * operations, with no script refused by the policy. Screenshot: test-results/api-docs.png.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { launchChromium } from './browser.js';

let api: FastifyInstance;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  api = buildApp({ store: sqliteStore(openDatabase(':memory:')), logger: pino({ level: 'silent' }), adminToken: 'e2e-docs-admin-token-0123456789', defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
  await api.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe('the API reference page', () => {
  it('renders the operations from /openapi.json, nothing refused by the policy, nothing fetched from elsewhere', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const refused: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) elsewhere.push(r.url());
    });
    await page.goto(`${origin}/docs`);
    await page.getByText('/v1/calls/{id}').first().waitFor({ timeout: 20_000 });
    const operations = await page.locator('.opblock').count();
    expect(operations).toBeGreaterThan(80);
    await page.screenshot({ path: 'test-results/api-docs.png' });
    expect(refused).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 60_000);
});
