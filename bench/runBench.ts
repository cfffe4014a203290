/**
 * `npm run bench [-- --quick] [-- --only pdd,cpu,capacity,overload,webhooks,sqlite,transcode,signin] [-- --overload-cap N]`
 * (`--overload-cap`: the cap the overload phase uses when capacity did not run in the same invocation)
 *
 * The router against Asterisk's own dialplan doing the same job (MixMonitor + Dial), on one real
 * Asterisk (sandbox instance `bench`) in one run, with sipp as carrier and destination on loopback in
 * a private network namespace (this script re-executes itself under `unshare -n`). Prints a table
 * and writes JSON to bench/results/. Stops by itself: every phase is bounded, and a time budget
 * cuts the capacity ramp short (said so in the result) rather than overrun.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus, setPriority, totalmem } from 'node:os';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig, type Config } from '../src/config/loadConfig.js';
import { readWavInfo } from '../src/media/readWavInfo.js';
import { startAsterisk, type AsteriskHandle } from '../scripts/asterisk-sandbox.js';
import { listBridges, listChannels } from '../test/callflow/harness/asteriskState.js';
import { analyzeAudio } from '../test/callflow/harness/audioAnalysis.js';
import { adminApi, clearEndReports, startRouter, type RouterProcess } from '../test/callflow/harness/routerProcess.js';
import { writeTonePcap } from '../test/callflow/harness/tonePcap.js';
import { ariLoadProfile, ariSteps, startAriCapture, timelineBetween, type AriLoadProfile, type StepTiming } from './lib/ariTimeline.js';
import { boxJiffies, startSampler, type SamplerResult } from './lib/proc.js';
import { callTimings, startSipCapture, type CallTiming, type SipPacket } from './lib/sipCapture.js';
import { startLoadSipp } from './lib/sippLoad.js';
import { startTwinTranscodes } from './lib/twinTranscodes.js';
import { startWebhookReceivers } from './lib/webhookReceivers.js';
import { byDso, msPerCall, parsePerfReport, profileDifference } from './lib/perfProfile.js';
import { geometricMean95, round, summarize, type Summary } from './lib/stats.js';
import { runSignInBench, type SignInResult } from './signInBench.js';
import { runPostgresBench, type PostgresResult } from './postgresBench.js';
import { runSqliteBench, type SqliteResult } from './sqliteBench.js';
import { runTranscodeBench, type TranscodeCase } from './transcodeBench.js';

const REPO = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
/** `--perf`: profile Asterisk during each load run with perf (set BENCH_KEEP=1 to keep the reports). */
const PERF = argv.includes('--perf');
/** Experiment: the dialplan's runs transcode their recordings as the router does (bench/lib/twinTranscodes.ts). */
const DIALPLAN_TRANSCODES = argv.includes('--dialplan-transcodes');
/** `--name N`: the number after the flag; NaN when the flag is absent. */
function numberArg(name: string): number {
  return argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : NaN;
}
/** `--cpu-pairs N`: pairs of runs per cpu case, instead of the plan's (NaN: the plan's). */
const CPU_PAIRS = numberArg('--cpu-pairs');
/**
 * The cpu phase runs Asterisk alone on CPU 0 and everything else (this driver, the router and its
 * ffmpeg, the sipps) on the other CPUs; `--cpu-no-pin` leaves the scheduler free. On our 2-core box
 * the router's and the sipps' wake-ups otherwise land on Asterisk's core and raise the CPU time of
 * the same work: in unpinned runs the sipps' own CPU per call (the control) rose 1.06–1.08 in the
 * router's refused runs, and the designs' difference moved by ±0.3 ms from run to run. Pinned, the
 * control stays near 1.0, so what differs between the designs is work Asterisk does.
 */
const CPU_PIN = !argv.includes('--cpu-no-pin') && cpus().length >= 2;
const onlyArg = argv[argv.indexOf('--only') + 1];
const ONLY = argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
const want = (phase: string): boolean => ONLY === null || ONLY.has(phase);

// ---------------------------------------------------------------- private network namespace
if (process.env.CALLROUTE_BENCH_NETNS !== '1') {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('bench: needs root (unshare -n, chroot for Asterisk, tcpdump)\n');
    process.exit(2);
  }
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; } && exec "$@"', 'sh', process.execPath, '--import', 'tsx', import.meta.filename, ...argv],
    { stdio: 'inherit', cwd: REPO, env: { ...process.env, CALLROUTE_BENCH_NETNS: '1' } },
  );
  process.exit(r.status ?? 1);
}

// The box may be shared (other people's builds and tests): everything the bench starts (Asterisk,
// the router, sipp, tcpdump) inherits this priority, the same for both designs.
try {
  setPriority(-10);
} catch {
  // not permitted: run at normal priority
}

// ---------------------------------------------------------------- settings
/** One case of the cpu phase; `cap`: both designs refuse calls over it (MAX_CONCURRENT_CALLS / BENCH_CAP). */
interface CpuCase {
  key: 'recorded' | 'short' | 'refused' | 'short-twin' | 'refused-twin';
  name: string;
  level: number;
  calls: number;
  rate: number;
  holdMs: number;
  pairs: number;
  cap?: number;
  /** The dialplan's runs transcode their recordings as the router does (bench/lib/twinTranscodes.ts). */
  twin?: boolean;
}

const PLAN = QUICK
  ? {
      pdd: [
        { level: 1, calls: 10, rate: 10, holdMs: 500 },
        { level: 50, calls: 80, rate: 10, holdMs: 5_000 },
        { level: 100, calls: 150, rate: 20, holdMs: 5_000 },
      ],
      cpu: [
        { key: 'recorded', name: 'recorded calls of 15 s', level: 50, calls: 50, rate: 20, holdMs: 15_000, pairs: 2 },
        { key: 'short', name: 'short calls (1 s)', level: 20, calls: 200, rate: 20, holdMs: 1_000, pairs: 2 },
        { key: 'refused', name: 'calls refused over a cap of 1', level: 20, calls: 200, rate: 20, holdMs: 1_000, pairs: 2, cap: 1 },
        { key: 'short-twin', name: "short calls (1 s), the dialplan's recordings transcoded as the router does", level: 20, calls: 200, rate: 20, holdMs: 1_000, pairs: 2, twin: true },
        { key: 'refused-twin', name: "calls refused over a cap of 1, the dialplan's recordings transcoded as the router does", level: 20, calls: 200, rate: 20, holdMs: 1_000, pairs: 2, cap: 1, twin: true },
      ] as CpuCase[],
      capacityLevels: [50, 100],
      capacityHoldMs: 15_000,
      capacityRate: 20,
      sqliteRows: 200_000,
      sqliteWrites: 5_000,
      transcodeSeconds: 60,
      signInAttempts: 30,
      webhooks: { level: 100, calls: 150, rate: 20, holdMs: 5_000, pairs: 2 },
      budgetSeconds: 15 * 60,
    }
  : {
      pdd: [
        { level: 1, calls: 20, rate: 10, holdMs: 500 },
        { level: 50, calls: 100, rate: 10, holdMs: 5_000 },
        { level: 100, calls: 200, rate: 10, holdMs: 10_000 },
        { level: 150, calls: 300, rate: 15, holdMs: 10_000 },
      ],
      cpu: [
        { key: 'recorded', name: 'recorded calls of 15 s', level: 50, calls: 50, rate: 20, holdMs: 15_000, pairs: 4 },
        { key: 'short', name: 'short calls (1 s)', level: 20, calls: 300, rate: 20, holdMs: 1_000, pairs: 3 },
        { key: 'refused', name: 'calls refused over a cap of 1', level: 20, calls: 300, rate: 20, holdMs: 1_000, pairs: 4, cap: 1 },
        { key: 'short-twin', name: "short calls (1 s), the dialplan's recordings transcoded as the router does", level: 20, calls: 300, rate: 20, holdMs: 1_000, pairs: 3, twin: true },
        // The few calls the cap lets through are recorded, and the router transcodes them during the
        // run: here the dialplan's are transcoded too, so only the refusals differ.
        { key: 'refused-twin', name: "calls refused over a cap of 1, the dialplan's recordings transcoded as the router does", level: 20, calls: 300, rate: 20, holdMs: 1_000, pairs: 4, cap: 1, twin: true },
      ] as CpuCase[],
      capacityLevels: [50, 100, 150, 200, 250, 300],
      capacityHoldMs: 25_000,
      capacityRate: 20,
      sqliteRows: 1_000_000,
      sqliteWrites: 20_000,
      transcodeSeconds: 120,
      signInAttempts: 100,
      webhooks: { level: 100, calls: 300, rate: 10, holdMs: 10_000, pairs: 2 },
      budgetSeconds: 45 * 60,
    };

