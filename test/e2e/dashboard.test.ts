/**
 * The web dashboard in real headless chromium (Debian's), built by Vite from web/ and served by the
 * app: a person signs in and lands on the call log; a call that arrives shows up without a reload and
 * changes state in place as it is answered and ends; a filter narrows the list; a call's page shows
 * its record and plays its recording; the page runs under a CSP without inline script and fetches
 * nothing from elsewhere. Screenshots: test-results/dashboard-*.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallRecordRepository, type CallArrival } from '../../src/persistence/callRecordRepository.js';
import type { Db } from '../../src/persistence/openDatabase.js';
import { recordings } from '../../src/persistence/schema.js';
import { toneWav } from '../support/toneWav.js';
import { addPerson, admin, createAccount, signIn as signInAs, startDashboard, type Dashboard } from './dashboardHarness.js';

let dashboard: Dashboard;
let db: Db;
let api: FastifyInstance;
let origin: string;
let browser: Browser;
let accountId: number;
let recordingsDir: string;

beforeAll(async () => {
  dashboard = await startDashboard();
  ({ db, api, origin, browser, recordingsDir } = dashboard);
  accountId = await createAccount(api, 'Acme Plumbing');
  await addPerson(api, { accountId }, 'sam@acme.test', 'manager');
}, 120_000);

afterAll(async () => {
  await dashboard?.close();
});

let channel = 0;
function arrival(over: Partial<CallArrival> = {}): CallArrival {
  return {
    accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: 'google', medium: 'cpc', campaign: 'spring',
    destination: '+15559870000', arrivedAt: Date.now(), inboundChannelId: `dash-${++channel}`, outboundChannelId: null, bridgeId: null, firstTimeCaller: true, ...over,
  };
}

const signIn = (page: Page) => signInAs(page, origin, 'sam@acme.test');

describe('the dashboard', () => {
  it('signs in to a live call log: a new call appears and changes state without a reload; a filter narrows it', async () => {
    const records = createCallRecordRepository(db);
    const old = records.insertArrival(arrival({ arrivedAt: Date.now() - 3_600_000, source: 'bing', medium: 'cpc' }));
    records.finish(old, { disposition: 'busy', sipCode: 486, hangupCause: 17, endedBy: 'destination', answeredAt: null, endedAt: Date.now() - 3_590_000 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const refused: string[] = [];
    const elsewhere: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) refused.push(m.text());
    });
    page.on('request', (r) => {
      if (!r.url().startsWith(origin)) elsewhere.push(r.url());
    });
    await signIn(page);
    await page.locator(`tr[data-call-id="${old}"]`).waitFor();

    // A call arrives: its row appears at the top, then changes as it is answered and ends.
    const live = records.insertArrival(arrival({ callerNumber: '+15550102030' }));
    const row = page.locator(`tr[data-call-id="${live}"]`);
    await row.waitFor({ timeout: 5_000 });
    expect(await row.getAttribute('data-state')).toBe('ringing');
    expect(await page.locator('tbody tr').first().getAttribute('data-call-id')).toBe(String(live));
    records.markAnswered(live, Date.now());
    await page.locator(`tr[data-call-id="${live}"][data-state="in progress"]`).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: 'test-results/dashboard-calls-live.png' });
    records.finish(live, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: Date.now() - 1_000, endedAt: Date.now() });
    await page.locator(`tr[data-call-id="${live}"][data-state="answered"]`).waitFor({ timeout: 5_000 });

    await page.selectOption('select[name="disposition"]', 'busy');
    await page.click('button[type="submit"]');
    await page.locator(`tr[data-call-id="${live}"]`).waitFor({ state: 'detached' });
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.screenshot({ path: 'test-results/dashboard-calls-filtered.png' });
    // The export is what the filter shows.
    const csv = await page.request.get(`${origin}${await page.locator('a[download]').getAttribute('href')}`);
    expect(csv.status()).toBe(200);
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${old},`));
    // The search box: the live call by its caller's number as a person types it.
    await page.selectOption('select[name="disposition"]', '');
    await page.fill('input[name="q"]', '(555) 010-2030');
    await page.click('button[type="submit"]');
    await page.locator(`tr[data-call-id="${old}"]`).waitFor({ state: 'detached' });
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.locator(`tr[data-call-id="${live}"]`).waitFor();
    await page.fill('input[name="q"]', '');
    await page.selectOption('select[name="disposition"]', 'busy');
    await page.click('button[type="submit"]');
    await page.locator(`tr[data-call-id="${live}"]`).waitFor({ state: 'detached' });

    // Phone-sized: nothing is cut off sideways but the table, which scrolls.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await page.screenshot({ path: 'test-results/dashboard-calls-phone.png' });
    expect(refused).toEqual([]);
    expect(elsewhere).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a call’s record and plays its recording through the API', async () => {
    const records = createCallRecordRepository(db, { nodeId: 'node-e2e' });
    const id = records.insertArrival(arrival({ arrivedAt: Date.now() - 5_000, landingPage: 'https://acme.test/offer', clickIds: '{"gclid":"abc"}', sipCallId: 'e2e-call-1@carrier.example' }));
    records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: Date.now() - 2_000, endedAt: Date.now() });
    mkdirSync(join(recordingsDir, 'x'), { recursive: true });
    writeFileSync(join(recordingsDir, 'x', 'call.wav'), toneWav(2, 8000));
    db.insert(recordings)
      .values({ callId: id, accountId, status: 'ready', channels: 'mixed', asteriskNames: '[]', startedAt: Date.now() - 2_000, path: 'x/call.wav', format: 'wav', contentType: 'audio/wav', durationSeconds: 2, sizeBytes: 32_044 })
      .run();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page);
    await page.goto(`${origin}/app/#/calls/${id}`);
    await page.locator('#call-heading').waitFor();
    const shown = await page.textContent('main');
    expect(shown).toContain('gclid=abc');
    expect(shown).toContain('node-e2e');
    expect(shown).toContain('e2e-call-1@carrier.example');
    expect(shown).not.toContain('Finished by the router');
    const audio = page.locator('audio');
    await audio.waitFor();
    const played = await audio.evaluate(async (el: HTMLAudioElement) => {
      el.muted = true;
      await el.play();
      await new Promise((r) => setTimeout(r, 300));
      return { playing: !el.paused && el.currentTime > 0, duration: el.duration };
    });
    expect(played.playing).toBe(true);
    expect(Math.abs(played.duration - 2)).toBeLessThan(0.1);
    // What the call was: saved through the API (a call.modified event), shown after a reload.
    await page.fill('form[aria-label="What this call was"] input[name="tags"]', 'booked, Emergency');
    await page.selectOption('form[aria-label="What this call was"] select[name="leadStatus"]', 'good-lead');
    await page.fill('form[aria-label="What this call was"] input[name="value"]', '250');
    await page.click('form[aria-label="What this call was"] button[type="submit"]');
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const saved = (await api.inject({ method: 'GET', url: `/v1/calls/${id}`, headers: admin })).json();
    expect(saved).toMatchObject({ tags: ['booked', 'Emergency'], leadStatus: 'good-lead', value: 250 });
    await page.screenshot({ path: 'test-results/dashboard-call.png' });
    // A call another node finished because this call's node stopped renewing its lease: said so.
    const lost = records.insertArrival(arrival({ arrivedAt: Date.now() - 9_000 }));
    const reason = 'node node-b stopped renewing its lease (last 2026-12-07T10:00:00.000Z, lapsed 2026-12-07T10:00:15.000Z)';
    records.finish(lost, { disposition: 'failed', sipCode: null, hangupCause: null, endedBy: 'system', answeredAt: null, endedAt: Date.now() - 8_000, reconciled: true, reconciledReason: reason });
    await page.goto(`${origin}/app/#/calls/${lost}`);
    await page.getByText('Finished by the router').waitFor();
    expect(await page.textContent('main')).toContain(reason);
    await page.close();
  }, 60_000);

  it('draws the calls per day and the calls by source with the numbers the API gives', async () => {
    const records = createCallRecordRepository(db);
    for (const [daysAgo, source, answered] of [[1, 'google', true], [1, 'google', false], [3, 'facebook', true], [5, 'google', true]] as const) {
      const at = Date.now() - daysAgo * 86_400_000;
      const id = records.insertArrival(arrival({ arrivedAt: at, source }));
      records.finish(id, answered
        ? { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: at + 2_000, endedAt: at + 60_000 }
        : { disposition: 'no-answer', sipCode: 480, hangupCause: 19, endedBy: 'router', answeredAt: null, endedAt: at + 30_000 });
    }
    const pool = (await api.inject({ method: 'POST', url: '/v1/pools', headers: admin, payload: { accountId, name: 'website' } })).json().id;
    const pooled = (await api.inject({ method: 'POST', url: '/v1/tracking-numbers', headers: admin, payload: { accountId, did: '+15551239999', destination: '+15559870000' } })).json().id;
    await api.inject({ method: 'PATCH', url: `/v1/tracking-numbers/${pooled}`, headers: admin, payload: { poolId: pool } });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await signIn(page);
    await page.click('a[href="#/reports"]');
    await page.locator('#reports-heading').waitFor();
    const chart = page.locator('.chart canvas');
    await chart.waitFor();
    const to = new Date();
    const from = new Date(to.getTime() - 30 * 86_400_000);
    const range = `from=${from.toISOString()}&to=${to.toISOString()}&accountId=${accountId}`;
    const report = (await api.inject({ method: 'GET', url: `/v1/reports/calls?groupBy=source&${range}`, headers: admin })).json();
    const timeline = (await api.inject({ method: 'GET', url: `/v1/reports/calls-over-time?${range}`, headers: admin })).json();
    const apiTotal = timeline.points.reduce((a: number, p: { calls: number }) => a + p.calls, 0);
    // The two reports count the same calls; the chart has a point per day of the range.
    expect(apiTotal).toBe(report.totals.calls);
    expect(apiTotal).toBeGreaterThanOrEqual(4);
    await page.locator(`.chart[data-total-calls="${apiTotal}"]`).waitFor();
    expect(await page.textContent('tfoot [data-total="calls"]')).toBe(String(report.totals.calls));
    for (const row of report.rows as Array<{ value: string | null; calls: number }>) {
      expect(await page.locator(`tr[data-value="${row.value ?? ''}"] td:nth-child(2)`).textContent()).toBe(String(row.calls));
    }
    expect(await page.locator(`tr[data-pool-id="${pool}"] td:nth-child(2)`).textContent()).toBe('0 of 1');
    await page.screenshot({ path: 'test-results/dashboard-reports.png', fullPage: true });
    // Per hour: the chart draws hours, and the calls by hour of the day add up to the same calls.
    await page.selectOption('select[name="per"]', 'hour');
    await page.locator('.chart[aria-label^="Calls per hour"]').waitFor();
    await page.locator(`.chart[data-total-calls="${apiTotal}"]`).waitFor();
    const byHour = (await page.locator('table.hours tbody tr td:nth-child(2)').allTextContents()).map((t) => Number(t.trim()));
    expect(byHour).toHaveLength(24);
    expect(byHour.reduce((a, b) => a + b, 0)).toBe(apiTotal);
    await page.close();
  }, 60_000);

  it('lets an agency’s person switch between client accounts, showing only the chosen one’s calls', async () => {
    const agency = (await api.inject({ method: 'POST', url: '/v1/agencies', headers: admin, payload: { name: 'Pixel & Co' } })).json().id;
    const clientA = (await api.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Bay Dental', agencyId: agency } })).json().id;
    const clientB = (await api.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Hill Roofing', agencyId: agency } })).json().id;
    await addPerson(api, { agencyId: agency }, 'ana@pixel.test', 'manager');
    const records = createCallRecordRepository(db);
    const a = records.insertArrival(arrival({ accountId: clientA, callerNumber: '+15550000001' }));
    const b = records.insertArrival(arrival({ accountId: clientB, callerNumber: '+15550000002' }));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signInAs(page, origin, 'ana@pixel.test');
    const select = page.locator('header select');
    expect((await select.locator('option').allTextContents()).sort()).toEqual(['Bay Dental', 'Hill Roofing']);
    for (const [account, mine, theirs] of [[clientA, a, b], [clientB, b, a]] as const) {
      await select.selectOption(String(account));
      await page.locator(`tr[data-call-id="${mine}"]`).waitFor();
      expect(await page.locator(`tr[data-call-id="${theirs}"]`).count()).toBe(0);
      expect(await page.locator('tbody tr').count()).toBe(1);
    }
    await page.screenshot({ path: 'test-results/dashboard-agency-switch.png' });
    await page.close();
  }, 60_000);

  it('shows times in the account’s time zone', async () => {
    const bad = await api.inject({ method: 'PATCH', url: `/v1/accounts/${accountId}`, headers: admin, payload: { timeZone: 'Mars/Olympus' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.field).toBe('body.timeZone');
    const set = await api.inject({ method: 'PATCH', url: `/v1/accounts/${accountId}`, headers: admin, payload: { timeZone: 'Pacific/Kiritimati' } });
    expect(set.json().timeZone).toBe('Pacific/Kiritimati');
    const records = createCallRecordRepository(db);
    const at = Date.parse('2026-12-06T11:30:00Z');
    const id = records.insertArrival(arrival({ arrivedAt: at }));
    const page = await browser.newPage();
    await signIn(page);
    const shown = await page.locator(`tr[data-call-id="${id}"] td a`).textContent();
    const expected = await page.evaluate(
      (ms) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium', timeZone: 'Pacific/Kiritimati' }).format(new Date(ms)),
      at,
    );
    expect(shown).toBe(expected);
    // UTC+14: 11:30 UTC is 1:30 the next morning there.
    expect(shown).toMatch(/Dec 7, 2026/);
    await page.close();
    await api.inject({ method: 'PATCH', url: `/v1/accounts/${accountId}`, headers: admin, payload: { timeZone: null } });
  }, 60_000);

  it('shows an owner the account’s audit log, and a manager no such page', async () => {
    await addPerson(api, { accountId }, 'olga@acme.test', 'owner');
    const owner = await browser.newPage();
    await signInAs(owner, origin, 'olga@acme.test');
    await owner.click('a[href="#/audit"]');
    await owner.locator('#audit-heading').waitFor();
    await owner.locator('tbody tr').first().waitFor();
    const text = (await owner.textContent('tbody')) ?? '';
    // The annotation saved in the call page's test, and the invitations, are there.
    expect(text).toContain('PATCH /v1/calls/:id');
    expect(text).toContain('PUT /v1/accounts/:id/users');
    await owner.screenshot({ path: 'test-results/dashboard-audit.png' });
    await owner.close();
    const manager = await browser.newPage();
    await signIn(manager);
    expect(await manager.locator('a[href="#/audit"]').count()).toBe(0);
    await manager.close();
  }, 60_000);

  it('gives a manager the snippet tag to copy and the domains it runs on', async () => {
    const page = await browser.newPage();
    await signIn(page);
    await page.click('a[href="#/snippet"]');
    await page.locator('#snippet-heading').waitFor();
    await page.click('text=Create the snippet key');
    await page.locator('#snippet-tag').waitFor();
    const key = (await api.inject({ method: 'GET', url: `/v1/accounts/${accountId}/snippet`, headers: admin })).json().publicKey;
    expect(await page.textContent('#snippet-tag')).toContain(`data-key="${key}"`);
    await page.fill('form[aria-label="Where the snippet runs"] input[name="allowedDomains"]', 'acme.test, *.acme.test');
    await page.click('form[aria-label="Where the snippet runs"] button[type="submit"]');
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    expect((await api.inject({ method: 'GET', url: `/v1/accounts/${accountId}/snippet`, headers: admin })).json().allowedDomains).toEqual(['acme.test', '*.acme.test']);
    await page.screenshot({ path: 'test-results/dashboard-snippet.png' });
    await page.close();
  }, 60_000);
});
