/**
 * Sign-in answers, side by side in one run: the right password, a wrong password for a real e-mail, and
 * an e-mail nobody has, interleaved (so the machine's other load falls on all three alike), through the
 * real app (app.inject, argon2id, SQLite in memory). An attacker timing the answers must not tell an
 * unknown e-mail from a wrong password: the ratio of their medians is the claim.
 */
import { sqliteStore } from '../../src/persistence/store.js';
import { pino } from 'pino';
import { buildApp } from '../../src/api/buildApp.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { median, percentile, round } from '../lib/stats.js';

export interface SignInCase {
  name: string;
  status: number;
  medianMs: number | null;
  p95Ms: number | null;
}

export interface SignInResult {
  attemptsPerCase: number;
  cases: SignInCase[];
  /** median(unknown e-mail) / median(wrong password). */
  unknownOverWrong: number | null;
}

const ADMIN = 'bench-sign-in-admin-token-0123456789';
const PASSWORD = 'a bench passphrase, long enough';

export async function runSignInBench(attempts: number): Promise<SignInResult> {
  const db = openDatabase(':memory:');
  // Limits out of the way: the bench measures the answer, not the lockout.
  const app = buildApp({
    store: sqliteStore(db),
    logger: pino({ level: 'silent' }),
    adminToken: ADMIN,
    defaultCountryCode: '1',
    telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
    apiRateLimits: { requests: { burst: 1e9, perSecond: 1e9 }, failedAuth: { burst: 1e9, perSecond: 1e9 } },
    signInFailures: { burst: 1e9, perSecond: 1e9 },
  });
  try {
    const admin = { authorization: `Bearer ${ADMIN}` };
    const account = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'Bench' } })).json().id;
    const invited = await app.inject({ method: 'PUT', url: `/v1/accounts/${account}/users`, headers: admin, payload: { email: 'real@bench.test', role: 'analyst' } });
    await app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: { token: invited.json().invitation.token, newPassword: PASSWORD } });
    const kinds = [
      { name: 'right password', email: 'real@bench.test', password: PASSWORD },
      { name: 'wrong password', email: 'real@bench.test', password: 'not the bench passphrase' },
      { name: 'unknown e-mail', email: 'nobody@bench.test', password: 'not the bench passphrase' },
    ];
    const times = kinds.map(() => [] as number[]);
    const statuses = kinds.map(() => 0);
    for (let i = 0; i < attempts + 3; i++) {
      for (const [k, kind] of kinds.entries()) {
        const t = performance.now();
        const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: kind.email, password: kind.password } });
        // The first round warms up (the dummy hash for unknown e-mails is made once).
        if (i >= 3) times[k]!.push(performance.now() - t);
        statuses[k] = res.statusCode;
      }
    }
    const cases = kinds.map((kind, k) => ({
      name: kind.name,
      status: statuses[k]!,
      medianMs: round(median(times[k]!), 2),
      p95Ms: round(percentile(times[k]!, 95), 2),
    }));
    const unknown = median(times[2]!);
    const wrong = median(times[1]!);
    return { attemptsPerCase: attempts, cases, unknownOverWrong: unknown !== null && wrong ? round(unknown / wrong, 3) : null };
  } finally {
    await app.close();
    db.$client.close();
  }
}
