/**
 * Asterisk's CPU per call for each design, on a quiet box, in alternating pairs of runs, with the
 * sipps' own CPU as the control (the same work in both designs).
 */
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { results, type CpuComparison, type LoadResult } from '../benchResults.js';
import { byDso, profileDifference } from '../lib/perfProfile.js';
import { geometricMean95, round } from '../lib/stats.js';
import { quiesce, removeDialplanRecordings, rig, setAsteriskGlobal, startRouterWith } from '../rig.js';
import { runLoad } from '../runLoad.js';
import { argv, CPU_PAIRS, CPU_PIN, DIALPLAN_TRANSCODES, PERF, PLAN, say, type Design } from '../settings.js';

function compareCpu(runs: LoadResult[], quiesceSeconds: number[]): CpuComparison {
  // Per call placed (refused ones included): the cap case refuses nearly all of its calls.
  const perCall = (r: LoadResult): number => (r.proc.cpuSeconds.asterisk ?? 0) / Math.max(1, r.placed);
  const ms = (d: Design): number[] => runs.filter((r) => r.design === d).map((r) => perCall(r) * 1000);
  const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const sippPerCall = (r: LoadResult): number => ((r.proc.cpuSeconds.sippCarrier ?? 0) + (r.proc.cpuSeconds.sippDestination ?? 0)) / Math.max(1, r.placed);
  const routerMs = ms('router');
  const dialplanMs = ms('dialplan');
  const pairRatios: number[] = [];
  const sippPairRatios: number[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const a = runs[i] as LoadResult;
    const b = runs[i + 1] as LoadResult;
    const r = a.design === 'router' ? a : b;
    const d = a.design === 'router' ? b : a;
    if (perCall(d) > 0 && sippPerCall(d) > 0 && sippPerCall(r) > 0) {
      pairRatios.push(perCall(r) / perCall(d));
      sippPairRatios.push(sippPerCall(r) / sippPerCall(d));
    }
  }
  const plain = geometricMean95(pairRatios);
  const normalised = geometricMean95(pairRatios.map((x, i) => x / (sippPairRatios[i] as number)));
  const r3 = (x: number): number => round(x, 3) ?? 0;
  return {
    routerMs: routerMs.map(r3),
    dialplanMs: dialplanMs.map(r3),
    routerMeanMs: r3(mean(routerMs)),
    dialplanMeanMs: r3(mean(dialplanMs)),
    extraMs: r3(mean(routerMs) - mean(dialplanMs)),
    pairRatios: pairRatios.map(r3),
    ratio: r3(plain.mean),
    ratioCi95: [r3(plain.ci[0]), r3(plain.ci[1])],
    quiesceSeconds,
    sippPairRatios: sippPairRatios.map(r3),
    sippRatio: r3(geometricMean95(sippPairRatios).mean),
    normalisedRatio: r3(normalised.mean),
    normalisedRatioCi95: [r3(normalised.ci[0]), r3(normalised.ci[1])],
  };
}

/**
 * Asterisk CPU per call on a quiet box: the designs alternate A-B-B-A-A-B-B-A…, each run starting
 * once the previous run's transcodes are done, with no ARI capture running. Recorded calls give the
 * figure the target is about; short calls put the per-call work (routing, set-up, end report,
 * tear-down) ahead of media, so what the router adds inside Asterisk shows.
 */
export async function phaseCpu(): Promise<void> {
  // `--cpu-cases recorded,short,refused`: some of the cases only.
  const pick = argv.includes('--cpu-cases') ? new Set((argv[argv.indexOf('--cpu-cases') + 1] ?? '').split(',')) : null;
  if (CPU_PIN) pinCpus(true);
  results.cpuPinned = CPU_PIN;
  try {
    await runCpuCases(pick);
  } finally {
    if (CPU_PIN) pinCpus(false);
  }
}

/**
 * Pinned: Asterisk (every thread) on CPU 0; this driver, and so every process it starts from now on,
 * and the router (with the ffmpeg it spawns) on the others. Unpinned: everything on every CPU.
 */
