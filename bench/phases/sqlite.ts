/**
 * SQLite on the real write path and the calls-by-source report.
 * - Writes: createCallRecordRepository on a WAL file database (openDatabase: pragmas + migrations),
 *   each call = insertArrival + markAnswered + finish, as a session writes them.
 * - Report: one million generated call rows, calls by source over a time range through the API's
 *   own callReport (src/persistence/callReports.ts); REPORT_SQL is its SQL, for the query plan.
 */
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createCallRecordRepository, type CallArrival, type CallFinish } from '../../src/persistence/callRecordRepository.js';
import { callReport } from '../../src/persistence/callReports.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { runOnSqlite } from '../../src/persistence/store.js';
import { median, round } from '../lib/stats.js';

/** The SQL callReport (src/persistence/callReports.ts) runs for groupBy 'source', for EXPLAIN QUERY PLAN only. */
export const REPORT_SQL = `SELECT source AS value, count(*), coalesce(sum(disposition = 'answered'), 0), coalesce(sum(first_time_caller = 1), 0)
FROM calls WHERE arrived_at >= ? AND arrived_at < ? AND account_id IS NOT NULL AND account_id IN (?)
GROUP BY 1 ORDER BY 2 DESC, 1`;
export const REPORT_SQL_ALL_ACCOUNTS = `SELECT source AS value, count(*), coalesce(sum(disposition = 'answered'), 0), coalesce(sum(first_time_caller = 1), 0)
FROM calls WHERE arrived_at >= ? AND arrived_at < ? AND account_id IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1`;

export interface SqliteWrites {
  calls: number;
  seconds: number;
  callsPerSecond: number;
  statementsPerSecond: number;
  meanMsPerCall: number;
  p99MsPerCall: number;
}

export interface ReportCase {
  name: string;
  rowsInRange: number;
  medianMs: number;
  maxMs: number;
  plan: string;
}

export interface SqliteResult {
  /** Shipped: secure_delete on (openDatabase). The best of two rounds. */
  writes: SqliteWrites;
  /** The same without secure_delete, rounds alternating with the shipped ones. */
  writesWithoutSecureDelete?: SqliteWrites;
  report: {
    rows: number;
    generateSeconds: number;
    dbMb: number;
    implementation: string;
    cases: ReportCase[];
    indexVariants: Array<{ name: string; sql: string[]; cases: ReportCase[] }>;
  };
}

const DAY = 86_400_000;
const SOURCES = ['google', 'facebook', 'bing', 'direct', 'email', 'yelp', 'referral', null];
const DISPOSITIONS = ['answered', 'answered', 'answered', 'no-answer', 'busy', 'caller-abandoned', 'failed', 'rejected'];

/** The columns of a generated call, in GENERATED_CALL_COLUMNS' order. */
export type GeneratedCallRow = [number, string, string, string | null, string | null, null, string, string, number | null, number, number | null, number, number, number, string, number];

/** The columns the generator fills (finished = 1, hangup_cause 16, ended_by 'caller' besides). */
export const GENERATED_CALL_COLUMNS = [
  'account_id', 'did', 'caller_number', 'source', 'medium', 'campaign', 'destination', 'disposition', 'sip_code',
  'arrived_at', 'answered_at', 'ended_at', 'ring_seconds', 'talk_seconds', 'inbound_channel_id', 'first_time_caller',
] as const;

/**
 * `rows` calls over the year before `now`, from deterministic pseudo-random numbers so runs (and the
 * two dialects) compare: account 1 is the big customer (a quarter of all calls), the rest share the
 * remainder.
 */
export function* generatedCallRows(rows: number, nAccounts: number, now: number): Generator<GeneratedCallRow> {
  let seed = 42;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const yearStart = now - 365 * DAY;
  for (let i = 0; i < rows; i += 1) {
    const account = rnd() < 0.25 ? 1 : 2 + Math.floor(rnd() * (nAccounts - 1));
    const source = SOURCES[Math.floor(rnd() * SOURCES.length)] ?? null;
    const disposition = DISPOSITIONS[Math.floor(rnd() * DISPOSITIONS.length)] as string;
    const arrived = yearStart + Math.floor((i / rows) * 365 * DAY);
    const answered = disposition === 'answered' ? arrived + 8_000 : null;
    const talk = answered ? Math.floor(rnd() * 600) : 0;
    const ended = (answered ?? arrived + 20_000) + talk * 1000;
    yield [account, `+1555124${String(account).padStart(4, '0')}`, `+1999${String(i).padStart(7, '0')}`, source, source ? 'cpc' : null, null,
      '+15550001111', disposition, disposition === 'answered' ? null : 486, arrived, answered, ended, 8, talk, `gen-${i}`, rnd() < 0.4 ? 1 : 0];
  }
}

