/**
 * What the dashboard's browser tests share: the app (real routes, an in-memory database, real ffmpeg
 * located on first use) on a loopback port serving the built dashboard, an account with its first
 * person, headless chromium, and signing in through the real sign-in page.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import { expect } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { dashboardDir } from '../../src/api/routes/dashboardRoutes.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { launchChromium } from './browser.js';

const ADMIN = 'e2e-dashboard-admin-token-0123456789';
export const admin = { authorization: `Bearer ${ADMIN}` };
export const PASSWORD = 'a dashboard passphrase 9';

export interface Dashboard {
  db: Db;
  api: FastifyInstance;
  origin: string;
  browser: Browser;
  recordingsDir: string;
  /** Where the Asterisk sounds would be (announcements are converted into it). */
  asteriskRoot: string;
  close(): Promise<void>;
}

export async function startDashboard(): Promise<Dashboard> {
  mkdirSync('test-results', { recursive: true });
  // The build npm start and npm test make; a single run of a file makes it when missing.
  if (!existsSync(join(dashboardDir(), 'index.html'))) await build({ configFile: 'web/vite.config.ts', logLevel: 'warn' });
  const db = openDatabase(':memory:');
  const recordingsDir = mkdtempSync(join(tmpdir(), 'callroute-dashboard-'));
  const asteriskRoot = mkdtempSync(join(tmpdir(), 'callroute-dashboard-sounds-'));
  const api = buildApp({
    store: sqliteStore(db),
    logger: pino({ level: 'silent' }),
    adminToken: ADMIN,
    defaultCountryCode: '1',
    telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    recordings: { dir: recordingsDir, asteriskRoot, keys: new Map(), linkSecret: 'l', linkTtlSeconds: 300, publicBaseUrl: 'http://x', ffmpegPath: null },
  });
  await api.listen({ host: '127.0.0.1', port: 0 });
  const origin = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  const browser = await launchChromium();
  return {
    db,
    api,
    origin,
    browser,
    recordingsDir,
    asteriskRoot,
    async close() {
      await browser.close();
      await api.close();
    },
  };
}

export async function createAccount(api: FastifyInstance, name: string): Promise<number> {
  return (await api.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name } })).json().id;
}

/** A person with a role in an account (or agency), who has chosen PASSWORD. */
export async function addPerson(api: FastifyInstance, where: { accountId: number } | { agencyId: number }, email: string, role: string): Promise<void> {
  const url = 'accountId' in where ? `/v1/accounts/${where.accountId}/users` : `/v1/agencies/${where.agencyId}/users`;
  const invited = await api.inject({ method: 'PUT', url, headers: admin, payload: { email, name: email.split('@')[0], role } });
  expect(invited.statusCode, invited.body).toBe(200);
  const reset = await api.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: PASSWORD } });
  expect(reset.statusCode, reset.body).toBeLessThan(300);
}

/** Through the sign-in page the dashboard sends a signed-out person to, back to the call log. */
export async function signIn(page: Page, origin: string, email: string, password = PASSWORD): Promise<void> {
  await page.goto(`${origin}/app/`);
  await page.waitForURL(/\/sign-in\?next=/);
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(/\/app\/(#\/calls)?$/).catch(async (err: unknown) => {
    await page.screenshot({ path: 'test-results/dashboard-sign-in-failed.png' });
    throw new Error(`sign-in did not reach the dashboard: ${page.url()} ${await page.textContent('body')}`, { cause: err });
  });
  await page.locator('#calls-heading').waitFor();
}
