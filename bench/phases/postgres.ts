/**
 * The SQLite phase's figures on PostgreSQL, in the same run (issue 21): a private server of Debian's
 * package (scripts/postgres-sandbox.ts, fsync on, synchronous_commit off — as SQLite's WAL with
 * synchronous=NORMAL, a commit does not wait for its flush), on loopback.
 * - Writes: createCallRecordStore on PostgreSQL, each call = insertArrival + markAnswered + finish as
 *   a session writes them, one call after another (each write a round trip), and 32 calls at once
 *   (what several sessions of a router, or several routers, do).
 * - Report: the same generated calls as SQLite's (generatedCallRows), the API's callReport run as a
 *   store work, the same cases.
 */
import { sql } from 'drizzle-orm';
import { startPostgres } from '../../scripts/postgres-sandbox.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import { callReport } from '../../src/persistence/callReports.js';
import { openPostgres } from '../../src/persistence/postgres/openPostgres.js';
import { createWriteBehindCallRecords } from '../../src/persistence/postgres/writeBehindCallRecords.js';
import { postgresStore, type Store } from '../../src/persistence/store.js';
import { median, round } from '../lib/stats.js';
import { benchCallArrival, benchCallFinish, GENERATED_CALL_COLUMNS, generatedCallRows, REPORT_CASES, type ReportCase, type SqliteWrites } from './sqlite.js';

export interface PostgresResult {
  server: string;
  /** One call after another: each write waits for its round trip. */
  writes: SqliteWrites;
  /** `inFlight` calls at once, each still writing in its own order. */
  writesConcurrent: { inFlight: number; calls: number; callsPerSecond: number; p99MsPerCall: number };
  /**
   * Written behind the call (writeBehindCallRecords, what a router on PostgreSQL uses): every call's
   * three writes queued at once, as fast as the loop can; calls/s until all are applied, and how long
   * a caller's code waited per call (queueing only).
   */
  writeBehind: { calls: number; callsPerSecond: number; queueMsPerCall: number };
  report: { rows: number; generateSeconds: number; dbMb: number; cases: ReportCase[] };
}

const DAY = 86_400_000;
/** Not PostgreSQL's 5432, nor the tests' 55432. */
const BENCH_PORT = 55433;

async function writeCalls(store: Store, calls: number, inFlight: number, tag: string): Promise<{ seconds: number; perCall: number[] }> {
  const records = createCallRecordStore(store);
  const perCall: number[] = [];
  const base = Date.now();
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const i = next++;
      const s = performance.now();
      const id = await records.insertArrival(benchCallArrival(i, base, `${tag}-`));
      await records.markAnswered(id, base + i + 5);
      await records.finish(id, benchCallFinish(i, base));
      perCall.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  perCall.sort((a, b) => a - b);
  return { seconds: (performance.now() - t0) / 1000, perCall };
}

async function writeBehindCalls(store: Store, calls: number): Promise<PostgresResult['writeBehind']> {
  const records = createWriteBehindCallRecords({ store, nodeId: 'bench', logger: { info: () => {}, warn: () => {}, error: () => {} } });
  await records.ready();
  const base = Date.now();
  let queueMs = 0;
  const t0 = performance.now();
  for (let i = 0; i < calls; i += 1) {
    // Ids are reserved 512 at a time, a new block at half: a burst of more calls waits for it.
    if (i % 200 === 0) await records.ready();
    const s = performance.now();
    const id = records.insertArrival(benchCallArrival(i, base, 'behind-'));
    records.markAnswered(id, base + i + 5);
    records.finish(id, benchCallFinish(i, base));
    queueMs += performance.now() - s;
  }
  await records.drain();
  const seconds = (performance.now() - t0) / 1000;
  records.close();
  return { calls, callsPerSecond: Math.round(calls / seconds), queueMsPerCall: round(queueMs / calls, 4) ?? 0 };
}

