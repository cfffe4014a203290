/**
 * Keeps the router running under the start command (npm start), as systemd's `Restart=always` does
 * in production: a router that exits or crashes is started again, after a backoff, and the log
 * says why it went (exit code or signal, and the last thing it wrote to stderr). Asterisk is left
 * alone, so calls in progress keep talking and new calls fall back in the dialplan meanwhile.
 * SIGINT/SIGTERM stop the router gracefully (it leaves bridged calls up) and then this process.
 *
 *   node dist/scripts/superviseRouter.js [--log data/router.log] [--pid-file data/router.pid] -- node dist/src/main.js
 *
 * The pid file names the running router, so whoever started this process can still stop the router
 * if this process is killed outright (the start command's exit does).
 *
 * The router runs in its own process group, so a Ctrl-C in the terminal reaches this process only,
 * which then stops the router once, instead of racing a restart against the router's own exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { backoffDelay } from '../src/backoffDelay.js';
import { flagValue } from './cliArgs.js';

/** A router that ran this long was healthy: its next crash restarts it after the shortest delay. */
export const STABLE_RUN_MS = 60_000;
export const RESTART_BACKOFF = { initialMs: 1_000, maxMs: 30_000 } as const;
/** How long a stopping router may drain before it is killed. */
const STOP_GRACE_MS = 20_000;

/**
 * The restart after a run of `ranMs` that followed `attempt` quick failures in a row: the delay
 * grows while the router keeps dying at once (a bad config, a missing file), and starts over after a
 * healthy run.
 *
 * @example nextRestart(0, 5 * 60_000) // { attempt: 0, delayMs: 500..1000 }
 * @example nextRestart(4, 2_000)      // { attempt: 5, delayMs: 15000..30000 }
 */
export function nextRestart(attempt: number, ranMs: number, random: () => number = Math.random): { attempt: number; delayMs: number } {
  const next = ranMs >= STABLE_RUN_MS ? 0 : attempt + 1;
  return { attempt: next, delayMs: backoffDelay(next, RESTART_BACKOFF, random) };
}

/**
 * Why a router process went, in words for the log: the signal that killed it or its exit code.
 *
 * @example exitReason(null, 'SIGKILL') // 'killed by SIGKILL'
 */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

interface SupervisorOptions {
  command: readonly string[];
  logPath: string | null;
  pidFile: string | null;
}

function parseArgs(argv: readonly string[]): SupervisorOptions {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  if (command.length === 0) throw new Error('usage: superviseRouter [--log FILE] -- <router command...>');
  return { command, logPath: flagValue(own, '--log') ?? null, pidFile: flagValue(own, '--pid-file') ?? null };
}

function supervise(opts: SupervisorOptions): void {
  const log: WriteStream | null = opts.logPath ? createWriteStream(opts.logPath, { flags: 'a' }) : null;
  /** One line for the operator (stderr) and one pino-shaped line in the router's log. */
  const say = (level: 'info' | 'error', msg: string, fields: Record<string, unknown> = {}): void => {
    process.stderr.write(`supervisor: ${msg}\n`);
    const line = { level: level === 'error' ? 50 : 30, time: Date.now(), pid: process.pid, component: 'supervisor', ...fields, msg };
    (log ?? process.stdout).write(`${JSON.stringify(line)}\n`);
  };

  let child: ChildProcess | null = null;
  let attempt = 0;
  let stopping = false;
  let restartTimer: NodeJS.Timeout | null = null;

  const start = (): void => {
    restartTimer = null;
    const startedAt = Date.now();
    let lastStderrLine = '';
    const [file, ...args] = opts.command as [string, ...string[]];
    const proc = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (c: Buffer) => (log ?? process.stdout).write(c));
    proc.stderr?.on('data', (c: Buffer) => {
      (log ?? process.stderr).write(c);
      const lines = c.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      if (lines.length > 0) lastStderrLine = (lines[lines.length - 1] as string).slice(0, 500);
    });
    proc.once('error', (err) => say('error', `could not start the router: ${err.message}`));
    proc.once('spawn', () => {
      if (opts.pidFile) writeFileSync(opts.pidFile, `${proc.pid}\n`);
      say('info', `router started (pid ${proc.pid})`, { routerPid: proc.pid });
    });
    proc.once('close', (code, signal) => {
      child = null;
      if (opts.pidFile) rmSync(opts.pidFile, { force: true });
      const ranMs = Date.now() - startedAt;
      if (stopping) {
        say('info', `router stopped (${exitReason(code, signal)})`);
        log?.end();
        process.exit(0);
      }
      const next = nextRestart(attempt, ranMs);
      attempt = next.attempt;
      // The last line it wrote to stderr says why, when it knew: an uncaught error, a failed config check.
      const said = lastStderrLine ? ` (its last error output: ${lastStderrLine})` : '';
      say('error', `router ${exitReason(code, signal)} after ${(ranMs / 1000).toFixed(1)} s${said}; restarting in ${(next.delayMs / 1000).toFixed(1)} s`, {
        exitCode: code,
        signal,
        ranMs,
        restartInMs: next.delayMs,
      });
      restartTimer = setTimeout(start, next.delayMs);
    });
  };

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    say('info', `${signal}: stopping the router`);
    if (restartTimer) clearTimeout(restartTimer);
    const running = child;
    if (!running || running.exitCode !== null) {
      log?.end();
      process.exit(0);
    }
    running.kill('SIGTERM');
    setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  start();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  supervise(parseArgs(process.argv.slice(2)));
}
