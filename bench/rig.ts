/**
 * What the bench drives and measures: its work directory and router configuration, the one Asterisk
 * (sandbox instance `bench`), the router process (restarted with other settings by some phases), the
 * destination phone (one sipp answering every call), and the waits between runs.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig, type Config } from '../src/config/loadConfig.js';
import type { AsteriskHandle } from '../scripts/asterisk-sandbox.js';
import { listBridges, listChannels } from '../test/callflow/harness/asteriskState.js';
import { adminApi, startRouter, type RouterProcess } from '../test/callflow/harness/routerProcess.js';
import { writeTonePcap } from '../test/callflow/harness/tonePcap.js';
import { boxJiffies } from './lib/proc.js';
import { startLoadSipp } from './lib/sippLoad.js';
import { round } from './lib/stats.js';
import { API, CARRIER_TONE_HZ, DESTINATION_TONE_HZ, HTTP_PORT, PHONE, routerEnvArgs, sleep, TOKEN } from './settings.js';

export const work = mkdtempSync(join(tmpdir(), 'callroute-bench-'));
export const baseEnv: Record<string, string> = {
  CALLROUTE_ADMIN_TOKEN: TOKEN,
  ARI_PASSWORD: 'bench-secret',
  CALLROUTE_DB_PATH: join(work, 'router.db'),
  CALLROUTE_HTTP_PORT: String(HTTP_PORT),
  RECORDINGS_DIR: join(work, 'recordings'),
  LOG_LEVEL: 'info',
};
export const config: Config = loadConfig(baseEnv);
/** What is running, set as the bench starts it (benchMain, startRouterWith, startPhone). */
export const rig: {
  asterisk?: AsteriskHandle;
  router?: RouterProcess;
  phone?: ReturnType<typeof startLoadSipp>;
  carrierScenario: string;
  phoneScenario: string;
  /** The bench account (benchMain creates it); the webhook phase's endpoints belong to it. */
  accountId: number;
} = { carrierScenario: '', phoneScenario: '', accountId: 0 };
export const api = adminApi(API, TOKEN);

export function prepareScenarios(maxHoldMs: number): void {
  const carrierPcap = join(work, 'carrier-1khz.pcap');
  const phonePcap = join(work, 'destination-450hz.pcap');
  const seconds = Math.ceil(maxHoldMs / 1000) + 10;
  writeTonePcap(carrierPcap, { frequencyHz: CARRIER_TONE_HZ, seconds });
  writeTonePcap(phonePcap, { frequencyHz: DESTINATION_TONE_HZ, seconds });
  rig.carrierScenario = join(work, 'carrier-load.xml');
  rig.phoneScenario = join(work, 'destination-load.xml');
  writeFileSync(rig.carrierScenario, readFileSync(join(import.meta.dirname, 'scenarios', 'carrier-load.xml'), 'utf8').replaceAll('__CARRIER_PCAP__', carrierPcap));
  writeFileSync(rig.phoneScenario, readFileSync(join(import.meta.dirname, 'scenarios', 'destination-load.xml'), 'utf8').replaceAll('__DESTINATION_PCAP__', phonePcap));
}

export function startPhone(): void {
  rig.phone = startLoadSipp({ scenario: rig.phoneScenario, role: 'uas', ...PHONE, dir: work, name: 'destination', timeoutSeconds: 3 * 3600 });
}

export async function startRouterWith(extra: Record<string, string> = {}): Promise<void> {
  if (rig.router) await rig.router.stop();
  rig.router = startRouter({ ...baseEnv, ASTERISK_FS_ROOT: (rig.asterisk as AsteriskHandle).rootDir, ...routerEnvArgs, ...extra });
  await rig.router.ready(30_000);
}

export async function asteriskLeft(timeoutMs: number): Promise<{ channels: number; bridges: number }> {
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
export function removeDialplanRecordings(): void {
  for (const f of readdirSync(spoolDir())) if (f.startsWith('bench-')) rmSync(join(spoolDir(), f), { force: true });
}

export function spoolDir(): string {
  return join((rig.asterisk as AsteriskHandle).rootDir, 'var/spool/asterisk/recording');
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

export function maxCallId(): number {
  const db = new Database(config.dbPath, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM calls').get() as { id: number }).id;
  } finally {
    db.close();
  }
}

/**
 * Waits until no transcode runs or is due and the box is mostly idle (at most `maxMs`), so one run's
 * background work (the router transcoding the last run's recordings) does not land in the next run's
 * CPU figures.
 * Returns the seconds waited.
 */
export async function quiesce(maxMs = 150_000): Promise<number> {
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

/** Sets (or, with '', clears) a global dialplan variable over ARI: the bench dialplan's BENCH_CAP. */
export async function setAsteriskGlobal(name: string, value: string): Promise<void> {
  const auth = Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64');
  const base = config.ari.url.replace(/\/+$/, '').replace(/\/ari$/, '');
  const res = await fetch(`${base}/ari/asterisk/variable?variable=${encodeURIComponent(name)}&value=${encodeURIComponent(value)}`, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}` },
    signal: AbortSignal.timeout(3_000),
  });
  if (!res.ok) throw new Error(`setting ${name}: HTTP ${res.status}`);
}