export async function runPostgresBench(opts: { rows: number; writeCalls: number; accounts?: number }): Promise<PostgresResult> {
  const nAccounts = opts.accounts ?? 20;
  const server = startPostgres(BENCH_PORT, { durable: true });
  try {
    server.query('create database bench');
    const db = await openPostgres(`postgres://postgres@127.0.0.1:${BENCH_PORT}/bench`, { maxConnections: 32 });
    const store = postgresStore(db);
    const version = server.query('show server_version');

    const sequential = await writeCalls(store, opts.writeCalls, 1, 'seq');
    const concurrent = await writeCalls(store, opts.writeCalls, 32, 'par');
    const writes: SqliteWrites = {
      calls: opts.writeCalls,
      seconds: round(sequential.seconds, 3) ?? 0,
      callsPerSecond: Math.round(opts.writeCalls / sequential.seconds),
      // insertArrival (1 INSERT), markAnswered (1 UPDATE), finish (1 SELECT + 1 UPDATE)
      statementsPerSecond: Math.round((opts.writeCalls * 4) / sequential.seconds),
      meanMsPerCall: round((sequential.seconds * 1000) / opts.writeCalls, 4) ?? 0,
      p99MsPerCall: round(sequential.perCall[Math.floor(sequential.perCall.length * 0.99)] ?? 0, 4) ?? 0,
    };
    const writesConcurrent = {
      inFlight: 32,
      calls: opts.writeCalls,
      callsPerSecond: Math.round(opts.writeCalls / concurrent.seconds),
      p99MsPerCall: round(concurrent.perCall[Math.floor(concurrent.perCall.length * 0.99)] ?? 0, 4) ?? 0,
    };

    const writeBehind = await writeBehindCalls(store, opts.writeCalls);

    // --- the same generated calls as SQLite's report database, then the report
    await db.execute(sql`truncate calls, events, call_report_days, recordings, media_jobs cascade`);
    const now = Date.now();
    for (let a = 0; a < nAccounts; a += 1) await db.execute(sql`insert into accounts (name, created_at, updated_at) values (${`Account ${a + 1}`}, ${now}, ${now})`);
    const g0 = performance.now();
    const rowsOf = generatedCallRows(opts.rows, nAccounts, now);
    const BATCH = 2_000;
    const columns = `${GENERATED_CALL_COLUMNS.join(', ')}, finished, hangup_cause, ended_by`;
    for (let done = 0; done < opts.rows; done += BATCH) {
      const count = Math.min(BATCH, opts.rows - done);
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (let i = 0; i < count; i += 1) {
        const r = rowsOf.next().value as unknown[];
        // first_time_caller is the generator's 0/1: a boolean here.
        const values = r.map((v, k) => (GENERATED_CALL_COLUMNS[k] === 'first_time_caller' ? v === 1 : v));
        tuples.push(`(${values.map((v) => `$${params.push(v)}`).join(', ')}, true, 16, 'caller')`);
      }
      await db.$client.query(`insert into calls (${columns}) values ${tuples.join(', ')}`, params);
    }
    await db.execute(sql`analyze`);
    const generateSeconds = (performance.now() - g0) / 1000;
    const size = Number((await db.$client.query<{ size: string }>('select pg_database_size(current_database()) as size')).rows[0]?.size ?? 0);

    const cases: ReportCase[] = [];
    for (const c of REPORT_CASES) {
      const from = now - c.days * DAY;
      const filter = { groupBy: 'source' as const, from, to: now + DAY, ...(c.account === null ? {} : { accountIds: [c.account] }) };
      await store.run(callReport(filter)); // warm the cache
      const times: number[] = [];
      for (let i = 0; i < 5; i += 1) {
        const t = performance.now();
        await store.run(callReport(filter));
        times.push(performance.now() - t);
      }
      const inRange = c.account === null
        ? await db.$client.query<{ n: number }>('select count(*) as n from calls where arrived_at >= $1 and arrived_at < $2', [from, now + DAY])
        : await db.$client.query<{ n: number }>('select count(*) as n from calls where account_id = $1 and arrived_at >= $2 and arrived_at < $3', [c.account, from, now + DAY]);
      cases.push({ name: c.name, rowsInRange: Number(inRange.rows[0]?.n ?? 0), medianMs: round(median(times), 2) ?? 0, maxMs: round(Math.max(...times), 2) ?? 0, plan: 'callReport: rollup days + the partial days from calls' });
    }
    await store.close();
    return { server: `PostgreSQL ${version}`, writes, writesConcurrent, writeBehind, report: { rows: opts.rows, generateSeconds: round(generateSeconds, 1) ?? 0, dbMb: round(size / 1e6, 1) ?? 0, cases } };
  } finally {
    server.stop();
  }
}
