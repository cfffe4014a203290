/**
 * The website snippet in real headless chromium (Debian's), against the real API listening on
 * loopback, on a page served by a tiny local site server (another origin, as on a customer's site).
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { visits } from '../../src/persistence/schema.js';
import { SNIPPET_JS } from '../../src/snippet/snippetSource.js';
import { landingPage, launchChromium, startSite, type SiteServer } from './browser.js';

const ADMIN = 'e2e-admin-token-0123456789abcdef';
const admin = { authorization: `Bearer ${ADMIN}` };
const ORIGINAL = '(555) 123-0000';
const UTM = '?utm_source=google&utm_medium=cpc&utm_campaign=spring&gclid=e2e';

let db: Db;
let api: FastifyInstance;
let apiOrigin: string;
let site: SiteServer;
let browser: Browser;
let key: string;
let poolDids: string[];
let googleDid: string;
let deadPort: number;

/** A port nothing listens on: bound then released. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function call<T>(method: 'POST' | 'PATCH', url: string, payload?: object): Promise<T> {
  const res = await api.inject({ method, url, headers: admin, ...(payload ? { payload } : {}) });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json() as T;
}

/** Waits until the snippet has changed the phone text (or the deadline passes), then returns it. */
async function phoneText(page: Page, changedFrom = ORIGINAL, timeoutMs = 8_000): Promise<string> {
  await page
    .waitForFunction((orig) => document.getElementById('phone')?.textContent !== `Call us: ${orig}`, changedFrom, { timeout: timeoutMs })
    .catch(() => undefined);
  return (await page.textContent('#phone')) ?? '';
}

function national(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

describe('snippet in headless chromium', () => {
  beforeAll(async () => {
    db = openDatabase(':memory:');
    api = buildApp({
      store: sqliteStore(db),
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    const address = api.server.address() as { port: number };
    apiOrigin = `http://127.0.0.1:${address.port}`;
    deadPort = await freePort();

    const account = await call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    key = (await call<{ publicKey: string }>('POST', `/v1/accounts/${account.id}/snippet/key`)).publicKey;
    await call('PATCH', `/v1/accounts/${account.id}/snippet`, { allowedDomains: ['127.0.0.1'] });
    const number = (extra: object) =>
      call<{ id: number; did: string }>('POST', '/v1/tracking-numbers', { accountId: account.id, destination: '+15550001111', ...extra });
    const fallback = await number({ did: '+15552220000', label: 'fallback' });
    googleDid = (await number({ did: '+15552220001', source: 'google', medium: 'cpc' })).did;
    const pool = await call<{ id: number }>('POST', '/v1/pools', { accountId: account.id, name: 'web', fallbackTrackingNumberId: fallback.id });
    poolDids = [];
    for (const did of ['+15552220010', '+15552220011', '+15552220012']) {
      const n = await number({ did });
      await call('PATCH', `/v1/tracking-numbers/${n.id}`, { poolId: pool.id });
      poolDids.push(n.did);
    }

    site = await startSite({
      '/landing': () => landingPage({ scriptSrc: `${apiOrigin}/snippet.js`, key }),
      // The snippet loaded (from cache, or a copy) while the API is down.
      '/api-down': () => landingPage({ scriptSrc: '/snippet-copy.js', key, api: `http://127.0.0.1:${deadPort}` }),
      '/snippet-copy.js': () => SNIPPET_JS,
      // Our server down: the script itself does not load.
      '/server-down': () => landingPage({ scriptSrc: `http://127.0.0.1:${deadPort}/snippet.js`, key }),
    });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await api?.close();
    db?.$client.close();
  });

  it('a visitor from a UTM-tagged ad sees a pool number, in the format of the page, also in tel: links', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: Error[] = [];
    page.on('pageerror', (e) => errors.push(e));
    await page.goto(`${site.origin}/landing${UTM}`);
    const text = await phoneText(page);
    const shown = poolDids.find((d) => text === `Call us: ${national(d)}`);
    expect(shown, text).toBeDefined();
    expect(await page.getAttribute('#tel', 'href')).toBe(`tel:${shown}`);
    expect(await page.textContent('#other')).toBe('Order number 12345678');
    // Content the page adds afterwards is swapped too, in its own format.
    const digits = (shown ?? '').slice(2);
    const late = `Or text ${digits.slice(0, 3)}-${digits.slice(3, 6)}-${digits.slice(6)}`;
    await page.waitForFunction((want) => document.getElementById('late')?.textContent === want, late, { timeout: 5_000 });
    expect(errors).toEqual([]);
    const stored = await page.evaluate(() => localStorage.getItem('callroute_vid'));
    const visit = db.select().from(visits).all().find((v) => v.visitorId === stored);
    expect(visit).toMatchObject({ landingPage: `${site.origin}/landing${UTM}`, source: 'google', medium: 'cpc', campaign: 'spring' });

    // A second visitor (a new browser context: no shared storage) gets another number.
    const other = await browser.newContext();
    const page2 = await other.newPage();
    await page2.goto(`${site.origin}/landing${UTM}`);
    const text2 = await phoneText(page2);
    const shown2 = poolDids.find((d) => text2 === `Call us: ${national(d)}`);
    expect(shown2, text2).toBeDefined();
    expect(shown2).not.toBe(shown);

    // The first visitor reloading keeps their number.
    await page.reload();
    expect(await phoneText(page)).toBe(text);
    await other.close();
    await context.close();
  });

  it('a Do Not Track / Global Privacy Control visitor sees the source-level number and leaves no session', async () => {
    const before = db.select().from(visits).all().length;
    const context = await browser.newContext({ extraHTTPHeaders: { DNT: '1' } });
    // The browser setting itself, as the page sees it.
    await context.addInitScript(() => {
      Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1' });
      Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });
    });
    const page = await context.newPage();
    await page.goto(`${site.origin}/landing${UTM}`);
    expect(await phoneText(page)).toBe(`Call us: ${national(googleDid)}`);
    expect(await page.evaluate(() => localStorage.getItem('callroute_vid'))).toBeNull();
    expect(db.select().from(visits).all().length).toBe(before);
    await context.close();
  });

  it('with our API down, or the script not loading, the page keeps its original number and breaks nothing', async () => {
    for (const path of ['/api-down', '/server-down']) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: Error[] = [];
      page.on('pageerror', (e) => errors.push(e));
      await page.goto(`${site.origin}${path}${UTM}`);
      // Give the snippet every chance to act: its request fails fast on a closed port.
      await page.waitForLoadState('networkidle');
      expect(await phoneText(page, ORIGINAL, 1_500)).toBe(`Call us: ${ORIGINAL}`);
      expect(await page.getAttribute('#tel', 'href')).toBe('tel:+15551230000');
      await page.waitForSelector('#late');
      expect(await page.textContent('#late')).toBe('Or text 555-123-0000');
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
