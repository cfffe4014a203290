/**
 * The start command's first run (scripts/seedDemo.ts, run by npm start): an operator and an owner of
 * the Demo account, with random passwords in a file only its owner can read, who can then sign in.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('first run', () => {
  it('creates an operator and a Demo owner who sign in with the printed passwords, once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'callroute-first-run-'));
    const env = { ...process.env, CALLROUTE_DB_PATH: join(dir, 'db.sqlite'), CALLROUTE_ADMIN_TOKEN: 'first-run-admin-token-0123456789', ARI_PASSWORD: 'x' };
    const file = join(dir, 'first-sign-in.txt');
    const seed = () => execFileSync('npx', ['tsx', 'scripts/seedDemo.ts', '--sign-in-file', file], { env, encoding: 'utf8' });
    expect(seed()).toContain('created the first people');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const people = readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split('\t'));
    expect(people.map((p) => p[1])).toEqual(['operator@callroute.local', 'owner@demo.callroute.local']);
    // A second start creates nobody and keeps the file as it was.
    expect(seed()).not.toContain('created the first people');

    const db = openDatabase(env.CALLROUTE_DB_PATH);
    const app = buildApp({ store: sqliteStore(db), logger: pino({ level: 'silent' }), adminToken: env.CALLROUTE_ADMIN_TOKEN, defaultCountryCode: '1', telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }) });
    try {
      const [operator, owner] = people as [string[], string[]];
      const asOperator = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: operator[1], password: operator[2] } });
      expect(asOperator.statusCode).toBe(200);
      expect(asOperator.json().operator).toBe(true);
      const asOwner = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: owner[1], password: owner[2] } });
      expect(asOwner.statusCode).toBe(200);
      expect(asOwner.json().accounts).toEqual([expect.objectContaining({ permissions: expect.arrayContaining(['users:manage', 'recordings:listen']) })]);
    } finally {
      await app.close();
      db.$client.close();
    }
  }, 60_000);
});
