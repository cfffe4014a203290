/**
 * The router as the real thing runs: a separate Node process (`src/main.ts` through tsx) with its
 * own environment, so tests can crash it (SIGKILL) and start it again mid-call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { endReportFilesAside } from '../../../src/telephony/dialplanHook/createEndReportTail.js';
import { END_REPORT_FILE } from '../../../src/telephony/dialplanHook/routeTable.js';
import { waitFor } from './waitFor.js';

const ROOT = resolve(import.meta.dirname, '../../..');

export interface RouterProcess {
  pid: number;
  /** Everything the router logged (pino JSON lines), for assertion messages. */
  logs(): string;
  /** Resolves when /health says Asterisk is connected. */
  ready(timeoutMs?: number): Promise<void>;
  /** SIGTERM (graceful: drains, leaves bridged calls up) or SIGKILL (a crash). */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
  /** Under the start command's supervisor: the pid of the router it runs now (from its log). */
  supervisedPid(): number | null;
}

const ROUTER_COMMAND = ['--import', 'tsx', 'src/main.ts'];

export interface RouterOptions {
  /** Under the start command's supervisor (scripts/superviseRouter.ts). */
  supervised?: boolean;
  /**
   * RECORDINGS_DIR is a tmpfs of this many bytes, mounted in a mount namespace of the router's own
   * (the host and the test see the empty directory): the disk holding recordings, full.
   */
  recordingsDiskBytes?: number;
}

function onTinyRecordingsDisk(env: Record<string, string>, bytes: number, args: readonly string[]): [string, string[]] {
  const dir = env.RECORDINGS_DIR;
  if (!dir) throw new Error('recordingsDiskBytes needs RECORDINGS_DIR');
  mkdirSync(dir, { recursive: true });
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o size=${bytes} tmpfs "$0" && exec "$@"`, dir, process.execPath, ...args]];
}

/**
 * Starts the router; `supervised`: under scripts/superviseRouter.ts as `npm start` runs it, so
 * `stop` stops the supervisor (which stops the router) and a crash is the router's alone.
 */
export function startRouter(env: Record<string, string>, opts: RouterOptions = {}): RouterProcess {
  const args = opts.supervised ? ['--import', 'tsx', 'scripts/superviseRouter.ts', '--', process.execPath, ...ROUTER_COMMAND] : ROUTER_COMMAND;
  const [file, argv] = opts.recordingsDiskBytes === undefined ? [process.execPath, args] : onTinyRecordingsDisk(env, opts.recordingsDiskBytes, args);
  const child: ChildProcess = spawn(file, argv, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The last 400 kB of output, kept as chunks and cut only when twice that has piled up: cutting
  // one string at every chunk copied 400 kB each time, CPU the bench counted as load beside the
  // router's calls that the dialplan's runs never had.
  const TAIL = 400_000;
  let chunks: string[] = [];
  let kept = 0;
  const keep = (c: Buffer): void => {
    chunks.push(c.toString('utf8'));
    kept += c.length;
    if (kept > 2 * TAIL) {
      chunks = [chunks.join('').slice(-TAIL)];
      kept = TAIL;
    }
  };
  const out = (): string => chunks.join('').slice(-TAIL);
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const port = env.CALLROUTE_HTTP_PORT ?? '8080';

  return {
    pid: child.pid ?? -1,
    logs: out,
    async ready(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`router exited with ${child.exitCode}:\n${out().slice(-3000)}`);
          return routerConnected(`http://127.0.0.1:${port}`);
        },
        { timeoutMs, intervalMs: 100, message: 'router to connect to Asterisk' },
      );
    },
    supervisedPid() {
      const pids = [...out().matchAll(/"routerPid":(\d+)/g)];
      const last = pids[pids.length - 1];
      return last ? Number(last[1]) : null;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** /health at `baseUrl` says the router is connected to Asterisk (false while it is not up). */
export async function routerConnected(baseUrl: string): Promise<boolean> {
  try {
    const body = (await (await fetch(`${baseUrl}/health`)).json()) as { ari?: string };
    return body.ari === 'connected';
  } catch {
    return false;
  }
}

/** A small admin-API client for tests. */
/**
 * Removes the end reports an earlier run left in a reused Asterisk sandbox: a router on a fresh
 * database reads the whole file at its start, and would write records for those old calls.
 */
export function clearEndReports(asteriskRoot: string): void {
  const file = join(asteriskRoot, END_REPORT_FILE);
  for (const path of [file, ...endReportFilesAside(file)]) rmSync(path, { force: true });
}

export function adminApi(baseUrl: string, token: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }
  return { call };
}
