/**
 * The whole stack: a page with the snippet in real headless chromium shows a visitor a pool number;
 * sipp, as the carrier, calls that number through the real Asterisk (sandbox) and the real router;
 * the call record is attributed to that visit (landing page, UTM, click id). Runs inside the
 * private network namespace like the other call-flow suites.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { startAsterisk, type AsteriskHandle } from '../../scripts/asterisk-sandbox.js';
import { loadConfig, type Config } from '../../src/config/loadConfig.js';
import { landingPage, launchChromium, startSite, type SiteServer } from '../e2e/browser.js';
import { expectNoChannelsOrBridges } from './harness/asteriskState.js';
import { requirePrivateNetwork } from './harness/requirePrivateNetwork.js';
import { adminApi, clearEndReports, startRouter, type RouterProcess } from './harness/routerProcess.js';
import { describeSipp, startSipp, type SippOptions } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const TOKEN = 'callflow-attribution-token-0123456789';
const HTTP_PORT = '8096';
const API = `http://127.0.0.1:${HTTP_PORT}`;
const DESTINATION = '+15550001111';
const CALLER = '+15559876543';
// Three: the first test's two visitors hold two of them while the last test's visitor is shown the third.
const POOL_DIDS = ['+15557770001', '+15557770002', '+15557770003'];
const FALLBACK_DID = '+15557770000';
const CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8891 } as const;
const PHONE = { localPort: 5080, mediaPort: 6100, controlPort: 8892 } as const;
const UTM = '?utm_source=google&utm_medium=cpc&utm_campaign=spring-sale&gclid=flow123';

interface CallRowRaw {
  id: number;
  did: string;
  caller_number: string | null;
  finished: number;
  disposition: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  visit_id: number | null;
  landing_page: string | null;
  referrer: string | null;
  utm: string | null;
  click_ids: string | null;
  first_visit_at: number | null;
  first_time_caller: number | null;
}

let config: Config;
let asterisk: AsteriskHandle;
let router: RouterProcess;
let site: SiteServer;
let browser: Browser;
let dbPath: string;
let key: string;
const api = adminApi(API, TOKEN);

function carrier(o: Partial<SippOptions> & Pick<SippOptions, 'scenario' | 'dialed'>) {
  return startSipp({ role: 'uac', remote: '127.0.0.1:5060', caller: CALLER, timeoutMs: 30_000, ...CARRIER, ...o });
}
function phone(o: Partial<SippOptions> & Pick<SippOptions, 'scenario'>) {
  return startSipp({ role: 'uas', timeoutMs: 40_000, ...PHONE, ...o });
}

/** The router's database, read-only (WAL: reading beside the writer is safe). */
function query<T>(sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function finishedCallTo(did: string, afterId: number): Promise<CallRowRaw> {
  let row: CallRowRaw | undefined;
  await waitFor(
    async () => {
      row = query<CallRowRaw>('SELECT * FROM calls WHERE did = ? AND id > ? ORDER BY id DESC LIMIT 1', did, afterId)[0];
      return row !== undefined && row.finished === 1;
    },
    { timeoutMs: 10_000, intervalMs: 100, message: `the call record to ${did} to be finished` },
  );
  return row as CallRowRaw;
}

async function ok<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await api.call<T>(method, path, body);
  expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
  return res.body;
}