function pinCpus(pinned: boolean): void {
  const all = `0-${cpus().length - 1}`;
  const others = `1-${cpus().length - 1}`;
  const pin = (pid: number | undefined, list: string): void => {
    if (pid === undefined) return;
    const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`taskset ${list} ${pid}: ${r.stderr || r.error?.message}`);
  };
  pin(rig.asterisk?.pid, pinned ? '0' : all);
  pin(process.pid, pinned ? others : all);
  pin(rig.router?.pid, pinned ? others : all);
}

async function runCpuCases(pick: Set<string> | null): Promise<void> {
  for (const c of PLAN.cpu) {
    if (pick && !pick.has(c.key)) continue;
    const pairs = Number.isInteger(CPU_PAIRS) && CPU_PAIRS > 0 ? CPU_PAIRS : c.pairs;
    say(`\n== Asterisk CPU per call: ${c.name}, ${c.calls} calls at most ${c.level} at once, ${pairs} pairs of runs${DIALPLAN_TRANSCODES && !c.twin ? "; the dialplan's recordings transcoded as the router does" : ''}`);
    const runs: LoadResult[] = [];
    const waited: number[] = [];
    if (c.cap !== undefined) {
      await startRouterWith({ MAX_CONCURRENT_CALLS: String(c.cap) });
      await setAsteriskGlobal('BENCH_CAP', String(c.cap));
    }
    for (let pair = 0; pair < pairs; pair += 1) {
      const order: Design[] = pair % 2 === 0 ? ['router', 'dialplan'] : ['dialplan', 'router'];
      for (const design of order) {
        waited.push(await quiesce());
        const r = await runLoad(design, `cpu-${c.key}-${design}-${pair + 1}`, { calls: c.calls, limit: c.level, rate: c.rate, holdMs: c.holdMs }, 0, { ariCapture: false, twinTranscodes: c.twin === true });
        runs.push(r);
        // Not checked here: the dialplan's MixMonitor files go, or the next integrity check counts them.
        if (design === 'dialplan') removeDialplanRecordings();
        say(`  ${design.padEnd(8)} run ${pair + 1}: answered ${r.answered}/${r.placed}, refused ${r.refused503}; Asterisk ${round(((r.proc.cpuSeconds.asterisk ?? 0) / Math.max(1, r.placed)) * 1000, 2)} ms CPU per call; other load ${r.foreignCpuPercentOfBox} %`);
      }
    }
    if (c.cap !== undefined) {
      await setAsteriskGlobal('BENCH_CAP', '');
      await startRouterWith();
    }
    const summary = compareCpu(runs, waited);
    results.cpu.push({ name: c.name, runs, summary });
    say(`  router ${summary.routerMeanMs} ms, dialplan ${summary.dialplanMeanMs} ms per call: ratio ${summary.ratio} (95 % CI ${summary.ratioCi95.join('–')}), router extra ${summary.extraMs} ms`);
    if (PERF) {
      const profiles = (d: Design): Array<Record<string, number>> => runs.filter((r) => r.design === d && r.perfMsPerCall).map((r) => r.perfMsPerCall as Record<string, number>);
      const dsos = profileDifference(profiles('router').map(byDso), profiles('dialplan').map(byDso), 12);
      const diff = profileDifference(profiles('router'), profiles('dialplan'));
      results.notes.push(`${c.name}: Asterisk profile, router − dialplan, ms per call: ${diff.map((d) => `${d.symbol} ${round(d.extraMs, 3)}`).join('; ')}`);
      for (const [what, rows] of [['by shared object', dsos], ['where the difference is', diff]] as const) {
        say(`  ${what} (perf, ms of Asterisk CPU per call, router / dialplan / extra):`);
        for (const d of rows) say(`    ${d.symbol.padEnd(70)} ${round(d.routerMs, 3)} / ${round(d.dialplanMs, 3)} / ${round(d.extraMs, 3)}`);
      }
    }
    say(`  control (sipps, same work in both): ratio ${summary.sippRatio}; Asterisk ÷ control ${summary.normalisedRatio} (95 % CI ${summary.normalisedRatioCi95.join('–')})`);
  }
}
