/**
 * People: sign-in with a password and a session cookie, two-factor (TOTP and recovery codes), lockout,
 * CSRF, password change and reset, roles taking effect on the next request, API keys with scopes and
 * expiry, the audit log, and no secret in the logs. Real argon2id, real SQLite (in memory), the real app.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { base32Decode, totpAt, totpStep } from '../../src/auth/totp.js';
import { createLogger } from '../../src/logging/createLogger.js';
import type { Store } from '../../src/persistence/store.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';
import { allRows, insertRow, updateAll } from '../support/storeRows.js';

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('people and sign-in on %s', (_dialect, open) => {
  const ADMIN = 'people-test-admin-token-0123456789';
  const admin = { authorization: `Bearer ${ADMIN}` };
  const HOST = 'calls.example.test';
  const ORIGIN = `http://${HOST}`;
  const T0 = Date.parse('2026-06-01T09:00:00.000Z');
  const MINUTE = 60_000;
  const PASSWORD = 'long-enough and not common 1';

  let store: Store;
  let app: FastifyInstance;
  let clock: number;
  let logged: string;

  function build(): FastifyInstance {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged += chunk.toString('utf8');
        done();
      },
    });
    return buildApp({
      store,
      logger: createLogger('debug', sink),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      now: () => clock,
      sessions: { idleMs: 30 * MINUTE, maxMs: 8 * 60 * MINUTE },
    });
  }

  beforeEach(async () => {
    store = await open();
    clock = T0;
    logged = '';
    app = build();
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  async function call(method: string, url: string, init: { headers?: Record<string, string>; payload?: unknown } = {}): Promise<LightMyRequestResponse> {
    return app.inject({ method: method as 'GET', url, headers: { host: HOST, ...init.headers }, ...(init.payload === undefined ? {} : { payload: init.payload as object }) });
  }

  async function createAccount(name: string, extra: Record<string, unknown> = {}): Promise<number> {
    const res = await call('POST', '/v1/accounts', { headers: admin, payload: { name, ...extra } });
    expect(res.statusCode).toBe(201);
    return res.json().id;
  }

  /** The cookies a response sets, as a Cookie header value. */
  function cookiesOf(res: LightMyRequestResponse): string {
    const set = res.headers['set-cookie'];
    const list = Array.isArray(set) ? set : set ? [set] : [];
    return list.map((c) => c.split(';')[0]).join('; ');
  }

  /** Invites a person into an account with a role (as the operator), and sets their password through the invitation. */
  async function invite(accountId: number, email: string, role: string): Promise<number> {
    const res = await call('PUT', `/v1/accounts/${accountId}/users`, { headers: admin, payload: { email, role } });
    expect(res.statusCode, res.body).toBe(200);
    const { token } = res.json().invitation;
    const set = await call('POST', '/v1/auth/password-reset', { payload: { token, newPassword: PASSWORD } });
    expect(set.statusCode, set.body).toBe(204);
    return res.json().user.id;
  }

  async function login(email: string, password = PASSWORD, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    return call('POST', '/v1/auth/login', { headers, payload: { email, password, ...extra } });
  }

  /** Signs in and answers the headers a browser of this site sends: the cookie, and Origin on writes. */
  async function signIn(email: string, extra: Record<string, unknown> = {}): Promise<{ cookie: string; origin: string }> {
    const res = await login(email, PASSWORD, extra);
    expect(res.statusCode, res.body).toBe(200);
    return { cookie: cookiesOf(res), origin: ORIGIN };
  }

  function codeFor(secret: string, at = clock): string {
    return totpAt(base32Decode(secret), totpStep(at));
  }

  describe('sign-in with a password', () => {
    it('signs in, sets a HttpOnly SameSite=Lax session cookie, serves /v1/auth/me and ends the session at logout', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'Mia@Example.com', 'manager');
      const res = await login('mia@example.com');
      expect(res.statusCode).toBe(200);
      const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
      const session = setCookie.find((c) => c.startsWith('callroute_session='))!;
      expect(session).toMatch(/HttpOnly/);
      expect(session).toMatch(/SameSite=Lax/);
      expect(session).toMatch(/Path=\//);
      expect(session).not.toMatch(/Secure/); // plain HTTP here; over HTTPS (a trusted proxy) it is Secure
      expect(res.json()).toMatchObject({ user: { email: 'mia@example.com', twoFactorEnabled: false }, accounts: [{ accountId: a }] });
      const headers = { cookie: cookiesOf(res), origin: ORIGIN };

      const me = await call('GET', '/v1/auth/me', { headers });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({ actor: 'user', user: { email: 'mia@example.com' }, memberships: [{ accountId: a, role: 'manager' }] });
      expect((await call('GET', '/v1/tracking-numbers', { headers })).statusCode).toBe(200);

      expect((await call('POST', '/v1/auth/logout', { headers })).statusCode).toBe(204);
      const after = await call('GET', '/v1/auth/me', { headers });
      expect(after.statusCode).toBe(401);
    });

    it('gives the same answer to an unknown e-mail and a wrong password, and stores only an argon2id hash', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      const wrong = await login('mia@example.com', 'not the password at all');
      const unknown = await login('nobody@example.com', 'not the password at all');
      expect(wrong.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      expect(wrong.json()).toEqual(unknown.json());
      expect(wrong.json().error).toEqual({ code: 'CR_ERR_UNAUTHORIZED', message: 'e-mail or password is wrong' });
      const row = (await allRows(store, 'users'))[0]!;
      expect(row.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(JSON.stringify(await allRows(store, 'users'))).not.toContain(PASSWORD);
    });

    it('ends a session after the idle time and after the absolute time, whatever the activity', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      let headers = await signIn('mia@example.com');
      clock += 29 * MINUTE;
      expect((await call('GET', '/v1/calls', { headers })).statusCode).toBe(200);
      clock += 31 * MINUTE;
      expect((await call('GET', '/v1/calls', { headers })).statusCode).toBe(401);

      headers = await signIn('mia@example.com');
      for (let i = 0; i < 17; i++) {
        clock += 29 * MINUTE;
        const res = await call('GET', '/v1/calls', { headers });
        // 8 hours after sign-in the session is over, active or not.
        expect(res.statusCode, `after ${((i + 1) * 29) / 60} h`).toBe((i + 1) * 29 < 8 * 60 ? 200 : 401);
      }
    });

    it('rotates the session id at sign-in: the cookie held before stops working', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      const first = await signIn('mia@example.com');
      const again = await login('mia@example.com', PASSWORD, {}, { cookie: first.cookie });
      expect(again.statusCode).toBe(200);
      expect(cookiesOf(again)).not.toEqual(first.cookie);
      expect((await call('GET', '/v1/calls', { headers: first })).statusCode).toBe(401);
      expect((await call('GET', '/v1/calls', { headers: { cookie: cookiesOf(again) } })).statusCode).toBe(200);
    });

    it('refuses weak new passwords with a 400 naming the field, and changing the password ends the other sessions', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      const laptop = await signIn('mia@example.com');
      const phone = await signIn('mia@example.com');
      for (const weak of ['short', 'password1234567', 'aaaaaaaaaaaaaaaa', 'mia-is-my-name-ok']) {
        const res = await call('POST', '/v1/auth/password', { headers: laptop, payload: { currentPassword: PASSWORD, newPassword: weak } });
        expect(res.statusCode, weak).toBe(400);
        expect(res.json().error.field).toBe('body.newPassword');
        expect(res.body).not.toContain(weak);
      }
      const wrongCurrent = await call('POST', '/v1/auth/password', { headers: laptop, payload: { currentPassword: 'nope nope nope', newPassword: 'a fresh passphrase 42' } });
      expect(wrongCurrent.json().error.field).toBe('body.currentPassword');
      const ok = await call('POST', '/v1/auth/password', { headers: laptop, payload: { currentPassword: PASSWORD, newPassword: 'a fresh passphrase 42' } });
      expect(ok.statusCode).toBe(204);
      expect((await call('GET', '/v1/calls', { headers: laptop })).statusCode).toBe(200);
      expect((await call('GET', '/v1/calls', { headers: phone })).statusCode).toBe(401);
      // Sessions are listed and ended one by one too.
      const tablet = { cookie: cookiesOf(await login('mia@example.com', 'a fresh passphrase 42')), origin: ORIGIN };
      const listed = (await call('GET', '/v1/auth/sessions', { headers: laptop })).json().sessions;
      expect(listed.map((x: { current: boolean }) => x.current)).toEqual([true, false]);
      expect((await call('DELETE', `/v1/auth/sessions/${listed[1].id}`, { headers: laptop })).statusCode).toBe(204);
      expect((await call('GET', '/v1/calls', { headers: tablet })).statusCode).toBe(401);
      expect((await login('mia@example.com', 'a fresh passphrase 42')).statusCode).toBe(200);
    });

    it('lets an owner issue a one-time reset token for their account’s people, not for someone elsewhere', async () => {
      const a = await createAccount('Acme');
      const b = await createAccount('Other');
      await invite(a, 'owner@acme.test', 'owner');
      const mia = await invite(a, 'mia@example.com', 'listener');
      const bob = await invite(b, 'bob@other.test', 'listener');
      const owner = await signIn('owner@acme.test');
      expect((await call('POST', `/v1/users/${bob}/password-reset`, { headers: owner })).statusCode).toBe(404);
      const issued = await call('POST', `/v1/users/${mia}/password-reset`, { headers: owner });
      expect(issued.statusCode).toBe(201);
      const { token } = issued.json();
      const reset = await call('POST', '/v1/auth/password-reset', { payload: { token, newPassword: 'she picks another one' } });
      expect(reset.statusCode).toBe(204);
      expect((await call('POST', '/v1/auth/password-reset', { payload: { token, newPassword: 'and again, used twice' } })).statusCode).toBe(401);
      expect((await login('mia@example.com', 'she picks another one')).statusCode).toBe(200);
    });
  });

  describe('two-factor sign-in', () => {
    it('enrols with an otpauth URI, then needs a code at sign-in; a code works once; recovery codes work once each', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'manager');
      const headers = await signIn('mia@example.com');
      const enrol = await call('POST', '/v1/auth/two-factor/enrol', { headers });
      expect(enrol.statusCode).toBe(200);
      const { secret, otpauthUri } = enrol.json();
      expect(otpauthUri).toBe(`otpauth://totp/callroute%3Amia%40example.com?secret=${secret}&issuer=callroute&algorithm=SHA1&digits=6&period=30`);
      expect((await call('POST', '/v1/auth/two-factor/confirm', { headers, payload: { code: '000000' } })).statusCode).toBe(400);
      const confirmed = await call('POST', '/v1/auth/two-factor/confirm', { headers, payload: { code: codeFor(secret) } });
      expect(confirmed.statusCode).toBe(200);
      const { recoveryCodes } = confirmed.json();
      expect(recoveryCodes).toHaveLength(10);

      const noCode = await login('mia@example.com');
      expect(noCode.statusCode).toBe(401);
      expect(noCode.json().error.code).toBe('CR_ERR_SECOND_FACTOR_REQUIRED');
      expect(cookiesOf(noCode)).toBe('');
      expect((await login('mia@example.com', PASSWORD, { code: '123456' })).statusCode).toBe(401);

      clock += 30_000;
      const code = codeFor(secret);
      expect((await login('mia@example.com', PASSWORD, { code })).statusCode).toBe(200);
      // The same code again (a replay within its 30 s) is refused.
      expect((await login('mia@example.com', PASSWORD, { code })).statusCode).toBe(401);

      const recovery = String(recoveryCodes[0]);
      expect((await login('mia@example.com', PASSWORD, { code: recovery.toUpperCase() })).statusCode).toBe(200);
      expect((await login('mia@example.com', PASSWORD, { code: recovery })).statusCode).toBe(401);
      const me = await call('GET', '/v1/auth/me', { headers: await signIn('mia@example.com', { code: String(recoveryCodes[1]) }) });
      expect(me.json().recoveryCodesLeft).toBe(8);
      expect(JSON.stringify(await allRows(store, 'auditLog'))).not.toContain(recovery);
    });

    it('an account that requires two-factor lets a member without it do nothing but enrol', async () => {
      const a = await createAccount('Acme', { requireTwoFactor: true });
      await invite(a, 'mia@example.com', 'manager');
      const headers = await signIn('mia@example.com');
      const blocked = await call('GET', '/v1/tracking-numbers', { headers });
      expect(blocked.statusCode).toBe(403);
      expect(blocked.json().error.code).toBe('CR_ERR_TWO_FACTOR_REQUIRED');
      expect((await call('GET', '/v1/auth/me', { headers })).json().twoFactorEnrolmentRequired).toBe(true);
      const { secret } = (await call('POST', '/v1/auth/two-factor/enrol', { headers })).json();
      expect((await call('POST', '/v1/auth/two-factor/confirm', { headers, payload: { code: codeFor(secret) } })).statusCode).toBe(200);
      expect((await call('GET', '/v1/tracking-numbers', { headers })).statusCode).toBe(200);
    });
  });

  describe('brute force', () => {
    it('locks the e-mail after five failures for a while (429 with Retry-After), and not for good', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      // Each from another address: the per-address budget is not what stops them.
      for (let i = 0; i < 5; i++) {
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: `10.0.0.${i + 1}`, payload: { email: 'mia@example.com', password: `guess number ${i}` } });
        expect(res.statusCode).toBe(401);
      }
      const locked = await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.0.0.9', payload: { email: 'mia@example.com', password: PASSWORD } });
      expect(locked.statusCode).toBe(429);
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
      clock += 61_000;
      expect((await login('mia@example.com')).statusCode).toBe(200);
    });

    it('keeps a browser that signed in before out of an attacker’s lockout of its e-mail', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'analyst');
      const first = await login('mia@example.com');
      const device = cookiesOf(first).split('; ').find((c) => c.startsWith('callroute_device='))!;
      for (let i = 0; i < 8; i++) {
        await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: `10.0.1.${i + 1}`, payload: { email: 'mia@example.com', password: `guess ${i} ${i}` } });
      }
      expect((await app.inject({ method: 'POST', url: '/v1/auth/login', remoteAddress: '10.0.1.50', payload: { email: 'mia@example.com', password: PASSWORD } })).statusCode).toBe(429);
      expect((await login('mia@example.com', PASSWORD, {}, { cookie: device })).statusCode).toBe(200);
    });

    it('limits failures per address, across e-mails', async () => {
      for (let i = 0; i < 10; i++) {
        expect((await login(`person${i}@example.com`, 'a wrong password')).statusCode).toBe(401);
      }
      expect((await login('person10@example.com', 'a wrong password')).statusCode).toBe(429);
    });
  });

  describe('CSRF', () => {
    it('refuses a cookie-signed write from another origin or without Origin; a GET and a bearer write are unaffected', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'manager');
      const { cookie } = await signIn('mia@example.com');
      const foreign = await call('POST', '/v1/source-rules', { headers: { cookie, origin: 'https://evil.example' }, payload: { accountId: a, kind: 'direct', source: 'x' } });
      expect(foreign.statusCode).toBe(403);
      expect(foreign.json().error.code).toBe('CR_ERR_CSRF');
      expect((await call('POST', '/v1/source-rules', { headers: { cookie }, payload: { accountId: a, kind: 'direct', source: 'x' } })).statusCode).toBe(403);
      expect((await call('POST', '/v1/source-rules', { headers: { cookie, 'sec-fetch-site': 'same-origin' }, payload: { accountId: a, kind: 'direct', source: 'x' } })).statusCode).toBe(201);
      expect((await call('POST', '/v1/source-rules', { headers: { cookie, origin: ORIGIN }, payload: { accountId: a, kind: 'direct', source: 'y' } })).statusCode).toBe(201);
      expect((await call('GET', '/v1/source-rules', { headers: { cookie } })).statusCode).toBe(200);
      expect((await call('POST', '/v1/source-rules', { headers: { ...admin, origin: 'https://evil.example' }, payload: { accountId: a, kind: 'direct', source: 'z' } })).statusCode).toBe(201);
      // Login CSRF: a foreign page cannot sign the browser in.
      expect((await login('mia@example.com', PASSWORD, {}, { origin: 'https://evil.example' })).statusCode).toBe(403);
    });
  });

  describe('roles take effect on the next request', () => {
    it('a role lowered or removed counts at once for an existing session; a removed person’s session ends', async () => {
      const a = await createAccount('Acme');
      const mia = await invite(a, 'mia@example.com', 'manager');
      const headers = await signIn('mia@example.com');
      expect((await call('GET', '/v1/tracking-numbers', { headers })).statusCode).toBe(200);
      expect((await call('PUT', `/v1/accounts/${a}/users`, { headers: admin, payload: { email: 'mia@example.com', role: 'analyst' } })).statusCode).toBe(200);
      expect((await call('GET', '/v1/tracking-numbers', { headers })).statusCode).toBe(403);
      await insertRow(store, 'calls', { accountId: a, did: '+15551230001', arrivedAt: T0, inboundChannelId: 'c-rec', finished: true, disposition: 'answered', recordingStatus: 'ready' });
      const seen = await call('GET', '/v1/calls', { headers });
      expect(seen.statusCode).toBe(200);
      // An analyst sees the call, not whether it was recorded.
      expect(seen.json().calls[0].recordingStatus).toBeNull();
      expect((await call('GET', '/v1/calls', { headers: admin })).json().calls[0].recordingStatus).toBe('ready');
      expect((await call('DELETE', `/v1/accounts/${a}/users/${mia}`, { headers: admin })).statusCode).toBe(204);
      expect((await call('GET', '/v1/calls', { headers })).statusCode).toBe(403);
      // A person's keys go with them (the foreign key cascades).
      await call('PUT', `/v1/accounts/${a}/users`, { headers: admin, payload: { email: 'mia@example.com', role: 'owner' } });
      const key = await call('POST', `/v1/accounts/${a}/tokens`, { headers, payload: { name: 'mia key' } });
      expect(key.statusCode).toBe(201);
      expect((await call('DELETE', `/v1/users/${mia}`, { headers: admin })).statusCode).toBe(204);
      expect((await call('GET', '/v1/calls', { headers: { authorization: `Bearer ${key.json().token}` } })).statusCode).toBe(401);
      expect((await call('GET', '/v1/auth/me', { headers })).statusCode).toBe(401);
      expect(await allRows(store, 'sessions')).toEqual([]);
    });
  });

  describe('agencies', () => {
    it('an agency owner sees every client account of the agency, creates accounts in it, and nothing of other accounts', async () => {
      const agency = (await call('POST', '/v1/agencies', { headers: admin, payload: { name: 'Pixel & Co' } })).json().id as number;
      const client1 = await createAccount('Client One', { agencyId: agency });
      const direct = await createAccount('Direct Customer');
      const res = await call('PUT', `/v1/agencies/${agency}/users`, { headers: admin, payload: { email: 'ana@pixel.test', role: 'owner' } });
      expect(res.statusCode).toBe(200);
      await call('POST', '/v1/auth/password-reset', { payload: { token: res.json().invitation.token, newPassword: PASSWORD } });
      const headers = await signIn('ana@pixel.test');
      const created = await call('POST', '/v1/accounts', { headers, payload: { name: 'Client Two', agencyId: agency } });
      expect(created.statusCode).toBe(201);
      expect((await call('POST', '/v1/accounts', { headers, payload: { name: 'Loose' } })).statusCode).toBe(400);
      const ids = (await call('GET', '/v1/accounts', { headers })).json().accounts.map((x: { id: number }) => x.id);
      expect(ids).toEqual([client1, created.json().id]);
      expect((await call('GET', `/v1/accounts/${direct}`, { headers })).statusCode).toBe(404);
      // Inviting a client's marketer into one client account.
      const marketer = await call('PUT', `/v1/accounts/${client1}/users`, { headers, payload: { email: 'mo@client1.test', role: 'analyst' } });
      expect(marketer.statusCode).toBe(200);
      expect((await call('PUT', `/v1/accounts/${direct}/users`, { headers, payload: { email: 'x@y.test', role: 'analyst' } })).statusCode).toBe(404);
    });
  });

  describe('API keys', () => {
    it('holds only its scopes, stops at its expiry, and a person’s key never holds more than the person', async () => {
      const a = await createAccount('Acme');
      const callId = (await insertRow(store, 'calls', { accountId: a, did: '+15551230001', arrivedAt: T0, inboundChannelId: 'c1', finished: true, disposition: 'answered' })).id;
      const key = await call('POST', `/v1/accounts/${a}/tokens`, {
        headers: admin,
        payload: { name: 'CRM sync', scopes: ['calls:read'], expiresAt: new Date(T0 + 60 * MINUTE).toISOString() },
      });
      expect(key.statusCode).toBe(201);
      const bearer = { authorization: `Bearer ${key.json().token}` };
      expect((await call('GET', `/v1/calls/${callId}`, { headers: bearer })).statusCode).toBe(200);
      expect((await call('GET', '/v1/reports/calls', { headers: bearer })).statusCode).toBe(403);
      expect((await call('GET', '/v1/tracking-numbers', { headers: bearer })).statusCode).toBe(403);
      clock += 61 * MINUTE;
      const expired = await call('GET', `/v1/calls/${callId}`, { headers: bearer });
      expect(expired.statusCode).toBe(401);
      expect(expired.json().error.message).toMatch(/expired/);

      await invite(a, 'owner@acme.test', 'owner');
      const owner = await signIn('owner@acme.test');
      const mine = await call('POST', `/v1/accounts/${a}/tokens`, { headers: owner, payload: { name: 'mine', scopes: ['configuration:read', 'calls:read'] } });
      expect(mine.statusCode).toBe(201);
      expect(mine.json().userId).not.toBeNull();
      const ownerKey = { authorization: `Bearer ${mine.json().token}` };
      expect((await call('GET', '/v1/tracking-numbers', { headers: ownerKey })).statusCode).toBe(200);
      expect((await call('POST', `/v1/accounts/${a}/tokens`, { headers: owner, payload: { name: 'too much', scopes: ['installation'] } })).statusCode).toBe(400);
      // The owner demoted to analyst: the key loses configuration:read with them.
      await call('PUT', `/v1/accounts/${a}/users`, { headers: admin, payload: { email: 'owner@acme.test', role: 'analyst' } });
      expect((await call('GET', '/v1/tracking-numbers', { headers: ownerKey })).statusCode).toBe(403);
      expect((await call('GET', '/v1/calls', { headers: ownerKey })).statusCode).toBe(200);
    });
  });

  describe('audit log', () => {
    it('records sign-ins and failures, configuration changes, people changes and recording plays, with who and from where', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'owner@acme.test', 'owner');
      await login('owner@acme.test', 'wrong wrong wrong');
      const owner = await signIn('owner@acme.test');
      const rule = await call('POST', '/v1/source-rules', { headers: owner, payload: { accountId: a, kind: 'direct', source: 'direct' } });
      expect(rule.statusCode).toBe(201);
      await call('PUT', `/v1/accounts/${a}/users`, { headers: owner, payload: { email: 'li@acme.test', role: 'listener' } });
      const key = await call('POST', `/v1/accounts/${a}/tokens`, { headers: owner, payload: { name: 'crm', scopes: ['calls:read'] } });
      expect((await call('DELETE', `/v1/accounts/${a}/tokens/${key.json().id}`, { headers: owner })).statusCode).toBe(204);
      expect((await call('POST', '/v1/auth/password', { headers: owner, payload: { currentPassword: PASSWORD, newPassword: 'another long passphrase' } })).statusCode).toBe(204);
      expect((await call('POST', '/v1/auth/logout', { headers: owner })).statusCode).toBe(204);

      const all = await call('GET', '/v1/audit', { headers: admin });
      expect(all.statusCode).toBe(200);
      const actions = all.json().entries.map((e: { action: string }) => e.action);
      expect(actions).toEqual(
        expect.arrayContaining(['auth.login-failed', 'auth.login', 'POST /v1/source-rules', 'PUT /v1/accounts/:id/users', 'POST /v1/accounts', 'auth.password-reset', 'auth.password-change', 'auth.logout',
          'POST /v1/accounts/:id/tokens', 'DELETE /v1/accounts/:id/tokens/:tokenId']),
      );
      const failed = all.json().entries.find((e: { action: string }) => e.action === 'auth.login-failed');
      expect(failed).toMatchObject({ actorKind: 'anonymous', actor: 'owner@acme.test', ip: '127.0.0.1', detail: { reason: 'password' } });
      const ruleEntry = all.json().entries.find((e: { action: string }) => e.action === 'POST /v1/source-rules');
      expect(ruleEntry).toMatchObject({ actorKind: 'user', actor: 'user owner@acme.test', accountId: a, target: '/v1/source-rules' });

      // The owner sees their account's entries; filters by action.
      const again = { cookie: cookiesOf(await login('owner@acme.test', 'another long passphrase')), origin: ORIGIN };
      const mineRes = await call('GET', `/v1/audit?action=${encodeURIComponent('POST /v1/source-rules')}`, { headers: again });
      expect(mineRes.statusCode).toBe(200);
      expect(mineRes.json().entries).toHaveLength(1);
      // Append-only below the API too.
      const refused = await updateAll(store, 'auditLog', { actor: 'someone else' }).then(() => null, (err: Error) => err);
      // PostgreSQL's driver error comes wrapped (drizzle's "Failed query"), with the trigger's message as its cause.
      expect(`${refused?.message} ${(refused?.cause as Error | undefined)?.message}`).toMatch(/append-only/);
    });
  });

  describe('secrets', () => {
    it('no password, session id, TOTP secret, recovery code or key appears in the debug log', async () => {
      const a = await createAccount('Acme');
      await invite(a, 'mia@example.com', 'owner');
      const headers = await signIn('mia@example.com');
      const { secret } = (await call('POST', '/v1/auth/two-factor/enrol', { headers })).json();
      const { recoveryCodes } = (await call('POST', '/v1/auth/two-factor/confirm', { headers, payload: { code: codeFor(secret) } })).json();
      const key = (await call('POST', `/v1/accounts/${a}/tokens`, { headers, payload: { name: 'k' } })).json().token;
      await login('mia@example.com', 'a wrong password for the log');
      await app.close();
      expect(logged).toContain('incoming request');
      const sessionId = headers.cookie.split('; ').find((c) => c.startsWith('callroute_session='))!.split('=')[1]!;
      for (const s of [PASSWORD, 'a wrong password for the log', sessionId, secret, ...recoveryCodes, key]) {
        expect(logged, `the log holds ${String(s).slice(0, 6)}…`).not.toContain(s);
      }
      app = build();
    });
  });
});