/** The report's cases: whose calls (null: every account) over how many days before now. */
export const REPORT_CASES: ReadonlyArray<{ name: string; account: number | null; days: number }> = [
  { name: 'big account (25% of rows), last 30 days', account: 1, days: 30 },
  { name: 'big account, whole year', account: 1, days: 366 },
  { name: 'small account, whole year', account: 7, days: 366 },
  { name: 'all accounts, last 30 days', account: null, days: 30 },
  { name: 'all accounts, whole year (every row)', account: null, days: 366 },
];

/** Call `i` of a write benchmark, arriving at `base + i` (channel ids unique per `tag`). */
export function benchCallArrival(i: number, base: number, tag: string): CallArrival {
  return {
    accountId: null, trackingNumberId: null, did: '+15551230000', callerNumber: `+1999555${i}`, callerName: null,
    source: 'google', medium: 'cpc', campaign: 'spring', destination: '+15550001111', arrivedAt: base + i,
    inboundChannelId: `bench-${tag}${i}`, outboundChannelId: `cr-out-${i}`, bridgeId: `cr-br-${i}`,
  };
}

/** Its outcome: answered 5 ms after arriving, ended 25 ms later. */
export function benchCallFinish(i: number, base: number): CallFinish {
  return { disposition: 'answered', sipCode: null, hangupCause: 16, endedBy: 'caller', answeredAt: base + i + 5, endedAt: base + i + 30 };
}

