/**
 * The bench's run, loaded by runBench.ts once it is in the private network namespace: the phases
 * in order (the ones `--only` names), then the table and the JSON written to bench/results/.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAsterisk } from '../scripts/asterisk-sandbox.js';
import { clearEndReports } from '../test/callflow/harness/routerProcess.js';
import { results } from './benchResults.js';
import { phaseCapacity } from './phases/capacity.js';
import { phaseCpu } from './phases/cpu.js';
import { phaseOverload } from './phases/overload.js';
import { phasePdd } from './phases/pdd.js';
import { runPostgresBench } from './phases/postgres.js';
import { runSignInBench } from './phases/signIn.js';
import { runSqliteBench } from './phases/sqlite.js';
import { runTranscodeBench } from './phases/transcode.js';
import { phaseWebhooks } from './phases/webhooks.js';
import { renderTable } from './renderTable.js';
import { api, config, prepareScenarios, rig, removeDialplanRecordings, startPhone, startRouterWith, work } from './rig.js';
import { argv, DESTINATION, DID, elapsed, PLAN, QUICK, REPO, say, sleep, want } from './settings.js';

async function main(): Promise<number> {
  // `--render FILE.json`: the table of an earlier run, printed and written to latest(-quick).md.
  if (argv.includes('--render')) {
    Object.assign(results, JSON.parse(readFileSync(argv[argv.indexOf('--render') + 1] as string, 'utf8')) as typeof results);
    const text = renderTable();
    say(text);
    writeFileSync(join(REPO, 'bench', 'results', `latest${QUICK ? '-quick' : ''}.md`), `${text}\n`);
    return 0;
  }
  say(`callroute bench${QUICK ? ' (quick)' : ''}: work dir ${work}`);
  say(`machine: ${JSON.stringify(results.machine)}`);
  if (want('sqlite')) {
    say(`\n== SQLite: ${PLAN.sqliteWrites} calls on the write path, report over ${PLAN.sqliteRows} rows`);
    results.sqlite = runSqliteBench(work, { rows: PLAN.sqliteRows, writeCalls: PLAN.sqliteWrites });
    say(`  ${results.sqlite.writes.callsPerSecond} calls/s written; report cases: ${results.sqlite.report.cases.map((c) => `${c.name} ${c.medianMs} ms`).join('; ')}`);
    for (const f of readdirSync(work)) if (f.startsWith('report.db') || f.startsWith('writes.db')) rmSync(join(work, f), { force: true });
    say(`\n== PostgreSQL: the same ${PLAN.sqliteWrites} calls and ${PLAN.sqliteRows} rows`);
    results.postgres = await runPostgresBench({ rows: PLAN.sqliteRows, writeCalls: PLAN.sqliteWrites });
    say(`  ${results.postgres.writes.callsPerSecond} calls/s written (${results.postgres.writesConcurrent.callsPerSecond} with 32 at once); report cases: ${results.postgres.report.cases.map((c) => `${c.name} ${c.medianMs} ms`).join('; ')}`);
  }
  if (want('transcode')) {
    say(`\n== transcoding ${PLAN.transcodeSeconds} s of audio`);
    results.transcode = await runTranscodeBench(work, PLAN.transcodeSeconds);
    say(`  ${results.transcode.map((c) => `${c.format}/${c.layout} ${Math.round(c.audioSecondsPerCpuSecond)} audio-s per CPU-s`).join('; ')}`);
  }
  if (want('signin')) {
    say(`\n== sign-in answers: ${PLAN.signInAttempts} attempts per case`);
    results.signIn = await runSignInBench(PLAN.signInAttempts);
    say(`  ${results.signIn.cases.map((c) => `${c.name} ${c.status} ${c.medianMs} ms`).join('; ')}; unknown/wrong ${results.signIn.unknownOverWrong}`);
  }
  const telephony = want('pdd') || want('cpu') || want('capacity') || want('overload') || want('webhooks');
  if (telephony) {
    prepareScenarios(Math.max(PLAN.capacityHoldMs, ...PLAN.pdd.map((p) => p.holdMs)));
    rig.asterisk = await startAsterisk(config, { instance: 'bench', bench: true, readyTimeoutMs: 30_000 });
    removeDialplanRecordings();
    clearEndReports(rig.asterisk.rootDir);
    await startRouterWith();
    const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Bench' });
    rig.accountId = account.body.id;
    const tn = await api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, did: DID, destination: DESTINATION, source: 'bench' });
    if (tn.status !== 201) throw new Error(`creating the tracking number: ${tn.status} ${JSON.stringify(tn.body)}`);
    startPhone();
    await sleep(500);
    if (want('pdd')) await phasePdd();
    if (want('cpu')) await phaseCpu();
    if (want('capacity')) await phaseCapacity();
    if (want('overload')) await phaseOverload();
    if (want('webhooks')) await phaseWebhooks();
  }
  results.durationSeconds = Math.round(elapsed());
  const text = renderTable();
  say(text);
  const resultsDir = join(REPO, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `bench-${QUICK ? 'quick-' : ''}${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(resultsDir, `latest${QUICK ? '-quick' : ''}.md`), `${text}\n`);
  say(`\nresults: ${file} (${results.durationSeconds} s)`);
  return 0;
}

async function cleanup(): Promise<void> {
  rig.phone?.kill();
  await rig.router?.stop().catch(() => null);
  await rig.asterisk?.stop().catch(() => null);
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  if (rig.router) process.stderr.write(`--- router log (tail)\n${rig.router.logs().slice(-4000)}\n`);
} finally {
  await cleanup();
}
process.exit(exitCode);
