/**
 * What a bench run measures, as written to bench/results/*.json: one result per load run, the
 * phases' comparisons, and the machine it ran on. benchMain writes `results`; the phases fill it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import type { AriLoadProfile, StepTiming } from './lib/ariTimeline.js';
import type { SamplerResult } from './lib/proc.js';
import { round, type Summary } from './lib/stats.js';
import type { PostgresResult } from './phases/postgres.js';
import type { SignInResult } from './phases/signIn.js';
import type { SqliteResult } from './phases/sqlite.js';
import type { TranscodeCase } from './phases/transcode.js';
import { argv, QUICK, REPO, type Design } from './settings.js';

export interface LoadResult {
  design: Design;
  /** `--perf`: Asterisk's CPU per call placed (ms) by `dso symbol`. */
  perfMsPerCall?: Record<string, number>;
  label: string;
  plan: { calls: number; limit: number; rate: number; holdMs: number };
  placed: number;
  answered: number;
  refused503: number;
  otherFinal: Record<string, number>;
  noFinal: number;
  byeCompleted: number;
  sippExit: number;
  peakConcurrent: number;
  /** carrier INVITE → destination INVITE, ms. */
  inviteToInvite: Summary;
  /** destination 200 → caller 200, ms. */
  okToOk: Summary;
  samplesFrom: number;
  proc: SamplerResult;
  asteriskCpuPerCallSeconds: number | null;
  asteriskCpuPerCallSecondMs: number | null;
  routerCpuPerCallMs: number | null;
  routerRssPerConcurrentCallKb: number | null;
  leftInAsterisk: { channels: number; bridges: number };
  integrity?: Integrity;
  captureDropped: number | null;
  /** Longest carrier INVITE → its 200 (s): a recording started before Dial() holds the ring too. */
  maxRingSeconds: number;
  /** Box CPU used by processes other than Asterisk, the router and the two sipps (other work on a shared box), % of all cores. */
  foreignCpuPercentOfBox: number;
  /** Calls one at a time only: the ARI steps inside each delay, median ms after its start. */
  ariTimeline?: { inviteToInvite: StepTiming[]; okToOk: StepTiming[] };
  /** Router runs: REST requests and events per call, and Asterisk's time per request kind. */
  ari?: AriLoadProfile & { requestsPerCall: number; eventsPerCall: number };
}

export interface CpuComparison {
  /** Asterisk CPU per call (ms), each design's runs. */
  routerMs: number[];
  dialplanMs: number[];
  routerMeanMs: number;
  dialplanMeanMs: number;
  /** Router minus dialplan, ms per call (difference of the means). */
  extraMs: number;
  /** Router ÷ dialplan per adjacent pair (each pair holds one run of each design). */
  pairRatios: number[];
  /** Geometric mean of the pair ratios and its 95 % confidence interval (Student t on the log ratios). */
  ratio: number;
  ratioCi95: [number, number];
  /** Seconds spent waiting for a quiet box before each run. */
  quiesceSeconds: number[];
  /**
   * The control: both sipps' CPU per call, router ÷ dialplan per pair. The sipps do the same work in
   * both designs, so a ratio above 1 is what the box's other load (the router's transcodes) does to
   * the CPU time of identical work, not work anyone added.
   */
  sippPairRatios: number[];
  sippRatio: number;
  /** Asterisk's ratio per pair divided by the sipps' (work done for the router, the box's load taken out); geometric mean and 95 % CI. */
  normalisedRatio: number;
  normalisedRatioCi95: [number, number];
}

export interface Integrity {
  records?: { total: number; unfinished: number; answered: number; rejected503: number; answeredMatchesSip: boolean; rejectedMatchesSip: boolean };
  recordings: { expected: number; present: number; ready: number; lengthOk: number; notReady: string[]; worstLengthErrorSeconds: number };
  audioSamples: Array<{ file: string; carrierToneFraction: number; destinationFraction: number; seconds: number; ok: boolean }>;
  ok: boolean;
  problems: string[];
}