/** insertArrival + markAnswered + finish per call on a fresh WAL file, as a session writes them. */
function measureWrites(dir: string, calls: number, secureDelete: boolean): SqliteWrites {
  const writePath = join(dir, 'writes.db');
  for (const f of [writePath, `${writePath}-wal`, `${writePath}-shm`]) rmSync(f, { force: true });
  const wdb = openDatabase(writePath);
  if (!secureDelete) wdb.$client.pragma('secure_delete = OFF');
  const repo = createCallRecordRepository(wdb);
  const perCall: number[] = [];
  const t0 = performance.now();
  const base = Date.now();
  for (let i = 0; i < calls; i += 1) {
    const s = performance.now();
    const id = repo.insertArrival(benchCallArrival(i, base, ''));
    repo.markAnswered(id, base + i + 5);
    repo.finish(id, benchCallFinish(i, base));
    perCall.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  wdb.$client.close();
  perCall.sort((a, b) => a - b);
  return {
    calls,
    seconds: round(seconds, 3) ?? 0,
    callsPerSecond: Math.round(calls / seconds),
    // insertArrival (1 INSERT), markAnswered (1 UPDATE), finish (1 SELECT + 1 UPDATE)
    statementsPerSecond: Math.round((calls * 4) / seconds),
    meanMsPerCall: round((seconds * 1000) / calls, 4) ?? 0,
    p99MsPerCall: round(perCall[Math.floor(perCall.length * 0.99)] ?? 0, 4) ?? 0,
  };
}

export function runSqliteBench(dir: string, opts: { rows: number; writeCalls: number; accounts?: number }): SqliteResult {
  const nAccounts = opts.accounts ?? 20;
  // --- writes on the real path: shipped (secure_delete on) and without secure_delete, alternating
  // rounds in one run so the machine's other load falls on both alike.
  const rounds: Record<'on' | 'off', SqliteWrites[]> = { on: [], off: [] };
  for (let r = 0; r < 2; r += 1) {
    rounds.on.push(measureWrites(dir, opts.writeCalls, true));
    rounds.off.push(measureWrites(dir, opts.writeCalls, false));
  }
  const best = (list: SqliteWrites[]) => list.reduce((a, b) => (b.callsPerSecond > a.callsPerSecond ? b : a));
  const writes = best(rounds.on);
  const writesWithoutSecureDelete = best(rounds.off);

  // --- one million rows and the report
  const path = join(dir, 'report.db');
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  const db = openDatabase(path);
  const raw = db.$client;
  const now = Date.now();
  const insAccount = raw.prepare('INSERT INTO accounts (name, created_at, updated_at) VALUES (?, ?, ?)');
  for (let a = 0; a < nAccounts; a += 1) insAccount.run(`Account ${a + 1}`, now, now);
  const ins = raw.prepare(`INSERT INTO calls (${GENERATED_CALL_COLUMNS.join(', ')}, finished, hangup_cause, ended_by)
    VALUES (${GENERATED_CALL_COLUMNS.map(() => '?').join(', ')}, 1, 16, 'caller')`);
  const rowsOf = generatedCallRows(opts.rows, nAccounts, now);
  const g0 = performance.now();
  const batch = raw.transaction((count: number) => {
    for (let i = 0; i < count; i += 1) ins.run(...(rowsOf.next().value as GeneratedCallRow));
  });
  for (let i = 0; i < opts.rows; i += 50_000) batch(Math.min(50_000, opts.rows - i));
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.exec('ANALYZE');
  const generateSeconds = (performance.now() - g0) / 1000;

  const implementation = "callReport({ groupBy: 'source', from, to, accountIds? }) from src/persistence/callReports.ts (the API's report), run by runOnSqlite";

  const runCases = (): ReportCase[] => {
    const count1 = raw.prepare('SELECT COUNT(*) AS n FROM calls WHERE account_id = ? AND arrived_at >= ? AND arrived_at < ?');
    const countAll = raw.prepare('SELECT COUNT(*) AS n FROM calls WHERE arrived_at >= ? AND arrived_at < ?');
    const specs: Array<{ name: string; run: () => unknown; count: () => number; plan: string }> = [];
    const add = (name: string, account: number | null, days: number): void => {
      const from = now - days * DAY;
      const args = account === null ? [from, now + DAY] : [account, from, now + DAY];
      const planArgs = account === null ? [from, now + DAY] : [from, now + DAY, account];
      specs.push({
        name,
        run: () => runOnSqlite(db, callReport({ groupBy: 'source', from, to: now + DAY, ...(account === null ? {} : { accountIds: [account] }) })),
        count: () => ((account === null ? countAll : count1).get(...args) as { n: number }).n,
        plan: (raw.prepare(`EXPLAIN QUERY PLAN ${account === null ? REPORT_SQL_ALL_ACCOUNTS : REPORT_SQL}`).all(...planArgs) as Array<{ detail: string }>)
          .map((r) => r.detail)
          .join('; '),
      });
    };
    for (const c of REPORT_CASES) add(c.name, c.account, c.days);
    return specs.map((s) => {
      s.run(); // warm the page cache
      const times: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const t = performance.now();
        s.run();
        times.push(performance.now() - t);
      }
      return { name: s.name, rowsInRange: s.count(), medianMs: round(median(times), 2) ?? 0, maxMs: round(Math.max(...times), 2) ?? 0, plan: s.plan };
    });
  };
  const cases = runCases();
  // What an index would buy (only on this scratch database; the schema is not changed here).
  const variants: Array<{ name: string; sql: string[]; cases: ReportCase[] }> = [
    {
      name: 'covering, range first: (account_id, arrived_at, source, disposition, first_time_caller) + (arrived_at, account_id, source, disposition, first_time_caller)',
      sql: [
        'CREATE INDEX bench_a ON calls (account_id, arrived_at, source, disposition, first_time_caller)',
        'CREATE INDEX bench_b ON calls (arrived_at, account_id, source, disposition, first_time_caller)',
      ],
      cases: [],
    },
    {
      name: 'covering, group first: (account_id, source, arrived_at, disposition, first_time_caller) + (source, arrived_at, account_id, disposition, first_time_caller)',
      sql: [
        'CREATE INDEX bench_a ON calls (account_id, source, arrived_at, disposition, first_time_caller)',
        'CREATE INDEX bench_b ON calls (source, arrived_at, account_id, disposition, first_time_caller)',
      ],
      cases: [],
    },
  ];
  for (const v of variants) {
    for (const s of v.sql) raw.exec(s);
    raw.exec('ANALYZE');
    v.cases = runCases();
    raw.exec('DROP INDEX bench_a; DROP INDEX bench_b');
  }
  raw.close();
  const size = statSync(path).size;
  return { writes, writesWithoutSecureDelete, report: { rows: opts.rows, generateSeconds: round(generateSeconds, 1) ?? 0, dbMb: round(size / 1e6, 1) ?? 0, implementation, cases, indexVariants: variants } };
}
