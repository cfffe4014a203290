/**
 * Runs one sipp (Debian sip-tester 3.6.1) in the foreground and collects what it did.
 *
 * sipp facts this relies on (see /work/shared/notes/asterisk.md):
 * - `-i/-mi/-ci 127.0.0.1`: otherwise the control socket binds 0.0.0.0:8888, and two sipp at once
 *   need different `-cp` anyway.
 * - Exit code 0 = every call succeeded; 1 = at least one failed; 255 = fatal (bad scenario, port in use).
 * - `-timeout` + `-timeout_error` make sipp stop by itself (exit non-zero) instead of hanging a test.
 * - The scenarios read the caller number from `-key caller`, the dialed number from `-s`, and the
 *   hold/ring time from `-d`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SCENARIO_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

/** Caller number the carrier scenarios put in From when none is given. */
export const DEFAULT_CALLER = '+15559876543';

export interface SippOptions {
  /** Scenario file: a name in test/callflow/scenarios (with or without .xml) or a path. */
  scenario: string;
  role: 'uac' | 'uas';
  /** SIP port sipp listens and sends on (the carrier's 5070, the destinations' 5080). */
  localPort: number;
  /** RTP port sipp announces in its SDP and plays audio from. */
  mediaPort: number;
  /** sipp's UDP control port (`-cp`); distinct per running sipp. */
  controlPort: number;
  /** `host:port` to send to (UAC only), e.g. Asterisk's `127.0.0.1:5060`. */
  remote?: string;
  /** Request-URI user of the INVITE (UAC): the dialed DID. */
  dialed?: string;
  /** From user of the INVITE (UAC): the caller's number. */
  caller?: string;
  /** Calls to place (UAC) or to answer before exiting (UAS). Default 1. */
  calls?: number;
  /** Value of `-d` in ms: the scenarios' `<pause/>` (hold time, ring time before CANCEL, time before BYE). */
  holdMs?: number;
  /** Extra `-key name value` keywords, usable as `[name]` in scenarios. */
  keys?: Record<string, string>;
  /** sipp's own global timeout; it exits non-zero when it is reached. A kill follows 5 s later. */
  timeoutMs: number;
  /** Where the message/error traces go (created if missing). Default: a new temp directory. */
  traceDir?: string;
  /** Bind address for SIP, media and control. Default 127.0.0.1. */
  ip?: string;
  extraArgs?: string[];
}

export interface SippResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The `-trace_msg` log: every SIP message sent and received. */
  messages?: string;
  /** The `-trace_err` log: unexpected messages and why calls failed. */
  errors?: string;
  traceDir: string;
  args: string[];
  /** True when we stopped it (kill() or the backstop): sipp then exits 0 although it finished nothing. */
  killed: boolean;
}

export interface SippHandle {
  pid: number;
  done: Promise<SippResult>;
  /**
   * SIGTERM (then SIGKILL after 2 s); `done` still resolves with what was collected. `SIGKILL`
   * makes the party vanish at once: no BYE, no more RTP (a phone that lost power or network).
   */
  kill(signal?: 'SIGTERM' | 'SIGKILL'): void;
}

function scenarioPath(scenario: string): string {
  if (isAbsolute(scenario) || scenario.includes('/')) return resolve(scenario);
  return join(SCENARIO_DIR, scenario.endsWith('.xml') ? scenario : `${scenario}.xml`);
}

/** The sipp command line for `opts` (exported for the report of a failed check). */
export function sippArgs(opts: SippOptions, traceDir: string): string[] {
  const ip = opts.ip ?? '127.0.0.1';
  const file = scenarioPath(opts.scenario);
  const args: string[] = [];
  if (opts.role === 'uac') {
    if (!opts.remote) throw new Error('startSipp: a UAC needs `remote` (host:port)');
    args.push(opts.remote);
  }
  args.push(
    '-sf', file,
    '-i', ip, '-mi', ip, '-ci', ip,
    '-p', String(opts.localPort),
    '-mp', String(opts.mediaPort),
    '-cp', String(opts.controlPort),
    '-m', String(opts.calls ?? 1),
    '-nostdin',
    '-trace_msg', '-message_file', join(traceDir, 'messages.log'),
    '-trace_err', '-error_file', join(traceDir, 'errors.log'),
    '-timeout', `${Math.max(1, Math.ceil(opts.timeoutMs / 1000))}s`,
    '-timeout_error',
  );
  if (opts.role === 'uac') {
    args.push('-s', opts.dialed ?? 'service');
    // One call at a time unless asked: the flows assert per call.
    args.push('-l', String(opts.calls ?? 1));
  }
  if (opts.holdMs !== undefined) args.push('-d', String(Math.round(opts.holdMs)));
  const keys: Record<string, string> = { ...(opts.keys ?? {}) };
  if (opts.role === 'uac' && keys.caller === undefined) keys.caller = opts.caller ?? DEFAULT_CALLER;
  for (const [k, v] of Object.entries(keys)) args.push('-key', k, v);
  args.push(...(opts.extraArgs ?? []));
  return args;
}