/** One design's overload run and what it was asked to do. */
export interface OverloadResult {
  cap: number;
  offered: number;
  offeredPerSecond: number;
  callsPerSecond: number;
  result: LoadResult;
  checks: Record<string, boolean>;
  problems: string[];
}

export interface WebhookRun {
  endpoints: number;
  result: LoadResult;
  /** Deliveries the receivers got for the run, and per answered call. */
  deliveries: number;
  deliveriesPerCall: number | null;
  /** From a call.ended event's occurredAt (its row written) to its arrival at a receiver (ms). */
  lagMs: Summary;
}

export const results: {
  machine: Record<string, unknown>;
  command: string;
  quick: boolean;
  startedAt: string;
  pdd: LoadResult[];
  capacity: LoadResult[];
  /** Asterisk CPU per call, router and dialplan alternating on a quiet box (phase cpu). */
  cpu: Array<{ name: string; runs: LoadResult[]; summary: CpuComparison }>;
  /** The cpu phase ran Asterisk alone on CPU 0 (CPU_PIN). */
  cpuPinned?: boolean;
  capacitySummary: Record<Design, { zeroFailureLevel: number | null; firstFailingLevel: number | null; stoppedBy: string }>;
  overload?: OverloadResult;
  /** The same overload on the bench dialplan (its cap counted with GROUP_COUNT). */
  overloadDialplan?: OverloadResult;
  sqlite?: SqliteResult;
  /** The SQLite phase on PostgreSQL, in the same run. */
  postgres?: PostgresResult;
  transcode?: TranscodeCase[];
  signIn?: SignInResult;
  /** The same router load without webhooks and with three endpoints taking every event (phase webhooks). */
  webhooks?: WebhookRun[];
  notes: string[];
  durationSeconds?: number;
} = {
  machine: machineInfo(),
  command: `npm run bench -- ${argv.join(' ')}`.trim().replace(/ --$/, ''),
  quick: QUICK,
  startedAt: new Date().toISOString(),
  pdd: [],
  capacity: [],
  cpu: [],
  capacitySummary: {
    router: { zeroFailureLevel: null, firstFailingLevel: null, stoppedBy: 'not run' },
    dialplan: { zeroFailureLevel: null, firstFailingLevel: null, stoppedBy: 'not run' },
  },
  notes: [],
};

function machineInfo(): Record<string, unknown> {
  const asteriskVersion = (() => {
    try {
      const root = join(process.env.CALLROUTE_SANDBOX_INSTANCES || join(REPO, '.sandbox', 'instances'), 'bench', 'rootfs');
      const r = spawnSync('chroot', [root, 'dpkg-query', '-W', '-f', '${Version}', 'asterisk'], { encoding: 'utf8' });
      return r.stdout.trim() || null;
    } catch {
      return null;
    }
  })();
  const sipp = spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout.match(/SIPp v[\d.]+/)?.[0] ?? null;
  const niceness = (() => {
    try {
      return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[16]);
    } catch {
      return null;
    }
  })();
  const git = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: REPO, encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: REPO, encoding: 'utf8' });
  return {
    // BENCH_COMMIT: set when running from an exported snapshot (no .git there).
    commit: process.env.BENCH_COMMIT || git.stdout.trim() || null,
    srcUncommittedChanges: git.status === 0 ? dirty.stdout.trim().split('\n').filter(Boolean).length : null,
    niceOfBenchProcesses: niceness,
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    asterisk: asteriskVersion,
    sipp,
    kernel: spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.trim(),
  };
}

/** Calls not placed, not answered (a 503 included: no cap is set in the capacity ramp), or not held to their end. */
export function failedCalls(r: LoadResult): number {
  return Math.max(0, r.plan.calls - r.answered) + Math.max(0, r.answered - r.byeCompleted);
}
