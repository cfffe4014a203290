/**
 * The dashboard's configuration pages in real headless chromium, each change checked against what the
 * API then holds: route plans (steps, strategies, open hours, whisper, screening, the final action),
 * pools and source rules, announcements (uploaded, converted by Debian's ffmpeg, played back), the
 * account's settings, people (an invitation link a new person opens to choose a password) and API
 * keys; a two-channel recording's channel switch; the pages used by keyboard alone and at 200 % zoom.
 * Screenshots: test-results/dashboard-*.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallRecordRepository } from '../../src/persistence/callRecordRepository.js';
import { recordings } from '../../src/persistence/schema.js';
import { sineSamples, wavFromSamples } from '../callflow/harness/audioAnalysis.js';
import { toneWav } from '../support/toneWav.js';
import { addPerson, admin, createAccount, PASSWORD, signIn, startDashboard, type Dashboard } from './dashboardHarness.js';

let dashboard: Dashboard;
let api: FastifyInstance;
let origin: string;
let browser: Browser;
let accountId: number;

beforeAll(async () => {
  dashboard = await startDashboard();
  ({ api, origin, browser } = dashboard);
  accountId = await createAccount(api, 'Harbor Dental');
  await addPerson(api, { accountId }, 'mia@harbor.test', 'manager');
  await addPerson(api, { accountId }, 'omar@harbor.test', 'owner');
}, 120_000);

afterAll(async () => {
  await dashboard?.close();
});

const get = async (url: string) => (await api.inject({ method: 'GET', url, headers: admin })).json();

async function open(page: Page, hash: string, heading: string): Promise<void> {
  await page.click(`header nav a[href="${hash}"]`);
  await page.locator(`#${heading}`).waitFor();
}

describe('the dashboard’s configuration pages', () => {
  it('builds a route plan with two steps, open hours, whisper, screening and a refusal, and edits it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await signIn(page, origin, 'mia@harbor.test');
    await open(page, '#/plans', 'plans-heading');
    await page.click('text=New route plan');
    const form = page.locator('form.plan');
    await form.locator('input[name="name"]').fill('Office hours');
    await form.locator('input[name="timeZone"]').fill('America/Chicago');
    await form.locator('input[name="step-0-name"]').fill('front desk');
    await form.locator('input[name="step-0-destination-0"]').fill('+15559870001');
    await form.locator('text=Add destination').click();
    await form.locator('input[name="step-0-destination-1"]').fill('+15559870002');
    await form.locator('text=Add step').click();
    await form.locator('input[name="step-1-name"]').fill('on call');
    await form.locator('select[name="step-1-strategy"]').selectOption('round-robin');
    await form.locator('input[name="step-1-destination-0"]').fill('+15559870003');
    await form.locator('input[name="scheduled"]').check();
    await form.locator('input[name="open-sat"]').fill('10:00-14:00');
    await form.locator('input[name="open-sat"]').blur();
    await form.locator('input[name="closedDates"]').fill('2026-12-25');
    await form.locator('input[name="closedDates"]').blur();
    await form.locator('select[name="afterHoursStep"]').selectOption('on call');
    await form.locator('select[name="whisper"]').selectOption('default');
    await form.locator('input[name="whisperText"]').fill('call from the website');
    await form.locator('input[name="screening"]').check();
    await form.locator('select[name="final"]').selectOption('reject-486');
    await page.screenshot({ path: 'test-results/dashboard-route-plan-editor.png', fullPage: true });
    await form.locator('button[type="submit"]').click();
    await page.locator('tr[data-plan-id]').waitFor();
    const [plan] = (await get(`/v1/route-plans?accountId=${accountId}`)).routePlans;
    expect(plan).toMatchObject({
      name: 'Office hours',
      timeZone: 'America/Chicago',
      steps: [
        { name: 'front desk', strategy: 'simultaneous', ringTimeoutSeconds: 30, destinations: [{ target: '+15559870001' }, { target: '+15559870002' }] },
        { name: 'on call', strategy: 'round-robin', destinations: [{ target: '+15559870003' }] },
      ],
      schedule: { open: { mon: [['09:00', '17:00']], sat: [['10:00', '14:00']] }, closedDates: ['2026-12-25'], afterHoursStep: 'on call' },
      whisper: { sound: 'default', text: 'call from the website' },
      screening: true,
      final: { kind: 'reject', sipCode: 486 },
    });
    await page.screenshot({ path: 'test-results/dashboard-route-plans.png' });

    // A wrong destination: the API's refusal, naming the field, and nothing stored.
    await page.click(`tr[data-plan-id="${plan.id}"] >> text=Edit`);
    await form.locator('input[name="step-0-destination-0"]').fill('not a number');
    await form.locator('button[type="submit"]').click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('body.steps.0.destinations.0.target');
    expect((await get(`/v1/route-plans/${plan.id}`)).steps[0].destinations[0].target).toBe('+15559870001');
    await form.locator('input[name="step-0-destination-0"]').fill('+15559870009');
    await form.locator('button[type="submit"]').click();
    await page.locator('tr[data-plan-id]').waitFor();
    expect((await get(`/v1/route-plans/${plan.id}`)).steps[0].destinations[0].target).toBe('+15559870009');
    await page.close();
  }, 60_000);

  it('makes a pool, puts a number in it, and orders source rules', async () => {
    const did = '+15553330001';
    const number = (await api.inject({ method: 'POST', url: '/v1/tracking-numbers', headers: admin, payload: { accountId, did, destination: '+15559870000' } })).json().id;
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await signIn(page, origin, 'mia@harbor.test');
    await open(page, '#/sources', 'sources-heading');
    await page.fill('input[name="poolName"]', 'Website visitors');
    await page.click('form[aria-label="New number pool"] button');
    const card = page.locator('article[data-pool-id]');
    await card.waitFor();
    await card.locator('select[aria-label^="Number to add"]').selectOption(String(number));
    await card.locator('text=Add to pool').click();
    await card.locator(`li[data-did="${did}"]`).waitFor();
    const poolId = Number(await card.getAttribute('data-pool-id'));
    expect((await get(`/v1/tracking-numbers/${number}`)).poolId).toBe(poolId);

    const rules = page.locator('form[aria-label="New source rule"]');
    await rules.locator('input[name="match"]').fill('gclid');
    await rules.locator('input[name="source"]').fill('google');
    await rules.locator('input[name="medium"]').fill('cpc');
    await rules.locator('button[type="submit"]').click();
    await page.locator('tr[data-rule-id]').waitFor();
    await rules.locator('select[name="kind"]').selectOption('referrer_host');
    await rules.locator('input[name="match"]').fill('news.example.com');
    await rules.locator('input[name="source"]').fill('news');
    await rules.locator('button[type="submit"]').click();
    await page.locator('tr[data-rule-id]').nth(1).waitFor();
    await page.locator('tr[data-rule-id]').nth(1).locator('text=Move up').click();
    await page.locator('tr[data-rule-id]').first().filter({ hasText: 'news.example.com' }).waitFor();
    const stored = (await get(`/v1/source-rules?accountId=${accountId}`)).sourceRules as Array<{ source: string; position: number }>;
    expect(stored.sort((a, b) => a.position - b.position).map((r) => r.source)).toEqual(['news', 'google']);
    await page.screenshot({ path: 'test-results/dashboard-sources.png', fullPage: true });
    await page.locator('tr[data-rule-id]').first().locator('text=Delete').click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-rule-id]').length === 1);
    expect((await get(`/v1/source-rules?accountId=${accountId}`)).sourceRules.map((r: { source: string }) => r.source)).toEqual(['google']);
    await page.close();
  }, 60_000);

  it('uploads an announcement, converted by ffmpeg, and plays it', async () => {
    const file = join(tmpdir(), `callroute-greeting-${process.pid}.wav`);
    writeFileSync(file, toneWav(2, 16000));
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await signIn(page, origin, 'mia@harbor.test');
    await open(page, '#/announcements', 'announcements-heading');
    await page.fill('form[aria-label="Upload an announcement"] input[name="name"]', 'After-hours greeting');
    await page.setInputFiles('form[aria-label="Upload an announcement"] input[name="file"]', file);
    await page.click('form[aria-label="Upload an announcement"] button[type="submit"]');
    const row = page.locator('tr[data-announcement-id]');
    await row.waitFor({ timeout: 30_000 });
    const [stored] = (await get(`/v1/announcements?accountId=${accountId}`)).announcements;
    expect(stored).toMatchObject({ name: 'After-hours greeting', accountId });
    expect(Math.abs(stored.durationSeconds - 2)).toBeLessThan(0.1);
    const played = await row.locator('audio').evaluate(async (el: HTMLAudioElement) => {
      el.muted = true;
      el.preload = 'auto';
      await el.play();
      await new Promise((r) => setTimeout(r, 300));
      return { playing: !el.paused && el.currentTime > 0, duration: el.duration };
    });
    expect(played.playing).toBe(true);
    expect(Math.abs(played.duration - 2)).toBeLessThan(0.1);
    await page.screenshot({ path: 'test-results/dashboard-announcements.png' });
    await page.close();
  }, 60_000);

  it('lets an owner set the time zone, invite a listener who chooses a password from the link, and make and revoke an API key', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await signIn(page, origin, 'omar@harbor.test');
    await open(page, '#/account', 'team-heading');
    await page.fill('input[name="timeZone"]', 'Europe/Lisbon');
    await page.click('form[aria-label="Account settings"] button[type="submit"]');
    await expect.poll(async () => (await get(`/v1/accounts/${accountId}`)).timeZone).toBe('Europe/Lisbon');

    const invite = page.locator('form[aria-label="Invite a person"]');
    await invite.locator('input[name="email"]').fill('lee@harbor.test');
    await invite.locator('select[name="role"]').selectOption('listener');
    await invite.locator('button[type="submit"]').click();
    const link = (await page.locator('pre[data-secret="invitation"]').textContent())?.trim() ?? '';
    expect(link).toMatch(new RegExp(`^${origin}/sign-in#reset=`));
    await page.locator('tr[data-email="lee@harbor.test"]').waitFor();

    const keyForm = page.locator('form[aria-label="New API key"]');
    await keyForm.locator('input[name="keyName"]').fill('CRM');
    await keyForm.locator('button[type="submit"]').click();
    await page.locator('tr[data-key-id]').waitFor();
    const key = (await page.locator('pre[data-secret="key"]').textContent())?.trim() ?? '';
    const withKey = (url: string) => api.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    expect((await withKey('/v1/calls')).statusCode).toBe(200);
    expect((await withKey(`/v1/tracking-numbers?accountId=${accountId}`)).statusCode).toBe(403);
    await page.screenshot({ path: 'test-results/dashboard-account.png', fullPage: true });
    await page.locator('tr[data-key-id] >> text=Revoke').click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-key-id]').length === 0);
    expect((await withKey('/v1/calls')).statusCode).toBe(401);
    await page.close();

    // The invited person opens the link, chooses a password, signs in: a listener's menu only.
    const lee = await browser.newPage();
    await lee.goto(link);
    await lee.fill('#new-password', PASSWORD);
    await lee.click('#choose-password button[type="submit"]');
    await lee.locator('#sign-in:not([hidden])').waitFor();
    expect(lee.url()).not.toContain('reset=');
    await lee.goto(`${origin}/sign-in?next=/app/`);
    await lee.fill('#email', 'lee@harbor.test');
    await lee.fill('#password', PASSWORD);
    await lee.click('#submit');
    await lee.locator('#calls-heading').waitFor();
    expect((await lee.locator('header nav a').allTextContents()).sort()).toEqual(['Account', 'Calls']);
    await lee.close();
  }, 60_000);

  it('plays a two-channel recording with a switch between the caller and the answering party', async () => {
    const records = createCallRecordRepository(dashboard.db);
    const now = Date.now();
    const id = records.insertArrival({
      accountId, trackingNumberId: null, did: '+15553330001', callerNumber: '+15557654321', callerName: null, source: 'google', medium: 'cpc', campaign: null,
      destination: '+15559870000', arrivedAt: now - 5_000, inboundChannelId: 'dual-1', outboundChannelId: null, bridgeId: null, firstTimeCaller: true,
    });
    records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: now - 3_000, endedAt: now });
    mkdirSync(join(dashboard.recordingsDir, 'd'), { recursive: true });
    // A 440 Hz tone on the left (the caller), silence on the right.
    writeFileSync(join(dashboard.recordingsDir, 'd', 'dual.wav'), wavFromSamples([sineSamples(440, 3), new Float64Array(24_000)]));
    dashboard.db
      .insert(recordings)
      .values({ callId: id, accountId, status: 'ready', channels: 'dual', asteriskNames: '[]', startedAt: now - 3_000, path: 'd/dual.wav', format: 'wav', contentType: 'audio/wav', durationSeconds: 3, sizeBytes: 96_044 })
      .run();
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await signIn(page, origin, 'omar@harbor.test');
    await page.goto(`${origin}/app/#/calls/${id}`);
    await page.locator('.dual').waitFor();
    // A click is the person's gesture that lets the page play sound (and build its audio graph).
    await page.getByLabel('the caller only').check();
    await page.locator('.dual[data-listening="caller"]').waitFor();
    await page.locator('.dual audio').evaluate((el: HTMLAudioElement) => el.play());
    await page.waitForFunction(() => Number(document.querySelector('[data-track="caller"]')?.getAttribute('data-level')) > 0.05, undefined, { timeout: 5_000 });
    const levels = await page.evaluate(() => ['caller', 'answering'].map((t) => Number(document.querySelector(`[data-track="${t}"]`)?.getAttribute('data-level'))));
    // The tone is on the caller's side only.
    expect(levels[0]).toBeGreaterThan(0.05);
    expect(levels[1]).toBeLessThan(0.01);
    await page.screenshot({ path: 'test-results/dashboard-two-channels.png' });
    await page.close();
  }, 60_000);

  it('is usable by keyboard alone: sign in, open a page, add a number', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${origin}/app/`);
    await page.waitForURL(/\/sign-in/);
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.getAttribute('name') ?? document.activeElement?.textContent ?? '');
    /** Tab forward until the element `matches` has the focus (at most 60 presses). */
    const tabTo = async (matches: (name: string) => boolean) => {
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        if (matches(await focused())) return;
      }
      throw new Error('never reached by Tab');
    };
    await tabTo((n) => n === 'email');
    await page.keyboard.type('mia@harbor.test');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#calls-heading').waitFor();
    await tabTo((n) => n.trim() === 'Numbers');
    // What has the focus is shown (an outline), not only reachable.
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.locator('#numbers-heading').waitFor();
    await tabTo((n) => n === 'did');
    await page.keyboard.type('+15553339999');
    await page.keyboard.press('Tab');
    await page.keyboard.type('+15559870000');
    await page.keyboard.press('Enter');
    await page.locator('tr[data-did="+15553339999"]').waitFor();
    const numbers = (await get(`/v1/tracking-numbers?accountId=${accountId}`)).trackingNumbers as Array<{ did: string }>;
    expect(numbers.map((n) => n.did)).toContain('+15553339999');
    await page.close();
  }, 60_000);

  it('reads at 200 % zoom: every page fits the width, its tables scroll inside their box', async () => {
    // A 1280×900 window at 200 %: 640×450 CSS pixels, each drawn as 2×2.
    const page = await browser.newPage({ viewport: { width: 640, height: 450 }, deviceScaleFactor: 2 });
    await signIn(page, origin, 'omar@harbor.test');
    for (const [hash, heading] of [
      ['#/calls', 'calls-heading'],
      ['#/numbers', 'numbers-heading'],
      ['#/plans', 'plans-heading'],
      ['#/sources', 'sources-heading'],
      ['#/announcements', 'announcements-heading'],
      ['#/snippet', 'snippet-heading'],
      ['#/reports', 'reports-heading'],
      ['#/account', 'team-heading'],
      ['#/audit', 'audit-heading'],
    ] as const) {
      await page.goto(`${origin}/app/${hash}`);
      await page.locator(`#${heading}`).waitFor();
      const { scrollWidth, width } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, width: innerWidth }));
      const wide = await page.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((el) => el.getBoundingClientRect().right > innerWidth + 1 && !el.parentElement?.closest('.table-wrap'))
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
          .slice(0, 5),
      );
      expect(scrollWidth, `${hash} is wider than the window: ${wide.join(', ')}`).toBeLessThanOrEqual(width);
      if (hash === '#/plans' || hash === '#/account') await page.screenshot({ path: `test-results/dashboard-zoom-${hash.slice(2)}.png`, fullPage: true });
    }
    await page.close();
  }, 90_000);
});
