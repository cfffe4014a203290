/**
 * The router as the real thing runs: a separate Node process (`src/main.ts` through tsx) with its
 * own environment, so tests can crash it (SIGKILL) and start it again mid-call.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
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
}

export function startRouter(env: Record<string, string>): RouterProcess {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer): void => {
    out = (out + c.toString('utf8')).slice(-400_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((res) => child.once('close', (code) => res(code)));
  const port = env.CALLROUTE_HTTP_PORT ?? '8080';

  return {
    pid: child.pid ?? -1,
    logs: () => out,
    async ready(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`router exited with ${child.exitCode}:\n${out.slice(-3000)}`);
          try {
            const res = await fetch(`http://127.0.0.1:${port}/health`);
            const body = (await res.json()) as { ari?: string };
            return body.ari === 'connected';
          } catch {
            return false;
          }
        },
        { timeoutMs, intervalMs: 100, message: 'router to connect to Asterisk' },
      );
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
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