describe('calls attributed to web visits', () => {
  beforeAll(async () => {
    requirePrivateNetwork();
    const dir = mkdtempSync(join(tmpdir(), 'callroute-attribution-'));
    dbPath = join(dir, 'calls.db');
    const env = {
      CALLROUTE_ADMIN_TOKEN: TOKEN,
      ARI_PASSWORD: 'callflow-secret',
      CALLROUTE_DB_PATH: dbPath,
      CALLROUTE_HTTP_PORT: HTTP_PORT,
      FALLBACK_MODE: 'reject',
      FALLBACK_SIP_CODE: '503',
    };
    config = loadConfig(env);
    asterisk = await startAsterisk(config, { instance: 'attribution' });
    // Where the router finds the end reports of calls the dialplan runs.
    clearEndReports(asterisk.rootDir);
    router = startRouter({ ...env, ASTERISK_FS_ROOT: asterisk.rootDir });
    await router.ready();

    const account = await ok<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    key = (await ok<{ publicKey: string }>('POST', `/v1/accounts/${account.id}/snippet/key`)).publicKey;
    await ok('PATCH', `/v1/accounts/${account.id}/snippet`, { allowedDomains: ['127.0.0.1'] });
    // Recording off: this suite is about attribution, not media.
    const number = (did: string) =>
      ok<{ id: number }>('POST', '/v1/tracking-numbers', { accountId: account.id, did, destination: DESTINATION, ringTimeoutSeconds: 10, recordingEnabled: false });
    const fallback = await number(FALLBACK_DID);
    const pool = await ok<{ id: number }>('POST', '/v1/pools', { accountId: account.id, name: 'website', fallbackTrackingNumberId: fallback.id });
    for (const did of POOL_DIDS) {
      const n = await number(did);
      await ok('PATCH', `/v1/tracking-numbers/${n.id}`, { poolId: pool.id });
    }

    site = await startSite({ '/landing': () => landingPage({ scriptSrc: `${API}/snippet.js`, key }) });
    browser = await launchChromium();
  }, 180_000);

  beforeEach(() => {
    onTestFailed(() => {
      process.stderr.write(`--- router log (tail)\n${router.logs().slice(-6000)}\n`);
    });
  });

  afterEach(async () => {
    await expectNoChannelsOrBridges(config, 8_000);
  });

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    await router?.stop();
    await asterisk?.stop();
  });

  it('a call to the pool number the page shows is recorded with that visit: landing page, UTM, click id, first-time caller', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.origin}/landing${UTM}`);
    await page.waitForFunction(() => document.querySelector('#tel')?.getAttribute('href') !== 'tel:+15551230000', undefined, { timeout: 10_000 });
    const href = (await page.getAttribute('#tel', 'href')) ?? '';
    const shown = href.replace(/^tel:/, '');
    expect(POOL_DIDS).toContain(shown);
    const visitorId = await page.evaluate(() => localStorage.getItem('callroute_vid'));
    const visit = query<{ id: number; first_visit_at: number }>('SELECT id, first_visit_at FROM visits WHERE visitor_id = ?', visitorId)[0];
    expect(visit).toBeDefined();

    // A second visitor gets the other pool number: the call below can only be the first visitor's.
    const other = await browser.newContext();
    const page2 = await other.newPage();
    await page2.goto(`${site.origin}/landing?utm_source=bing`);
    await page2.waitForFunction(() => document.querySelector('#tel')?.getAttribute('href') !== 'tel:+15551230000', undefined, { timeout: 10_000 });
    const shown2 = ((await page2.getAttribute('#tel', 'href')) ?? '').replace(/^tel:/, '');
    expect(POOL_DIDS).toContain(shown2);
    expect(shown2).not.toBe(shown);

    const before = query<{ id: number }>('SELECT coalesce(max(id), 0) AS id FROM calls')[0]?.id ?? 0;
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', dialed: shown, holdMs: 1000 });
    const [c, d] = await Promise.all([call.done, dest.done]);
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);

    const record = await finishedCallTo(shown, before);
    expect(record).toMatchObject({
      did: shown,
      caller_number: CALLER,
      disposition: 'answered',
      visit_id: visit?.id,
      landing_page: `${site.origin}/landing${UTM}`,
      source: 'google',
      medium: 'cpc',
      campaign: 'spring-sale',
      first_visit_at: visit?.first_visit_at,
      first_time_caller: 1,
    });
    expect(JSON.parse(record.utm ?? 'null')).toEqual({ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring-sale' });
    expect(JSON.parse(record.click_ids ?? 'null')).toEqual({ gclid: 'flow123' });

    // The same caller again, on the other visitor's number: that visit, and no longer a first-time caller.
    const dest2 = phone({ scenario: 'destination-answers' });
    const call2 = carrier({ scenario: 'carrier-call-answered-hangs-up', dialed: shown2, holdMs: 500 });
    const [c2, d2] = await Promise.all([call2.done, dest2.done]);
    expect(c2.exitCode, describeSipp('carrier', c2)).toBe(0);
    expect(d2.exitCode, describeSipp('destination', d2)).toBe(0);
    const second = await finishedCallTo(shown2, record.id);
    expect(second).toMatchObject({ source: 'bing', first_time_caller: 0, landing_page: `${site.origin}/landing?utm_source=bing` });

    const report = await ok<{ rows: Array<{ value: string | null; calls: number; answered: number; firstTimeCallers: number }> }>(
      'GET',
      '/v1/reports/calls?groupBy=source',
    );
    expect(report.rows).toEqual(
      expect.arrayContaining([
        { value: 'google', calls: 1, answered: 1, answeredRate: 1, firstTimeCallers: 1 },
        { value: 'bing', calls: 1, answered: 1, answeredRate: 1, firstTimeCallers: 0 },
      ]),
    );
    await other.close();
    await context.close();
  });

  it('a restricted caller’s call to the pool number a visitor was shown is routed and answered, but tied to no visit', async () => {
    const accountId = (await ok<{ accounts: Array<{ id: number }> }>('GET', '/v1/accounts')).accounts[0]!.id;
    await ok('POST', '/v1/privacy/requests', { kind: 'restriction', callerNumber: CALLER, accountId });
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.origin}/landing${UTM}`);
    await page.waitForFunction(() => document.querySelector('#tel')?.getAttribute('href') !== 'tel:+15551230000', undefined, { timeout: 10_000 });
    const shown = ((await page.getAttribute('#tel', 'href')) ?? '').replace(/^tel:/, '');
    expect(POOL_DIDS).toContain(shown);

    const before = query<{ id: number }>('SELECT coalesce(max(id), 0) AS id FROM calls')[0]?.id ?? 0;
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', dialed: shown, holdMs: 500 });
    const [c, d] = await Promise.all([call.done, dest.done]);
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    const record = await finishedCallTo(shown, before);
    expect(record).toMatchObject({ caller_number: CALLER, disposition: 'answered', visit_id: null, landing_page: null, utm: null, click_ids: null, first_time_caller: null });
    expect(query<{ restricted: number }>('SELECT restricted FROM calls WHERE id = ?', record.id)[0]?.restricted).toBe(1);
    await ok('POST', '/v1/privacy/requests', { kind: 'lift-restriction', callerNumber: CALLER, accountId });
    await context.close();
  });
});

