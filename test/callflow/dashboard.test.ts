/**
 * The dashboard with a real call: sipp calls a tracking number through the real Asterisk and the real
 * router while a person watches the call log in headless chromium (Debian's). The call appears while
 * it is up, without a reload, then shows as answered; its page plays the real recording, whose
 * duration matches the record's talk time within a second. Screenshots: test-results/dashboard-real-*.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardDir } from '../../src/api/routes/dashboardRoutes.js';
import { launchChromium } from '../e2e/browser.js';
import { startCallflowStack, useStackHooks, type CallflowStack, type CallSummary } from './harness/callflowStack.js';

const DID = '+15551270000';
/** The number the manager adds in the dashboard. */
const NEW_DID = '+15551270009';
const PASSWORD = 'a listener passphrase 4';

let stack: CallflowStack;
let browser: Browser;

describe('the dashboard with a real call', () => {
  beforeAll(async () => {
    mkdirSync('test-results', { recursive: true });
    if (!existsSync(join(dashboardDir(), 'index.html'))) await build({ configFile: 'web/vite.config.ts', logLevel: 'warn' });
    stack = await startCallflowStack({ instance: 'dashboard', httpPort: 8094 });
    const { accountId } = await stack.addNumbers([{ did: DID }]);
    // A listener (the staff who take calls and listen to them) and a manager (who configures).
    for (const [email, role] of [['lee@acme.test', 'listener'], ['max@acme.test', 'manager']] as const) {
      const invited = await stack.api.call<{ invitation: { token: string } }>('PUT', `/v1/accounts/${accountId}/users`, { email, name: email, role });
      const reset = await fetch(`${stack.baseUrl}/v1/auth/password-reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: invited.body.invitation.token, newPassword: PASSWORD }),
      });
      expect(reset.status).toBeLessThan(300);
    }
    browser = await launchChromium();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  useStackHooks(() => stack);

  async function signIn(email: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${stack.baseUrl}/app/`);
    await page.waitForURL(/\/sign-in\?next=/);
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#submit');
    await page.locator('#calls-heading').waitFor();
    return page;
  }

  it('shows the call as it happens and plays its recording for its talk time', async () => {
    const page = await signIn('lee@acme.test');

    const before = await stack.newestCallId();
    let callOver = false;
    const placed = stack.answeredCall(DID, 4_000).then(() => (callOver = true));
    // The row appears while the call is up: the live feed, not a reload.
    const row = page.locator('tbody tr[data-state="ringing"], tbody tr[data-state="in progress"]').first();
    await row.waitFor({ timeout: 10_000 });
    expect(callOver).toBe(false);
    await page.screenshot({ path: 'test-results/dashboard-real-live.png' });
    await placed;
    const call = await stack.finishedCall<CallSummary & { talkSeconds: number }>(before);
    expect(call.id).toBeGreaterThan(before);
    await page.locator(`tr[data-call-id="${call.id}"][data-state="answered"]`).waitFor({ timeout: 10_000 });

    const recs = await stack.finishedRecordings(call.id);
    expect(recs.map((r) => r.status)).toEqual(['ready']);
    await page.click(`tr[data-call-id="${call.id}"] a`);
    const audio = page.locator('audio');
    await audio.waitFor({ timeout: 10_000 });
    const played = await audio.evaluate(async (el: HTMLAudioElement) => {
      el.muted = true;
      await el.play();
      await new Promise((r) => setTimeout(r, 500));
      return { playing: !el.paused && el.currentTime > 0, duration: el.duration };
    });
    expect(played.playing).toBe(true);
    expect(Math.abs(played.duration - call.talkSeconds)).toBeLessThan(1);
    // A listener may play, not delete.
    expect(await page.locator('button.danger').count()).toBe(0);
    await page.screenshot({ path: 'test-results/dashboard-real-call.png' });
    await page.close();
  }, 90_000);

  it('lets a manager add a tracking number that then routes a real call; a listener sees no configuration and the API refuses it', async () => {
    const manager = await signIn('max@acme.test');
    await manager.click('a[href="#/numbers"]');
    await manager.locator('#numbers-heading').waitFor();
    await manager.fill('form[aria-label="Add a tracking number"] input[name="did"]', NEW_DID);
    await manager.fill('form[aria-label="Add a tracking number"] input[name="destination"]', '+15550001111');
    await manager.fill('form[aria-label="Add a tracking number"] input[name="label"]', 'Spring flyer');
    await manager.click('form[aria-label="Add a tracking number"] button[type="submit"]');
    await manager.locator(`tr[data-did="${NEW_DID}"]`).waitFor({ timeout: 10_000 });
    await manager.screenshot({ path: 'test-results/dashboard-real-numbers.png' });
    // The API answered once Asterisk's routing table had the number: a call to it is routed now.
    const before = await stack.newestCallId();
    await stack.answeredCall(NEW_DID, 1_000);
    const call = await stack.finishedCall<CallSummary & { did: string; disposition: string; destination: string }>(before);
    expect(call).toMatchObject({ did: NEW_DID, disposition: 'answered', destination: '+15550001111' });
    await manager.close();

    const listener = await signIn('lee@acme.test');
    expect(await listener.locator('a[href="#/numbers"]').count()).toBe(0);
    await listener.goto(`${stack.baseUrl}/app/#/numbers`);
    await listener.locator('#calls-heading').waitFor();
    expect(await listener.locator('#numbers-heading').count()).toBe(0);
    const refused = await listener.evaluate(async () => (await fetch('/v1/tracking-numbers', { credentials: 'same-origin' })).status);
    expect(refused).toBe(403);
    await listener.close();
  }, 90_000);

  it('routes a real call by a route plan written in the dashboard and attached to the number there', async () => {
    const manager = await signIn('max@acme.test');
    await manager.click('a[href="#/plans"]');
    await manager.locator('#plans-heading').waitFor();
    await manager.click('text=New route plan');
    const form = manager.locator('form.plan');
    await form.locator('input[name="name"]').fill('Front desk first');
    await form.locator('input[name="step-0-name"]').fill('front desk');
    await form.locator('select[name="step-0-strategy"]').selectOption('sequential');
    await form.locator('input[name="step-0-destination-0"]').fill('+15550002222');
    await form.locator('button[type="submit"]').click();
    const row = manager.locator('tr[data-plan-id]');
    await row.waitFor({ timeout: 10_000 });
    const planId = await row.getAttribute('data-plan-id');
    await manager.click('a[href="#/numbers"]');
    await manager.locator(`tr[data-did="${NEW_DID}"]`).waitFor({ timeout: 10_000 });
    await manager.selectOption(`select[aria-label="Route plan of ${NEW_DID}"]`, planId ?? '');
    // The PATCH answers once Asterisk's routing table has the change.
    await expect
      .poll(async () => (await stack.api.call<{ trackingNumbers: Array<{ did: string; routePlanId: number | null }> }>('GET', '/v1/tracking-numbers')).body.trackingNumbers.find((n) => n.did === NEW_DID)?.routePlanId)
      .toBe(Number(planId));
    const before = await stack.newestCallId();
    await stack.answeredCall(NEW_DID, 1_000);
    const call = await stack.finishedCall<CallSummary & { did: string; disposition: string; routeStep: string; answeredDestination: string }>(before);
    expect(call).toMatchObject({ did: NEW_DID, disposition: 'answered', routeStep: 'front desk', answeredDestination: '+15550002222' });
    await manager.goto(`${stack.baseUrl}/app/#/calls/${call.id}`);
    await manager.locator('#call-heading').waitFor();
    expect(await manager.textContent('main')).toContain('front desk: +15550002222 — answered');
    await manager.screenshot({ path: 'test-results/dashboard-real-route-plan-call.png' });
    await manager.close();
  }, 90_000);
});