const TOKEN = 'bench-admin-token-0123456789abcdef';
const HTTP_PORT = 8090;
const API = `http://127.0.0.1:${HTTP_PORT}`;
const DID = '+15551250000';
const DESTINATION = '+15550001111';
const ROUTER_CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8891 };
const DIALPLAN_CARRIER = { localPort: 5071, mediaPort: 6050, controlPort: 8893 };
const PHONE = { localPort: 5080, mediaPort: 6100, controlPort: 8892 };
const CARRIER_TONE_HZ = 1000;
const DESTINATION_TONE_HZ = 450;

type Design = 'router' | 'dialplan';

const say = (s: string): void => void process.stdout.write(`${s}\n`);
const started = performance.now();
const elapsed = (): number => (performance.now() - started) / 1000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- results
interface LoadResult {
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

interface CpuComparison {
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

interface Integrity {
  records?: { total: number; unfinished: number; answered: number; rejected503: number; answeredMatchesSip: boolean; rejectedMatchesSip: boolean };
  recordings: { expected: number; present: number; ready: number; lengthOk: number; notReady: string[]; worstLengthErrorSeconds: number };
  audioSamples: Array<{ file: string; carrierToneFraction: number; destinationFraction: number; seconds: number; ok: boolean }>;
  ok: boolean;
  problems: string[];
}

/** One design's overload run and what it was asked to do. */
interface OverloadResult {
  cap: number;
  offered: number;
  offeredPerSecond: number;
  callsPerSecond: number;
  result: LoadResult;
  checks: Record<string, boolean>;
  problems: string[];
}

interface WebhookRun {
  endpoints: number;
  result: LoadResult;
  /** Deliveries the receivers got for the run, and per answered call. */
  deliveries: number;
  deliveriesPerCall: number | null;
  /** From a call.ended event's occurredAt (its row written) to its arrival at a receiver (ms). */
  lagMs: Summary;
}

const results: {
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

// ---------------------------------------------------------------- environment
const work = mkdtempSync(join(tmpdir(), 'callroute-bench-'));
const baseEnv: Record<string, string> = {
  CALLROUTE_ADMIN_TOKEN: TOKEN,
  ARI_PASSWORD: 'bench-secret',
  CALLROUTE_DB_PATH: join(work, 'router.db'),
  CALLROUTE_HTTP_PORT: String(HTTP_PORT),
  RECORDINGS_DIR: join(work, 'recordings'),
  LOG_LEVEL: 'info',
};
const config: Config = loadConfig(baseEnv);
let asterisk: AsteriskHandle | undefined;
let router: RouterProcess | undefined;
let phone: ReturnType<typeof startLoadSipp> | undefined;
let carrierScenario = '';
let phoneScenario = '';
const api = adminApi(API, TOKEN);

function prepareScenarios(maxHoldMs: number): void {
  const carrierPcap = join(work, 'carrier-1khz.pcap');
  const phonePcap = join(work, 'destination-450hz.pcap');
  const seconds = Math.ceil(maxHoldMs / 1000) + 10;
  writeTonePcap(carrierPcap, { frequencyHz: CARRIER_TONE_HZ, seconds });
  writeTonePcap(phonePcap, { frequencyHz: DESTINATION_TONE_HZ, seconds });
  carrierScenario = join(work, 'carrier-load.xml');
  phoneScenario = join(work, 'destination-load.xml');
  writeFileSync(carrierScenario, readFileSync(join(import.meta.dirname, 'scenarios', 'carrier-load.xml'), 'utf8').replaceAll('__CARRIER_PCAP__', carrierPcap));
  writeFileSync(phoneScenario, readFileSync(join(import.meta.dirname, 'scenarios', 'destination-load.xml'), 'utf8').replaceAll('__DESTINATION_PCAP__', phonePcap));
}

function startPhone(): void {
  phone = startLoadSipp({ scenario: phoneScenario, role: 'uas', ...PHONE, dir: work, name: 'destination', timeoutSeconds: 3 * 3600 });
}

/** `--router-env K=V` (repeatable): settings for every router the bench starts (experiments). */
const routerEnvArgs: Record<string, string> = {};
argv.forEach((a, i) => {
  const kv = a === '--router-env' ? argv[i + 1] : undefined;
  if (kv?.includes('=')) routerEnvArgs[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
});

async function startRouterWith(extra: Record<string, string> = {}): Promise<void> {
  if (router) await router.stop();
  router = startRouter({ ...baseEnv, ASTERISK_FS_ROOT: (asterisk as AsteriskHandle).rootDir, ...routerEnvArgs, ...extra });
  await router.ready(30_000);
}

async function asteriskLeft(timeoutMs: number): Promise<{ channels: number; bridges: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = { channels: -1, bridges: -1 };
  for (;;) {
    try {
      const [c, b] = await Promise.all([listChannels(config), listBridges(config)]);
      last = { channels: c.length, bridges: b.length };
      if (c.length === 0 && b.length === 0) return last;
    } catch {
      // ARI busy: try again
    }
    if (Date.now() > deadline) return last;
    await sleep(250);
  }
}

/** The bench dialplan's MixMonitor files (bench-<caller number>-<uniqueid>.wav) in Asterisk's spool. */
function removeDialplanRecordings(): void {
  for (const f of readdirSync(spoolDir())) if (f.startsWith('bench-')) rmSync(join(spoolDir(), f), { force: true });
}

function spoolDir(): string {
  return join((asterisk as AsteriskHandle).rootDir, 'var/spool/asterisk/recording');
}

/**
 * Recordings the router has still to transcode. Its media jobs wait while the box is busy (up to
 * TRANSCODE_MAX_DEFER_SECONDS), so no ffmpeg running does not mean none is due: a backlog deferred
 * through one run would be transcoded during the next, and counted against it.
 */
function routerTranscodesDue(): number {
  if (!existsSync(config.dbPath)) return 0;
  const db = new Database(config.dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT COUNT(*) AS n FROM recordings WHERE status IN ('recording', 'processing')").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function maxCallId(): number {
  const db = new Database(config.dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM calls').get() as { id: number }).id;
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------- one load run
async function runLoad(
  design: Design,
  label: string,
  p: { calls: number; limit: number; rate: number; holdMs: number },
  samplesFrom: number,
  opts: { ariTimeline?: boolean; ariCapture?: boolean; twinTranscodes?: boolean } = {},
): Promise<LoadResult> {
  const carrier = design === 'router' ? ROUTER_CARRIER : DIALPLAN_CARRIER;
  const capture = await startSipCapture(join(work, `${label}.pcap`));
  const ariCapture = design === 'router' && opts.ariCapture !== false ? await startAriCapture(join(work, `${label}-ari.pcap`), config.ari.port, config.routing.dialplanHookPort) : undefined;
  let uacPid: number | undefined;
  const sampler = startSampler(() => ({
    asterisk: asterisk?.pid,
    router: design === 'router' ? router?.pid : undefined,
    sippDestination: phone?.pid,
    sippCarrier: uacPid,
  }));
  const expectSeconds = p.calls / p.rate + p.holdMs / 1000 + 40;
  const uac = startLoadSipp({
    scenario: carrierScenario,
    role: 'uac',
    ...carrier,
    dir: work,
    name: label,
    remote: `127.0.0.1:${config.sip.port}`,
    dialed: design === 'router' ? DID : DESTINATION,
    calls: p.calls,
    limit: p.limit,
    rate: p.rate,
    holdMs: p.holdMs,
    timeoutSeconds: Math.ceil(expectSeconds),
  });
  uacPid = uac.pid;
  const twin =
    design === 'dialplan' && (DIALPLAN_TRANSCODES || opts.twinTranscodes)
      ? startTwinTranscodes({ spoolDir: spoolDir(), outDir: work, format: config.recordings.format, concurrency: config.recordings.transcodeConcurrency, ffmpegPath: config.recordings.ffmpegPath })
      : undefined;
  // `--perf`: a sampled profile of Asterisk for the run (software clock: this VM has no PMU).
  let perfShares: Map<string, number> | undefined;
  const perf = PERF && asterisk ? spawn('perf', ['record', '-q', '-e', 'cpu-clock', '-F', '1999', '-p', String(asterisk.pid), '-o', join(work, `${label}.perf.data`)], { stdio: 'ignore' }) : undefined;
  const backstop = setTimeout(() => uac.kill(), (expectSeconds + 15) * 1000);
  const done = await uac.done;
  clearTimeout(backstop);
  if (perf) {
    perf.kill('SIGINT');
    await new Promise((r) => perf.once('close', r));
    // No --symfs: the maps perf recorded already name the chroot's files by their path on this host.
    const report = spawnSync('perf', ['report', '-i', join(work, `${label}.perf.data`), '--sort', 'dso,symbol', '--stdio', '--no-children'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(join(work, `${label}.perf.txt`), report.stdout);
    results.notes.push(`${label}: Asterisk profile in ${join(work, `${label}.perf.txt`)}`);
    perfShares = parsePerfReport(report.stdout);
  }
  const left = await asteriskLeft(20_000);
  const proc = sampler.stop();
  // After the measured window, as the router's transcodes of the last calls run past it too.
  const twinTranscodes = await twin?.stop();
  if (twinTranscodes !== undefined) results.notes.push(`${label}: ${twinTranscodes} of the dialplan's recordings transcoded as the router does`);
  const cap = await capture.stop();
  rmSync(cap.file, { force: true });
  const ariPcap = await ariCapture?.stop();
  rmSync(join(work, `${label}-ari.pcap`), { force: true });
  const timings = callTimings(cap.packets, carrier.localPort, PHONE.localPort).sort((a, b) => a.carrierInviteAt - b.carrierInviteAt);
  // BYE from the carrier answered with 200: the call held to its end.
  const byeOk = new Set<string>();
  const byeCallIds = new Map<string, number>();
  for (const m of cap.packets) {
    if (m.method === 'BYE' && m.srcPort === carrier.localPort) byeCallIds.set(m.callId, m.ts);
    if (m.status === 200 && m.cseqMethod === 'BYE' && m.dstPort === carrier.localPort) byeOk.add(m.callId);
  }
  const answered = timings.filter((t) => t.finalStatus === 200);
  const otherFinal: Record<string, number> = {};
  for (const t of timings) if (t.finalStatus !== undefined && t.finalStatus !== 200 && t.finalStatus !== 503) otherFinal[t.finalStatus] = (otherFinal[t.finalStatus] ?? 0) + 1;
  const measured = timings.slice(samplesFrom);
  const ms = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b !== undefined ? (b - a) * 1000 : undefined);
  const i2i = measured.map((t) => ms(t.carrierInviteAt, t.destinationInviteAt)).filter((x): x is number => x !== undefined);
  const o2o = measured.map((t) => ms(t.destinationOkAt, t.callerOkAt)).filter((x): x is number => x !== undefined);
  const peak = peakConcurrent(timings, cap.packets, carrier.localPort);
  const calls = Math.max(1, answered.length);
  const r: LoadResult = {
    design,
    label,
    plan: p,
    placed: timings.length,
    answered: answered.length,
    refused503: timings.filter((t) => t.finalStatus === 503).length,
    otherFinal,
    noFinal: timings.filter((t) => t.finalStatus === undefined).length,
    byeCompleted: byeOk.size,
    sippExit: done.exitCode,
    peakConcurrent: peak,
    inviteToInvite: roundSummary(summarize(i2i)),
    okToOk: roundSummary(summarize(o2o)),
    samplesFrom,
    proc,
    asteriskCpuPerCallSeconds: round((proc.cpuSeconds.asterisk ?? 0) / calls, 4),
    asteriskCpuPerCallSecondMs: round((((proc.cpuSeconds.asterisk ?? 0) / calls) * 1000) / Math.max(0.001, p.holdMs / 1000), 3),
    routerCpuPerCallMs: design === 'router' ? round(((proc.cpuSeconds.router ?? 0) / calls) * 1000, 2) : null,
    routerRssPerConcurrentCallKb:
      design === 'router' ? round((((proc.peakRssMb.router ?? 0) - Math.min(proc.startRssMb.router ?? 0, proc.minRssMb.router ?? 0)) * 1024) / Math.max(1, peak), 1) : null,
    leftInAsterisk: left,
    captureDropped: cap.dropped,
    maxRingSeconds: round(Math.max(0, ...answered.map((t) => (t.callerOkAt as number) - t.carrierInviteAt)), 2) ?? 0,
    foreignCpuPercentOfBox:
      round(
        proc.boxMeanBusyPercent -
          Object.values(proc.meanCpuPercent).reduce((a, b) => a + b, 0) / cpus().length,
        1,
      ) ?? 0,
  };
  if (perfShares) r.perfMsPerCall = msPerCall(perfShares, ((proc.cpuSeconds.asterisk ?? 0) / Math.max(1, r.placed)) * 1000);
  if (ariPcap) {
    const profile = ariLoadProfile(ariPcap, config.ari.port, config.routing.dialplanHookPort);
    r.ari = { ...profile, requestsPerCall: round(profile.requests / Math.max(1, timings.length), 1) ?? 0, eventsPerCall: round(profile.events / Math.max(1, timings.length), 1) ?? 0 };
  }
  if (ariPcap && opts.ariTimeline) {
    const steps = ariSteps(ariPcap, config.ari.port, config.routing.dialplanHookPort);
    const done2 = timings.filter((t) => t.destinationInviteAt !== undefined && t.callerOkAt !== undefined && t.destinationOkAt !== undefined);
    r.ariTimeline = {
      inviteToInvite: timelineBetween(steps, done2.map((t) => ({ from: t.carrierInviteAt, to: t.destinationInviteAt as number }))),
      okToOk: timelineBetween(steps, done2.map((t) => ({ from: t.destinationOkAt as number, to: t.callerOkAt as number }))),
    };
  }
  if (done.exitCode !== 0 && existsSync(done.errorFile)) {
    const errors = readFileSync(done.errorFile, 'utf8').trim().split('\n').slice(-3).join(' | ');
    if (errors) results.notes.push(`${label}: sipp exit ${done.exitCode}: ${errors.slice(0, 400)}`);
  }
  callTimingsOf.set(r, timings);
  return r;
}

/** Each run's calls as the capture saw them (not in the JSON): the dialplan's files are checked against them. */
const callTimingsOf = new WeakMap<LoadResult, CallTiming[]>();

function peakConcurrent(timings: CallTiming[], packets: readonly SipPacket[], carrierPort: number): number {
  const byeAt = new Map<string, number>();
  for (const m of packets) if (m.method === 'BYE' && (m.srcPort === carrierPort || m.dstPort === carrierPort) && !byeAt.has(m.callId)) byeAt.set(m.callId, m.ts);
  const invites = new Map<number, string>();
  for (const m of packets) if (m.method === 'INVITE' && !m.toTag && m.srcPort === carrierPort) invites.set(m.ts, m.callId);
  const edges: Array<[number, number]> = [];
  for (const t of timings) {
    if (t.callerOkAt === undefined) continue;
    const callId = invites.get(t.carrierInviteAt);
    const end = callId ? byeAt.get(callId) : undefined;
    edges.push([t.callerOkAt, 1], [end ?? Infinity, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let peak = 0;
  for (const [, d] of edges) {
    cur += d;
    peak = Math.max(peak, cur);
  }
  return peak;
}

function roundSummary(s: Summary): Summary {
  return { n: s.n, p50: round(s.p50, 2), p95: round(s.p95, 2), p99: round(s.p99, 2), max: round(s.max, 2) };
}

// ---------------------------------------------------------------- integrity
async function checkRouterIntegrity(r: LoadResult, fromCallId: number, samples: number): Promise<Integrity> {
  const problems: string[] = [];
  const db = new Database(config.dbPath, { readonly: true, fileMustExist: true });
  type Row = { id: number; finished: number; disposition: string | null; sip_code: number | null; talk_seconds: number | null };
  type Rec = { call_id: number; status: string; duration_seconds: number | null; path: string | null; status_reason: string | null };
  let rows: Row[] = [];
  let recs: Rec[] = [];
  const deadline = Date.now() + 120_000;
  try {
    for (;;) {
      rows = db.prepare('SELECT id, finished, disposition, sip_code, talk_seconds FROM calls WHERE id > ? ORDER BY id').all(fromCallId) as Row[];
      recs = db.prepare('SELECT call_id, status, duration_seconds, path, status_reason FROM recordings WHERE call_id > ?').all(fromCallId) as Rec[];
      const pending = recs.filter((x) => x.status === 'recording' || x.status === 'processing').length;
      const unfinished = rows.filter((x) => !x.finished).length;
      if ((pending === 0 && unfinished === 0) || Date.now() > deadline) break;
      await sleep(500);
    }
  } finally {
    db.close();
  }
  const answeredRows = rows.filter((x) => x.disposition === 'answered');
  const rejected503 = rows.filter((x) => x.disposition === 'rejected' && x.sip_code === 503).length;
  const byCall = new Map(recs.map((x) => [x.call_id, x]));
  let ready = 0;
  let lengthOk = 0;
  let worst = 0;
  const notReady: string[] = [];
  for (const row of answeredRows) {
    const rec = byCall.get(row.id);
    if (!rec) {
      notReady.push(`call ${row.id}: no recording`);
      continue;
    }
    if (rec.status !== 'ready') {
      notReady.push(`call ${row.id}: ${rec.status}${rec.status_reason ? ` (${rec.status_reason})` : ''}`);
      continue;
    }
    ready += 1;
    const err = Math.abs((rec.duration_seconds ?? 0) - (row.talk_seconds ?? 0));
    worst = Math.max(worst, err);
    if (err <= 1.0) lengthOk += 1;
  }
  const records = {
    total: rows.length,
    unfinished: rows.filter((x) => !x.finished).length,
    answered: answeredRows.length,
    rejected503,
    answeredMatchesSip: answeredRows.length === r.answered,
    rejectedMatchesSip: rejected503 === r.refused503,
  };
  if (records.unfinished > 0) problems.push(`${records.unfinished} unfinished call records`);
  if (records.total !== r.placed) problems.push(`${records.total} call records for ${r.placed} calls placed`);
  if (!records.answeredMatchesSip) problems.push(`${answeredRows.length} answered records for ${r.answered} calls answered`);
  if (!records.rejectedMatchesSip) problems.push(`${rejected503} rejected-503 records for ${r.refused503} 503s`);
  if (notReady.length > 0) problems.push(`${notReady.length} answered calls without a ready recording: ${notReady.slice(0, 5).join('; ')}`);
  if (lengthOk !== ready) problems.push(`${ready - lengthOk} recordings whose length is off the talk time by > 1 s (worst ${worst.toFixed(2)} s)`);
  const files = answeredRows
    .map((row) => byCall.get(row.id))
    .filter((x): x is Rec => x?.status === 'ready' && x.path !== null)
    .map((x) => join(baseEnv.RECORDINGS_DIR as string, x.path as string));
  const audioSamples = await sampleAudio(files, samples, problems);
  return {
    records,
    recordings: { expected: answeredRows.length, present: answeredRows.filter((x) => byCall.has(x.id)).length, ready, lengthOk, notReady: notReady.slice(0, 10), worstLengthErrorSeconds: round(worst, 2) ?? 0 },
    audioSamples,
    ok: problems.length === 0,
    problems,
  };
}

async function checkDialplanIntegrity(r: LoadResult, samples: number): Promise<Integrity> {
  const problems: string[] = [];
  const dir = spoolDir();
  // MixMonitor finishes the file when the channel goes; the last ones may still be closing.
  await sleep(1000);
  const files = readdirSync(dir).filter((f) => f.startsWith('bench-') && f.endsWith('.wav')).map((f) => join(dir, f));
  let lengthOk = 0;
  let worst = 0;
  // Each file against its own call's talk time, as the router's are against their records: from the
  // 200 the caller got to the carrier's BYE (the capture; files are named by the unique caller
  // number). MixMonitor runs from before Dial(), so the call's ring may be in the file on top.
  const byCaller = new Map((callTimingsOf.get(r) ?? []).map((t) => [t.key, t]));
  for (const f of files) {
    const info = await readWavInfo(f);
    // Data size may be unset in the header while MixMonitor writes; fall back to the file size.
    const seconds = info?.durationSeconds ?? (statSync(f).size - 44) / 16000;
    const t = byCaller.get(/^bench-\+?1999555(\d+)-/.exec(f.split('/').pop() as string)?.[1] ?? '');
    const talk = t?.callerOkAt !== undefined && t.carrierByeAt !== undefined ? t.carrierByeAt - t.callerOkAt : r.plan.holdMs / 1000;
    const ring = t?.callerOkAt !== undefined ? t.callerOkAt - t.carrierInviteAt : r.maxRingSeconds;
    const err = seconds < talk ? talk - seconds : seconds > talk + ring ? seconds - talk - ring : 0;
    worst = Math.max(worst, err);
    if (err <= 1.0) lengthOk += 1;
  }
  if (files.length !== r.answered) problems.push(`${files.length} MixMonitor files for ${r.answered} calls answered`);
  if (lengthOk !== files.length) problems.push(`${files.length - lengthOk} recordings outside their call's talk time … talk + ring by > 1 s (worst ${worst.toFixed(2)} s)`);
  const audioSamples = await sampleAudio(files, samples, problems);
  for (const f of files) rmSync(f, { force: true });
  return {
    recordings: { expected: r.answered, present: files.length, ready: files.length, lengthOk, notReady: [], worstLengthErrorSeconds: round(worst, 2) ?? 0 },
    audioSamples,
    ok: problems.length === 0,
    problems,
  };
}

/** analyzeAudio on the first, middle and last files: the carrier's 1 kHz tone and the destination's 450 Hz both there. */
async function sampleAudio(files: string[], n: number, problems: string[]): Promise<Integrity['audioSamples']> {
  const picks = files.length <= n ? files : [...new Set(Array.from({ length: n }, (_, i) => files[Math.round((i * (files.length - 1)) / Math.max(1, n - 1))] as string))];
  const out: Integrity['audioSamples'] = [];
  for (const f of picks) {
    try {
      const a = await analyzeAudio(f, { frequencyHz: CARRIER_TONE_HZ });
      const ch = a.channels[0];
      const ok = ch !== undefined && ch.toneFraction > 0.5 && ch.speechFraction > 0.5;
      out.push({ file: f.split('/').slice(-1)[0] as string, carrierToneFraction: round(ch?.toneFraction, 2) ?? 0, destinationFraction: round(ch?.speechFraction, 2) ?? 0, seconds: round(ch?.durationSeconds, 2) ?? 0, ok });
      if (!ok) problems.push(`audio of ${f}: ${a.describe()}`);
    } catch (err) {
      problems.push(`audio of ${f}: ${(err as Error).message}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- phases
async function phasePdd(): Promise<void> {
  say(`\n== post-dial delay (${PLAN.pdd.map((l) => l.level).join(', ')} concurrent)`);
  for (const l of PLAN.pdd) {
    for (const design of ['router', 'dialplan'] as const) {
      const fromId = design === 'router' ? maxCallId() : 0;
      const r = await runLoad(design, `pdd-${design}-${l.level}`, { calls: l.calls, limit: l.level, rate: l.rate, holdMs: l.holdMs }, l.level === 1 ? 0 : l.level, {
        ariTimeline: design === 'router' && l.level === 1,
      });
      r.integrity = design === 'router' ? await checkRouterIntegrity(r, fromId, 1) : await checkDialplanIntegrity(r, 1);
      results.pdd.push(r);
      say(
        `  ${design.padEnd(8)} ${String(l.level).padStart(3)} concurrent: INVITE→INVITE p50 ${r.inviteToInvite.p50} p95 ${r.inviteToInvite.p95} p99 ${r.inviteToInvite.p99} ms; ` +
          `200→200 p50 ${r.okToOk.p50} p99 ${r.okToOk.p99} ms (${r.inviteToInvite.n} calls, peak ${r.peakConcurrent}, answered ${r.answered}/${r.placed})`,
      );
      // The router's transcodes of this run's recordings, deferred while the box was busy, would
      // otherwise run during the next run.
      await quiesce();
    }
  }
}

/**
 * Waits until no transcode runs or is due and the box is mostly idle (at most `maxMs`), so one run's
 * background work (the router transcoding the last run's recordings) does not land in the next run's
 * CPU figures.
 * Returns the seconds waited.
 */
async function quiesce(maxMs = 150_000): Promise<number> {
  const t0 = performance.now();
  let prev = boxJiffies();
  let quietMs = 0;
  while (performance.now() - t0 < maxMs && quietMs < 2000) {
    await sleep(500);
    const now = boxJiffies();
    const busy = (now.busy - prev.busy) / Math.max(1, now.total - prev.total);
    prev = now;
    const transcoding = spawnSync('pgrep', ['-x', 'ffmpeg']).status === 0 || routerTranscodesDue() > 0;
    quietMs = !transcoding && busy < 0.25 ? quietMs + 500 : 0;
  }
  return round((performance.now() - t0) / 1000, 1) ?? 0;
}

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
async function phaseCpu(): Promise<void> {
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
  pin(asterisk?.pid, pinned ? '0' : all);
  pin(process.pid, pinned ? others : all);
  pin(router?.pid, pinned ? others : all);
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

/** Calls not placed, not answered (a 503 included: no cap is set in the capacity ramp), or not held to their end. */
function failedCalls(r: LoadResult): number {
  return Math.max(0, r.plan.calls - r.answered) + Math.max(0, r.answered - r.byeCompleted);
}

async function phaseCapacity(): Promise<void> {
  say(`\n== capacity: recorded calls of ${PLAN.capacityHoldMs / 1000} s, RTP both ways, levels ${PLAN.capacityLevels.join(', ')}`);
  const failed: Record<Design, boolean> = { router: false, dialplan: false };
  for (const design of ['router', 'dialplan'] as const) results.capacitySummary[design].stoppedBy = 'highest level tested';
  for (const level of PLAN.capacityLevels) {
    // A-B-B-A: the design that runs first at a level paid more Asterisk CPU per call in our runs
    // (swapping the order turned a 1.16 ratio into 0.86), so each design runs once first and once last.
    const passes = new Map<Design, number>();
    for (const design of ['router', 'dialplan', 'dialplan', 'router'] as const) {
      if (failed[design]) continue;
      const pass = (passes.get(design) ?? 0) + 1;
      passes.set(design, pass);
      const needed = level / PLAN.capacityRate + PLAN.capacityHoldMs / 1000 + 45;
      if (elapsed() + needed > PLAN.budgetSeconds) {
        results.capacitySummary[design].stoppedBy = `time budget (${PLAN.budgetSeconds} s) before level ${level}`;
        failed[design] = true;
        continue;
      }
      await quiesce();
      const fromId = design === 'router' ? maxCallId() : 0;
      const r = await runLoad(design, `capacity-${design}-${level}-${pass}`, { calls: level, limit: level, rate: PLAN.capacityRate, holdMs: PLAN.capacityHoldMs }, 0);
      r.integrity = design === 'router' ? await checkRouterIntegrity(r, fromId, 3) : await checkDialplanIntegrity(r, 3);
      results.capacity.push(r);
      const fails = failedCalls(r);
      say(
        `  ${design.padEnd(8)} ${String(level).padStart(3)} (${pass}): answered ${r.answered}/${r.placed}, failed ${fails}, peak ${r.peakConcurrent}; ` +
          `Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s/call (peak ${Math.round(r.proc.peakCpuPercent.asterisk ?? 0)} %), box peak ${Math.round(r.proc.boxPeakBusyPercent)} %` +
          (design === 'router' ? `; router ${r.routerCpuPerCallMs} ms CPU/call, ${r.routerRssPerConcurrentCallKb} kB/call` : '') +
          `; left ${r.leftInAsterisk.channels} ch/${r.leftInAsterisk.bridges} br; integrity ${r.integrity.ok ? 'ok' : r.integrity.problems.join(' | ').slice(0, 300)}`,
      );
      const s = results.capacitySummary[design];
      // A level counts only when both of its runs pass.
      if (fails === 0 && r.peakConcurrent >= level && r.integrity.ok) {
        if (pass === 2) s.zeroFailureLevel = level;
      } else {
        s.firstFailingLevel = level;
        s.stoppedBy = fails > 0 ? `failed calls at ${level}` : r.integrity.ok ? `peak ${r.peakConcurrent} < ${level}` : `integrity at ${level}`;
        failed[design] = true;
      }
    }
  }
}

/** Sets (or, with '', clears) a global dialplan variable over ARI: the bench dialplan's BENCH_CAP. */
async function setAsteriskGlobal(name: string, value: string): Promise<void> {
  const auth = Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64');
  const base = config.ari.url.replace(/\/+$/, '').replace(/\/ari$/, '');
  const res = await fetch(`${base}/ari/asterisk/variable?variable=${encodeURIComponent(name)}&value=${encodeURIComponent(value)}`, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(3_000),
  });
  if (!res.ok) throw new Error(`setting ${name}: HTTP ${res.status}`);
}

/**
 * Twice the zero-failure level offered to each design with the same cap: the router's
 * MAX_CONCURRENT_CALLS (counted by Asterisk, a record written for every refusal) and the bench
 * dialplan's GROUP_COUNT against BENCH_CAP. Side by side, a recording that falls short shows whether
 * the router's refusals cost the calls in progress anything the dialplan's own do not.
 */
async function phaseOverload(): Promise<void> {
  const capArg = numberArg('--overload-cap');
  const cap = Number.isInteger(capArg) && capArg > 0 ? capArg : (results.capacitySummary.router.zeroFailureLevel ?? Math.max(20, Math.floor((PLAN.capacityLevels[0] ?? 100) / 2)));
  const offered = cap * 2;
  // `--overload-rate N`: calls offered per second (default: the offer in 15 s).
  const rateArg = numberArg('--overload-rate');
  const rate = Number.isInteger(rateArg) && rateArg > 0 ? rateArg : Math.max(PLAN.capacityRate, Math.ceil(offered / 15));
  // `--overload-cps N`: calls admitted per second at most (router: MAX_CALLS_PER_SECOND; dialplan:
  // BENCH_CPS). Default: the arrival rate the capacity ramp found the zero-failure level at; 0: none.
  const cpsArg = numberArg('--overload-cps');
  const cps = Number.isInteger(cpsArg) && cpsArg >= 0 ? cpsArg : PLAN.capacityRate;
  say(`\n== overload: ${offered} concurrent calls offered at ${rate}/s, cap ${cap}, at most ${cps || 'any number of'} admitted per second (router: MAX_CONCURRENT_CALLS, MAX_CALLS_PER_SECOND; dialplan: GROUP_COUNT against BENCH_CAP, BENCH_CPS)`);
  for (const design of ['router', 'dialplan'] as const) {
    await quiesce();
    let r: LoadResult;
    if (design === 'router') {
      await startRouterWith({ MAX_CONCURRENT_CALLS: String(cap), MAX_CALLS_PER_SECOND: String(cps) });
      const fromId = maxCallId();
      r = await runLoad('router', `overload-router-${offered}`, { calls: offered, limit: offered, rate, holdMs: PLAN.capacityHoldMs }, 0);
      r.integrity = await checkRouterIntegrity(r, fromId, 3);
      await startRouterWith();
    } else {
      await setAsteriskGlobal('BENCH_CAP', String(cap));
      await setAsteriskGlobal('BENCH_CPS', String(cps));
      r = await runLoad('dialplan', `overload-dialplan-${offered}`, { calls: offered, limit: offered, rate, holdMs: PLAN.capacityHoldMs }, 0);
      await setAsteriskGlobal('BENCH_CAP', '');
      await setAsteriskGlobal('BENCH_CPS', '');
      r.integrity = await checkDialplanIntegrity(r, 3);
    }
    const other = Object.values(r.otherFinal).reduce((a, b) => a + b, 0);
    const checks: Record<string, boolean> = {
      refusedCleanlyWith503: r.refused503 > 0 && other === 0 && r.noFinal === 0,
      answeredCallsHeldToTheEnd: r.byeCompleted >= r.answered,
      answeredNeverAboveCap: r.peakConcurrent <= cap,
      everyAnsweredCallRecordedFullLength: r.integrity.recordings.ready === r.answered && r.integrity.recordings.lengthOk === r.answered,
      nothingLeftInAsterisk: r.leftInAsterisk.channels === 0 && r.leftInAsterisk.bridges === 0,
    };
    if (design === 'router') {
      checks.everyRefusalHasARejectedRecord = r.integrity.records?.rejectedMatchesSip === true;
      checks.recordsFinished = (r.integrity.records?.unfinished ?? 1) === 0;
    }
    const problems = [...r.integrity.problems];
    for (const [k, v] of Object.entries(checks)) if (!v) problems.push(`check failed: ${k}`);
    const o: OverloadResult = { cap, offered, offeredPerSecond: rate, callsPerSecond: cps, result: r, checks, problems };
    if (design === 'router') results.overload = o;
    else results.overloadDialplan = o;
    say(
      `  ${design.padEnd(8)} answered ${r.answered}, refused 503 ${r.refused503}, other ${JSON.stringify(r.otherFinal)}, no answer ${r.noFinal}; held to the end ${r.byeCompleted}/${r.answered}; ` +
        `peak ${r.peakConcurrent}; Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s per answered call; left ${r.leftInAsterisk.channels} ch/${r.leftInAsterisk.bridges} br; ${problems.length === 0 ? 'all checks pass' : problems.join(' | ').slice(0, 400)}`,
    );
  }
}

// ---------------------------------------------------------------- table
function table(): string {
  const lines: string[] = [];
  const row = (cells: Array<string | number | null | undefined>): string => `| ${cells.map((c) => (c === null || c === undefined ? '—' : String(c))).join(' | ')} |`;
  lines.push('', '### Post-dial delay (ms; capture on lo)', '');
  lines.push(row(['concurrent', 'design', 'INVITE→INVITE p50', 'p95', 'p99', '200→200 p50', 'p95', 'p99', 'calls measured', 'other load on box %']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const r of results.pdd) {
    lines.push(row([r.plan.limit, r.design, r.inviteToInvite.p50, r.inviteToInvite.p95, r.inviteToInvite.p99, r.okToOk.p50, r.okToOk.p95, r.okToOk.p99, r.inviteToInvite.n, r.foreignCpuPercentOfBox]));
  }
  const timeline = results.pdd.find((x) => x.ariTimeline)?.ariTimeline;
  if (timeline) {
    lines.push('', '### Inside the router\'s delay, one call at a time (ARI and the dialplan\'s routing requests on the wire; median ms after the carrier INVITE / the destination 200)', '');
    lines.push(`- INVITE→INVITE: ${timeline.inviteToInvite.map((s) => `${s.medianMs} ${s.step}`).join(' · ')}`);
    lines.push(`- 200→200: ${timeline.okToOk.map((s) => `${s.medianMs} ${s.step}`).join(' · ')}`);
  }
  const profiled = results.pdd.filter((x) => x.ari);
  if (profiled.length) {
    lines.push('', '### Per router call: the router\'s time to answer the dialplan\'s routing request, ARI traffic, and Asterisk\'s time per ARI request (ms, request → response on the wire)', '');
    const kinds = ['POST /ari/bridges', 'POST /ari/channels/create', 'POST /ari/bridges/{id}/addChannel', 'POST /ari/channels/{id}/dial', 'POST /ari/channels/{id}/answer'];
    lines.push(row(['concurrent', 'routing request p50/p95/p99', 'ARI requests/call', 'events/call', ...kinds.map((k) => `${k.replace('/ari', '')} p50/p95`)]));
    lines.push(row(['---', '---', '---', '---', ...kinds.map(() => '---')]));
    for (const r of profiled) {
      const a = r.ari as NonNullable<LoadResult['ari']>;
      const hook = a.hookServiceMs ? `${a.hookServiceMs.p50}/${a.hookServiceMs.p95}/${a.hookServiceMs.p99}` : null;
      lines.push(row([r.plan.limit, hook, a.requestsPerCall, a.eventsPerCall, ...kinds.map((k) => (a.serviceMs[k] ? `${a.serviceMs[k]?.p50}/${a.serviceMs[k]?.p95}` : null))]));
    }
  }
  lines.push('', '### Router minus dialplan (ms)', '');
  lines.push(row(['concurrent', 'INVITE→INVITE Δp50', 'Δp99', '200→200 Δp50', 'Δp99', 'target']));
  lines.push(row(['---', '---', '---', '---', '---', '---']));
  for (const r of results.pdd.filter((x) => x.design === 'router')) {
    const d = results.pdd.find((x) => x.design === 'dialplan' && x.plan.limit === r.plan.limit);
    if (!d) continue;
    const diff = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : round(a - b, 2));
    const dp50 = diff(r.inviteToInvite.p50, d.inviteToInvite.p50);
    const dp99 = diff(r.inviteToInvite.p99, d.inviteToInvite.p99);
    const ok = r.plan.limit > 100 ? 'n/a (> 100)' : dp50 !== null && dp99 !== null && dp50 <= 3 && dp99 <= 10 ? 'met' : 'missed';
    lines.push(row([r.plan.limit, dp50, dp99, diff(r.okToOk.p50, d.okToOk.p50), diff(r.okToOk.p99, d.okToOk.p99), ok]));
  }
  if (results.webhooks?.length) {
    const w = results.webhooks;
    lines.push('', `### Webhook fan-out (router, ${w[0]?.result.plan.limit} concurrent; runs alternating; every event to each endpoint)`, '');
    lines.push(row(['endpoints', 'INVITE→INVITE p50', 'p95', 'p99', '200→200 p50', 'p99', 'Asterisk CPU-s per call', 'router CPU ms/call', 'answered/placed', 'deliveries (per call)', 'call.ended delivered after p50 ms', 'p99']));
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const x of w) {
      const r = x.result;
      lines.push(row([x.endpoints, r.inviteToInvite.p50, r.inviteToInvite.p95, r.inviteToInvite.p99, r.okToOk.p50, r.okToOk.p99, r.asteriskCpuPerCallSeconds, r.routerCpuPerCallMs, `${r.answered}/${r.placed}`, `${x.deliveries} (${x.deliveriesPerCall})`, x.lagMs.p50, x.lagMs.p99]));
    }
    const mean = (endpoints: number, pick: (r: LoadResult) => number | null): number | null => {
      const v = w.filter((x) => x.endpoints === endpoints).map((x) => pick(x.result)).filter((n): n is number => n !== null);
      return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
    };
    const ratio = (pick: (r: LoadResult) => number | null): string => {
      const a = mean(3, pick);
      const b = mean(0, pick);
      return a !== null && b ? (a / b).toFixed(2) : '—';
    };
    lines.push(`- with ÷ without webhooks: INVITE→INVITE p50 ${ratio((r) => r.inviteToInvite.p50)}, p99 ${ratio((r) => r.inviteToInvite.p99)}; Asterisk CPU per call ${ratio((r) => r.asteriskCpuPerCallSeconds)}; router CPU per call ${ratio((r) => r.routerCpuPerCallMs)}`);
  }
  lines.push('', `### Capacity (recorded calls of ${PLAN.capacityHoldMs / 1000} s, RTP both ways)`, '');
  lines.push(row(['level', 'design', 'answered/placed', 'failed', 'peak up', 'Asterisk CPU-s per call', 'Asterisk peak %', 'box peak %', 'other load %', 'router CPU ms/call', 'router kB/call', 'left ch/br', 'integrity']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
  for (const r of results.capacity) {
    lines.push(
      row([
        r.plan.limit, r.design, `${r.answered}/${r.placed}`, failedCalls(r), r.peakConcurrent, r.asteriskCpuPerCallSeconds,
        Math.round(r.proc.peakCpuPercent.asterisk ?? 0), Math.round(r.proc.boxPeakBusyPercent), r.foreignCpuPercentOfBox, r.routerCpuPerCallMs, r.routerRssPerConcurrentCallKb,
        `${r.leftInAsterisk.channels}/${r.leftInAsterisk.bridges}`, r.integrity?.ok ? 'ok' : 'FAIL',
      ]),
    );
  }
  for (const d of ['router', 'dialplan'] as const) {
    const s = results.capacitySummary[d];
    lines.push(`- ${d}: highest zero-failure level ${s.zeroFailureLevel ?? 'none'}; stopped by ${s.stoppedBy}`);
  }
  // Asterisk CPU ratio at matching levels: the mean of each design's runs (A-B-B-A order).
  const ratios: string[] = [];
  const meanCpu = (design: Design, level: number): number | null => {
    const cpu = results.capacity.filter((x) => x.design === design && x.plan.limit === level).map((x) => x.asteriskCpuPerCallSeconds ?? 0).filter((v) => v > 0);
    return cpu.length === 0 ? null : cpu.reduce((a, v) => a + v, 0) / cpu.length;
  };
  for (const level of [...new Set(results.capacity.map((x) => x.plan.limit))]) {
    const r = meanCpu('router', level);
    const d = meanCpu('dialplan', level);
    if (r && d) ratios.push(`${level}: ${(r / d).toFixed(2)}`);
  }
  if (ratios.length) lines.push(`- Asterisk CPU per call, router ÷ dialplan (mean of each design's runs, run A-B-B-A), by level: ${ratios.join(', ')}`);
  if (results.cpu.length) {
    const pinned = results.cpuPinned ? 'Asterisk alone on CPU 0, everything else on the other CPUs; ' : '';
    lines.push('', `### Asterisk CPU per call on a quiet box (${pinned}designs alternating, each run after the last one's transcodes; no ARI capture)`, '');
    lines.push(
      row(['calls (ms per call placed)', 'runs each', 'router ms/call', 'dialplan ms/call', 'router − dialplan ms', 'router ÷ dialplan (pairs)', '95 % CI', 'control: sipps router ÷ dialplan (pairs)', 'Asterisk ÷ control', '95 % CI']),
    );
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const c of results.cpu) {
      const x = c.summary;
      lines.push(
        row([
          c.name, x.routerMs.length, `${x.routerMeanMs} (${x.routerMs.join(', ')})`, `${x.dialplanMeanMs} (${x.dialplanMs.join(', ')})`, x.extraMs, `${x.ratio} (${x.pairRatios.join(', ')})`,
          x.ratioCi95.join('–'), `${x.sippRatio} (${x.sippPairRatios.join(', ')})`, x.normalisedRatio, x.normalisedRatioCi95.join('–'),
        ]),
      );
    }
    lines.push(
      '',
      "The control: the two sipps do the same work in both designs, so their CPU per call moving with the design is what the box's other load",
      "(the router's transcodes) does to the CPU time of identical work. Asterisk ÷ control takes that out: the work Asterisk does for the router.",
    );
  }
  if (results.overload) {
    lines.push('', `### Overload (${results.overload.offered} offered at ${results.overload.offeredPerSecond}/s, cap ${results.overload.cap}, at most ${results.overload.callsPerSecond || 'any number'} admitted per second)`, '');
    lines.push(row(['design', 'answered', 'refused 503', 'other failures', 'held to end', 'peak up', 'recordings within 1 s of talk time', 'worst off s', 'Asterisk CPU-s per answered call', 'left ch/br', 'checks']));
    lines.push(row(['---', '---', '---', '---', '---', '---', '---', '---', '---', '---', '---']));
    for (const o of [results.overload, results.overloadDialplan]) {
      if (!o) continue;
      const r = o.result;
      lines.push(
        row([
          r.design, r.answered, r.refused503, Object.values(r.otherFinal).reduce((a, b) => a + b, 0) + r.noFinal, `${r.byeCompleted}/${r.answered}`, r.peakConcurrent,
          `${r.integrity?.recordings.lengthOk ?? '—'}/${r.answered}`, r.integrity?.recordings.worstLengthErrorSeconds, r.asteriskCpuPerCallSeconds,
          `${r.leftInAsterisk.channels}/${r.leftInAsterisk.bridges}`, o.problems.length === 0 ? 'all pass' : o.problems.join('; '),
        ]),
      );
    }
  }
  if (results.sqlite) {
    const s = results.sqlite;
    lines.push('', '### SQLite', '');
    lines.push(`- writes (insertArrival + markAnswered + finish, WAL file): ${s.writes.callsPerSecond} calls/s = ${s.writes.statementsPerSecond} statements/s; ${s.writes.meanMsPerCall} ms per call mean, p99 ${s.writes.p99MsPerCall} ms`);
    const off = s.writesWithoutSecureDelete;
    if (off) lines.push(`- the same without secure_delete (alternating rounds): ${off.callsPerSecond} calls/s, ${off.meanMsPerCall} ms mean, p99 ${off.p99MsPerCall} ms; shipped / without = ${round(s.writes.callsPerSecond / off.callsPerSecond, 3)}`);
    lines.push(`- report: ${s.report.rows} rows (${s.report.dbMb} MB, generated in ${s.report.generateSeconds} s); ${s.report.implementation}`, '');
    lines.push(row(['query (calls by source)', 'rows in range', 'shipped schema ms', ...s.report.indexVariants.map((_, i) => `index variant ${i + 1} ms`)]));
    lines.push(row(['---', '---', '---', ...s.report.indexVariants.map(() => '---')]));
    s.report.cases.forEach((c, i) => lines.push(row([c.name, c.rowsInRange, c.medianMs, ...s.report.indexVariants.map((v) => v.cases[i]?.medianMs)])));
    s.report.indexVariants.forEach((v, i) => lines.push(`- variant ${i + 1}: ${v.name}`));
  }
  if (results.postgres) {
    const p = results.postgres;
    const s = results.sqlite;
    lines.push('', `### PostgreSQL beside SQLite (same run; ${p.server}, loopback, fsync on, synchronous_commit off)`, '');
    lines.push(`- writes, one call after another (each write a round trip): ${p.writes.callsPerSecond} calls/s = ${p.writes.statementsPerSecond} statements/s; ${p.writes.meanMsPerCall} ms per call mean, p99 ${p.writes.p99MsPerCall} ms${s ? `; SQLite / PostgreSQL calls/s = ${round(s.writes.callsPerSecond / p.writes.callsPerSecond, 2)}` : ''}`);
    lines.push(`- writes, ${p.writesConcurrent.inFlight} calls at once: ${p.writesConcurrent.callsPerSecond} calls/s, p99 ${p.writesConcurrent.p99MsPerCall} ms per call`);
    lines.push(`- written behind the call (writeBehindCallRecords): ${p.writeBehind.callsPerSecond} calls/s applied; the caller's code waited ${p.writeBehind.queueMsPerCall} ms per call`);
    lines.push(`- report: ${p.report.rows} rows (${p.report.dbMb} MB, generated in ${p.report.generateSeconds} s), callReport run as a store work`, '');
    lines.push(row(['query (calls by source)', 'rows in range', 'SQLite ms', 'PostgreSQL ms', 'PostgreSQL / SQLite']));
    lines.push(row(['---', '---', '---', '---', '---']));
    p.report.cases.forEach((c, i) => {
      const lite = s?.report.cases[i]?.medianMs;
      lines.push(row([c.name, c.rowsInRange, lite, c.medianMs, lite ? round(c.medianMs / lite, 2) : undefined]));
    });
  }
  if (results.transcode) {
    lines.push('', '### Transcoding (src/media/transcodeRecording.ts, ffmpeg CPU incl. the duration check)', '');
    lines.push(row(['format', 'layout', 'audio s', 'ffmpeg CPU s', 'audio s per CPU s']));
    lines.push(row(['---', '---', '---', '---', '---']));
    for (const c of results.transcode) lines.push(row([c.format, c.layout, round(c.audioSeconds, 1), round(c.cpuSeconds, 3), Math.round(c.audioSecondsPerCpuSecond)]));
  }
  if (results.signIn) {
    const s = results.signIn;
    lines.push('', `### Sign-in answers (POST /v1/auth/login, argon2id, ${s.attemptsPerCase} attempts each, interleaved)`, '');
    lines.push(row(['case', 'status', 'median ms', 'p95 ms']));
    lines.push(row(['---', '---', '---', '---']));
    for (const c of s.cases) lines.push(row([c.name, c.status, c.medianMs, c.p95Ms]));
    lines.push(`- unknown e-mail / wrong password, medians: ${s.unknownOverWrong}`);
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------- main
/** The bench account (main creates it); the webhook phase's endpoints belong to it. */
let benchAccountId = 0;

/**
 * Webhook fan-out against the call path: the same router load at one level, without webhooks and
 * with three endpoints that take every event (5 per call each), alternating A-B-B-A. The figures
 * that must not move are the post-dial delay and Asterisk's CPU per call; the deliveries and their
 * lag say the fan-out kept up.
 */
async function phaseWebhooks(): Promise<void> {
  const w = PLAN.webhooks;
  say(`\n== webhook fan-out (${w.level} concurrent, ${w.calls} calls per run, 0 and 3 endpoints, ${w.pairs} pair(s))`);
  const receivers = await startWebhookReceivers(3);
  await startRouterWith({ WEBHOOK_ALLOWED_NETWORKS: '127.0.0.1/32' });
  const endpoints: number[] = [];
  for (const url of receivers.urls) {
    const res = await api.call<{ id: number }>('POST', '/v1/webhooks', { accountId: benchAccountId, url, eventTypes: ['*'], enabled: false });
    if (res.status !== 201) throw new Error(`creating a webhook endpoint: ${res.status} ${JSON.stringify(res.body)}`);
    endpoints.push(res.body.id);
  }
  const order: number[] = [];
  for (let i = 0; i < w.pairs; i++) order.push(...(i % 2 === 0 ? [0, 3] : [3, 0]));
  results.webhooks = [];
  for (const [i, count] of order.entries()) {
    for (const [j, id] of endpoints.entries()) await api.call('PATCH', `/v1/webhooks/${id}`, { enabled: j < count });
    receivers.reset();
    const r = await runLoad('router', `webhooks-${count}-${i}`, { calls: w.calls, limit: w.level, rate: w.rate, holdMs: w.holdMs }, w.level);
    await receivers.settle();
    const run: WebhookRun = { endpoints: count, result: r, deliveries: receivers.received, deliveriesPerCall: round(receivers.received / Math.max(1, r.answered), 1), lagMs: roundSummary(receivers.lag('call.ended')) };
    results.webhooks.push(run);
    say(
      `  ${count} endpoints: INVITE→INVITE p50 ${r.inviteToInvite.p50} p95 ${r.inviteToInvite.p95} p99 ${r.inviteToInvite.p99} ms; Asterisk ${r.asteriskCpuPerCallSeconds} CPU-s/call; ` +
        `router ${r.routerCpuPerCallMs} ms/call; ${run.deliveries} deliveries (${run.deliveriesPerCall}/call), call.ended delivered after p50 ${run.lagMs.p50} p99 ${run.lagMs.p99} ms`,
    );
    await quiesce();
  }
  for (const id of endpoints) await api.call('DELETE', `/v1/webhooks/${id}`);
  await receivers.stop();
  await startRouterWith();
}

async function main(): Promise<number> {
  // `--render FILE.json`: the table of an earlier run, printed and written to latest(-quick).md.
  if (argv.includes('--render')) {
    Object.assign(results, JSON.parse(readFileSync(argv[argv.indexOf('--render') + 1] as string, 'utf8')) as typeof results);
    const text = table();
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
    asterisk = await startAsterisk(config, { instance: 'bench', bench: true, readyTimeoutMs: 30_000 });
    removeDialplanRecordings();
    clearEndReports(asterisk.rootDir);
    await startRouterWith();
    const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Bench' });
    benchAccountId = account.body.id;
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
  const text = table();
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
  phone?.kill();
  await router?.stop().catch(() => null);
  await asterisk?.stop().catch(() => null);
  if (!process.env.BENCH_KEEP) rmSync(work, { recursive: true, force: true });
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  if (router) process.stderr.write(`--- router log (tail)\n${router.logs().slice(-4000)}\n`);
} finally {
  await cleanup();
}
process.exit(exitCode);
