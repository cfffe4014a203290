/**
 * The bench's command-line flags, its plan (the quick one and the full one), the fixed ports and
 * numbers its processes use, and the small helpers every part shares.
 */
import { cpus } from 'node:os';
import { resolve } from 'node:path';

export const REPO = resolve(import.meta.dirname, '..');
export const argv = process.argv.slice(2);
export const QUICK = argv.includes('--quick');
/** `--perf`: profile Asterisk during each load run with perf (set BENCH_KEEP=1 to keep the reports). */
export const PERF = argv.includes('--perf');
/** Experiment: the dialplan's runs transcode their recordings as the router does (bench/lib/twinTranscodes.ts). */
export const DIALPLAN_TRANSCODES = argv.includes('--dialplan-transcodes');
/** `--name N`: the number after the flag; NaN when the flag is absent. */
export function numberArg(name: string): number {
  return argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : NaN;
}
/** `--cpu-pairs N`: pairs of runs per cpu case, instead of the plan's (NaN: the plan's). */
export const CPU_PAIRS = numberArg('--cpu-pairs');
/**
 * The cpu phase runs Asterisk alone on CPU 0 and everything else (this driver, the router and its
 * ffmpeg, the sipps) on the other CPUs; `--cpu-no-pin` leaves the scheduler free. On our 2-core box
 * the router's and the sipps' wake-ups otherwise land on Asterisk's core and raise the CPU time of
 * the same work: in unpinned runs the sipps' own CPU per call (the control) rose 1.06–1.08 in the
 * router's refused runs, and the designs' difference moved by ±0.3 ms from run to run. Pinned, the
 * control stays near 1.0, so what differs between the designs is work Asterisk does.
 */
export const CPU_PIN = !argv.includes('--cpu-no-pin') && cpus().length >= 2;
const onlyArg = argv[argv.indexOf('--only') + 1];
const ONLY = argv.includes('--only') && onlyArg ? new Set(onlyArg.split(',')) : null;
export const want = (phase: string): boolean => ONLY === null || ONLY.has(phase);

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

export const PLAN = QUICK
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

export const TOKEN = 'bench-admin-token-0123456789abcdef';
export const HTTP_PORT = 8090;
export const API = `http://127.0.0.1:${HTTP_PORT}`;
export const DID = '+15551250000';
export const DESTINATION = '+15550001111';
export const ROUTER_CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8891 };
export const DIALPLAN_CARRIER = { localPort: 5071, mediaPort: 6050, controlPort: 8893 };
export const PHONE = { localPort: 5080, mediaPort: 6100, controlPort: 8892 };
export const CARRIER_TONE_HZ = 1000;
export const DESTINATION_TONE_HZ = 450;

export type Design = 'router' | 'dialplan';

export const say = (s: string): void => void process.stdout.write(`${s}\n`);
export const started = performance.now();
export const elapsed = (): number => (performance.now() - started) / 1000;
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `--router-env K=V` (repeatable): settings for every router the bench starts (experiments). */
export const routerEnvArgs: Record<string, string> = {};
argv.forEach((a, i) => {
  const kv = a === '--router-env' ? argv[i + 1] : undefined;
  if (kv?.includes('=')) routerEnvArgs[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
});
