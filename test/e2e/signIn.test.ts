/**
 * A person signs in in real headless chromium (Debian's): the sign-in page, e-mail and password, then
 * the code from their authenticator (computed here from the secret enrolment gave them), and lands on
 * the account page that shows who they are and what they may do, read from /v1 with the session
 * cookie. Screenshots: test-results/sign-in-*.png.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { base32Decode, totpAt, totpStep } from '../../src/auth/totp.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { launchChromium } from './browser.js';

const ADMIN = 'e2e-sign-in-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };
const PASSWORD = 'a browser-typed passphrase 7';

let db: Db;
let api: FastifyInstance;
let origin: string;
let browser: Browser;
let secret: string;

beforeAll(async () => {
  mkdirSync('test-results', { recursive: true });
  db = openDatabase(':memory:');
  api = buildApp({ store: sqliteStore(db), logger: pino({ level: 'silent' }), adminToken: ADMIN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
  await api.listen({ host: '127.0.0.1', port: 0 });
  origin = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;

  // An owner of Acme with two-factor on, set up through the API as a person would.
  const account = (await api.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Acme Plumbing' } })).json().id;
  const invited = await api.inject({ method: 'PUT', url: `/v1/accounts/${account}/users`, headers: admin, payload: { email: 'mia@acme.test', name: 'Mia Lopez', role: 'owner' } });
  await api.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: PASSWORD } });
  const login = await api.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'mia@acme.test', password: PASSWORD } });
  const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const headers = { cookie, origin: 'http://localhost:80' };
  secret = (await api.inject({ method: 'POST', url: '/v1/auth/two-factor/enrol', headers })).json().secret;
  const code = totpAt(base32Decode(secret), totpStep(Date.now()));
  const confirmed = await api.inject({ method: 'POST', url: '/v1/auth/two-factor/confirm', headers, payload: { code } });
  expect(confirmed.statusCode, confirmed.body).toBe(200);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await api?.close();
  db?.$client.close();
});

describe('sign-in in a real browser', () => {
  it('signs in with a password and a TOTP code and reaches the account page; sign-out leads back', async () => {
    const page = await browser.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${origin}/account`);
    // Not signed in: the account page sends the browser to sign in.
    await page.waitForURL(`${origin}/sign-in`);
    await page.fill('#email', 'mia@acme.test');
    await page.fill('#password', PASSWORD);
    await page.click('#submit');
    await page.waitForSelector('#code-row:not([hidden])');
    expect(await page.textContent('#message')).toMatch(/authenticator app/);
    await page.screenshot({ path: 'test-results/sign-in-code.png' });

    // The code of the next step: the one used at enrolment is spent (a code works once).
    const next = totpAt(base32Decode(secret), totpStep(Date.now()) + 1);
    await page.fill('#code', next);
    await page.click('#submit');
    await page.waitForURL(`${origin}/account`);
    await page.waitForSelector('#account:not([hidden])');
    expect(await page.textContent('#who')).toBe('Mia Lopez <mia@acme.test>');
    expect(await page.textContent('#two-factor')).toBe('Two-factor sign-in is on.');
    expect(await page.textContent('#places tbody')).toContain('Acme Plumbing');
    expect(await page.textContent('#places tbody')).toContain('recordings:listen');
    await page.screenshot({ path: 'test-results/sign-in-account.png' });

    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === 'callroute_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    // The page's script cannot read the session cookie.
    expect(await page.evaluate(() => document.cookie)).not.toContain('callroute_session');

    await page.click('#sign-out');
    await page.waitForURL(`${origin}/sign-in`);
    expect((await api.inject({ method: 'GET', url: '/v1/auth/me', headers: { cookie: `callroute_session=${session!.value}` } })).statusCode).toBe(401);
    expect(cspViolations).toEqual([]);
    await page.close();
  }, 60_000);

  it('says so when the password is wrong, without saying whether the e-mail exists', async () => {
    const page = await browser.newPage();
    await page.goto(`${origin}/sign-in`);
    await page.fill('#email', 'nobody@acme.test');
    await page.fill('#password', 'wrong wrong wrong');
    await page.click('#submit');
    await page.waitForFunction(() => (document.getElementById('message')?.textContent ?? '') !== '');
    expect(await page.textContent('#message')).toBe('e-mail or password is wrong');
    await page.screenshot({ path: 'test-results/sign-in-wrong.png' });
    await page.close();
  }, 30_000);
});
