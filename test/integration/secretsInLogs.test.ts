/**
 * What the router logs at debug level never holds a secret: the admin token (a request header),
 * a customer token (created, then used), a wrong token someone tried, a signed link's signature
 * (a query parameter), or the configuration's passwords.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { loadConfig } from '../../src/config/loadConfig.js';
import { createLogger } from '../../src/logging/createLogger.js';
import type { Store } from '../../src/persistence/store.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const TOKEN = 'admin-token-that-must-not-be-logged-0123';
const SIG = 'b1e5c0ffee0ddba11deadbeefcafe000b1e5c0ffee0ddba11deadbeefcafe000';

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('secrets in logs on %s', (_dialect, open) => {
  let store: Store;
  afterEach(async () => {
    await store.close();
  });

  describe('secrets in logs', () => {
    it('debug logs of sign-ins, token creation, signed links and the loaded config hold none of the secrets', async () => {
      let logged = '';
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          logged += chunk.toString('utf8');
          done();
        },
      });
      const logger = createLogger('debug', sink);
      const config = loadConfig({ CALLROUTE_ADMIN_TOKEN: TOKEN, ARI_PASSWORD: 'ari-password-not-logged', RECORDING_KEYS: `k1:${Buffer.alloc(32, 7).toString('base64')}`, CALLROUTE_DB_URL: 'postgres://callroute:db-password-not-logged@127.0.0.1:5432/callroute' });
      logger.info({ config }, 'config loaded');
      store = await open();
      const app = buildApp({ store: store, logger, adminToken: TOKEN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
      const auth = { authorization: `Bearer ${TOKEN}` };
      const account = await app.inject({ method: 'POST', url: '/v1/accounts', headers: auth, payload: { name: 'Acme' } });
      const created = await app.inject({ method: 'POST', url: `/v1/accounts/${account.json().id}/tokens`, headers: auth, payload: { name: 'crm' } });
      const customerToken = created.json().token as string;
      expect(customerToken.length).toBeGreaterThan(20);
      expect((await app.inject({ method: 'GET', url: '/v1/calls', headers: { authorization: `Bearer ${customerToken}` } })).statusCode).toBe(200);
      await app.inject({ method: 'GET', url: '/v1/calls', headers: { authorization: 'Bearer guessed-token-not-logged' } });
      await app.inject({ method: 'GET', url: `/r/1?exp=9999999999&sig=${SIG}` });
      await app.close();
      logger.flush();
      expect(logged).toContain("incoming request");
      expect(logged).toContain("/r/1?exp=9999999999&sig=[redacted]");
      for (const secret of [TOKEN, customerToken, 'guessed-token-not-logged', SIG, 'ari-password-not-logged', 'db-password-not-logged', Buffer.alloc(32, 7).toString('base64')]) {
        expect(logged, `a log line holds ${secret.slice(0, 12)}…`).not.toContain(secret);
      }
    });
  });
});
