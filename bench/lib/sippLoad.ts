/**
 * sipp for load: no message traces (they cost more CPU than the calls at a few hundred calls), the
 * error trace only. Outcomes come from the SIP capture; the exit code says whether sipp saw a failure.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export interface LoadSippOptions {
  scenario: string;
  role: 'uac' | 'uas';
  localPort: number;
  mediaPort: number;
  controlPort: number;
  dir: string;
  name: string;
  /** UAC only. */
  remote?: string;
  dialed?: string;
  calls?: number;
  limit?: number;
  rate?: number;
  holdMs?: number;
  timeoutSeconds: number;
}

export interface LoadSippResult {
  exitCode: number;
  stdoutTail: string;
  stderrTail: string;
  errorFile: string;
}

export interface LoadSipp {
  pid: number;
  done: Promise<LoadSippResult>;
  kill(): void;
}

export function startLoadSipp(o: LoadSippOptions): LoadSipp {
  const errorFile = join(o.dir, `${o.name}-errors.log`);
  const args: string[] = [];
  if (o.role === 'uac') args.push(o.remote ?? '127.0.0.1:5060');
  args.push(
    '-sf', o.scenario,
    '-i', '127.0.0.1', '-mi', '127.0.0.1', '-ci', '127.0.0.1',
    '-p', String(o.localPort), '-mp', String(o.mediaPort), '-cp', String(o.controlPort),
    '-nostdin',
    '-trace_err', '-error_file', errorFile,
    '-timeout', `${o.timeoutSeconds}s`,
  );
  if (o.role === 'uac') {
    args.push('-timeout_error', '-s', o.dialed ?? 'service', '-m', String(o.calls ?? 1), '-l', String(o.limit ?? 1));
    args.push('-r', String(o.rate ?? 10), '-rp', '1000');
    if (o.holdMs !== undefined) args.push('-d', String(o.holdMs));
  }
  // The carrier and the phones are other machines in real life: at Asterisk's own real-time priority
  // (asterisk.conf highpriority), sipp is never starved by it, nor it by sipp.
  const child = spawn('chrt', ['--rr', '10', 'sipp', ...args], { cwd: o.dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out = (out + c.toString('utf8')).slice(-8000)));
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString('utf8')).slice(-8000)));
  const done = new Promise<LoadSippResult>((res) => {
    child.once('error', (e) => res({ exitCode: -1, stdoutTail: out, stderrTail: `${err}\n${e.message}`, errorFile }));
    child.once('close', (code, signal) => res({ exitCode: code ?? (signal ? 128 : -1), stdoutTail: out, stderrTail: err, errorFile }));
  });
  return {
    pid: child.pid ?? -1,
    done,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, 3000).unref();
    },
  };
}