function readIfExists(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

/**
 * Spawns sipp (foreground, `-nostdin`) and returns at once; `done` resolves when it exits (never rejects).
 *
 * @example
 * const uas = startSipp({ scenario: 'destination-answers', role: 'uas', localPort: 5080, mediaPort: 16000, controlPort: 8891, timeoutMs: 30_000 });
 */
export function startSipp(opts: SippOptions): SippHandle {
  const scenario = scenarioPath(opts.scenario);
  if (!existsSync(scenario)) throw new Error(`startSipp: no scenario ${scenario}`);
  const traceDir = opts.traceDir ?? mkdtempSync(join(tmpdir(), `sipp-${opts.role}-`));
  mkdirSync(traceDir, { recursive: true });
  const args = sippArgs(opts, traceDir);
  const child = spawn('sipp', args, { cwd: traceDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  // sipp repaints its statistics screen on stdout: keep only a bounded tail.
  const keep = (s: string, chunk: Buffer): string => (s + chunk.toString('utf8')).slice(-64_000);
  child.stdout.on('data', (c: Buffer) => (stdout = keep(stdout, c)));
  child.stderr.on('data', (c: Buffer) => (stderr = keep(stderr, c)));

  let killTimer: NodeJS.Timeout | undefined;
  let killed = false;
  const backstop = setTimeout(() => kill(), opts.timeoutMs + 5_000);
  backstop.unref();

  const done = new Promise<SippResult>((res) => {
    const finish = (exitCode: number, extra = ''): void => {
      clearTimeout(backstop);
      if (killTimer) clearTimeout(killTimer);
      res({
        exitCode,
        stdout,
        stderr: stderr + extra,
        messages: readIfExists(join(traceDir, 'messages.log')),
        errors: readIfExists(join(traceDir, 'errors.log')),
        traceDir,
        args,
        killed,
      });
    };
    child.once('error', (err) => finish(-1, `\nspawn sipp failed: ${err.message}`));
    child.once('close', (code, signal) => finish(code ?? (signal ? 128 + signalNumber(signal) : -1)));
  });

  function kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): void {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killed = true;
    child.kill(signal);
    killTimer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 2_000);
    killTimer.unref();
  }

  return { pid: child.pid ?? -1, done, kill };
}

function signalNumber(signal: NodeJS.Signals): number {
  return signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : signal === 'SIGINT' ? 2 : 0;
}

/** One SIP message from a sipp `-trace_msg` log. */
export interface TracedMessage {
  direction: 'sent' | 'received';
  /** First line: `INVITE sip:+1555@127.0.0.1:5080 SIP/2.0` or `SIP/2.0 200 OK`. */
  startLine: string;
  text: string;
}

/** Splits a sipp `-trace_msg` log into messages. */
export function parseSippMessages(log: string): TracedMessage[] {
  const out: TracedMessage[] = [];
  // Each entry: a dashed separator line with a timestamp, then "UDP message received [N] bytes :" or
  // "UDP message sent (N bytes):", a blank line, the SIP message.
  const blocks = log.split(/^-{10,}.*$/m);
  for (const block of blocks) {
    const m = /^\s*\S+ message (received|sent)[^\n]*\n\s*\n([\s\S]*)$/.exec(block);
    if (!m || m[1] === undefined || m[2] === undefined) continue;
    const text = m[2].replace(/\s+$/, '');
    const startLine = text.split(/\r?\n/, 1)[0] ?? '';
    out.push({ direction: m[1] === 'sent' ? 'sent' : 'received', startLine, text });
  }
  return out;
}

/** Request-URI users of the INVITEs a sipp received (a destination UAS: the numbers Asterisk dialed). */
export function receivedInviteUsers(log: string): string[] {
  return parseSippMessages(log)
    .filter((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '))
    .map((m) => /^INVITE\s+sips?:([^@;>\s]+)@/.exec(m.startLine)?.[1] ?? '')
    .filter((u) => u !== '');
}

/** Status codes of the final responses a sipp received to INVITE (a carrier UAC). */
export function receivedInviteFinalCodes(log: string): number[] {
  return parseSippMessages(log)
    .filter((m) => m.direction === 'received' && /^SIP\/2\.0 [2-6]\d\d/.test(m.startLine) && /^CSeq:\s*\d+\s+INVITE/im.test(m.text))
    .map((m) => Number(m.startLine.split(' ')[1]));
}

function tailLines(text: string | undefined, lines: number): string {
  if (!text) return '(none)';
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A diagnosis for an assertion message: exit code, command, error log and the end of the message log. */
export function describeSipp(name: string, r: SippResult, lines = 60): string {
  return [
    `${name}: sipp exit ${r.exitCode}${r.killed ? ' after we stopped it' : ''} (traces in ${r.traceDir})`,
    `  sipp ${r.args.join(' ')}`,
    `--- ${name} errors.log`,
    tailLines(r.errors, 20),
    `--- ${name} messages.log (tail)`,
    tailLines(r.messages, lines),
    ...(r.stderr.trim() ? [`--- ${name} stderr`, tailLines(r.stderr, 10)] : []),
  ].join('\n');
}
