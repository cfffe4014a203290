import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setPriority } from 'node:os';
import { CallrouteError } from '../errors.js';

export interface RunFfmpegOptions {
  /** Kill the process (SIGKILL) after this many ms. Default 300 000. */
  timeoutMs?: number;
  /** Aborting kills the process (SIGKILL) and rejects. */
  signal?: AbortSignal;
  /** Keep at most this many bytes of stdout (ffprobe JSON, decoded PCM). Default 0: stdout is discarded. */
  maxStdoutBytes?: number;
  /** Bytes of stderr kept for the error message. Default 4096. */
  stderrTailBytes?: number;
  /**
   * Run as idle-class work (SCHED_IDLE through util-linux's chrt, else nice 19): background work
   * such as transcoding then runs only on CPU time nothing else wants, and never delays Asterisk
   * or the router while calls are being set up. Default false.
   */
  background?: boolean;
}

/** util-linux's chrt (essential on Debian), for idle-class background work; null where missing. */
const CHRT = ['/usr/bin/chrt', '/bin/chrt'].find((p) => existsSync(p)) ?? null;

export interface RunFfmpegResult {
  stdout: Buffer;
  /** Last bytes of stderr (ffmpeg prints its progress and stream info there). */
  stderrTail: string;
  /** Wall-clock ms the process ran. */
  elapsedMs: number;
}

/**
 * Runs ffmpeg (or ffprobe) with an argument array, no shell. Resolves only when the process
 * exits with code 0; a non-zero exit, a signal, a spawn failure, the timeout or an abort reject
 * with CR_ERR_MEDIA carrying the exit code and the stderr tail.
 *
 * @example await runFfmpeg('/usr/bin/ffmpeg', ['-nostdin', '-i', 'in.wav', 'out.mp3'], { timeoutMs: 60_000 })
 */
/** What ffmpeg prints, while still exiting 0, when writing its output failed. */
const OUTPUT_NOT_WRITTEN = /^.*(?:Error writing trailer|Error closing file|av_interleaved_write_frame\(\)|No space left on device).*$/m;

export function runFfmpeg(binary: string, args: readonly string[], opts: RunFfmpegOptions = {}): Promise<RunFfmpegResult> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const tailBytes = opts.stderrTailBytes ?? 4096;
  const maxStdout = opts.maxStdoutBytes ?? 0;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: aborted before start`, { binary, aborted: true }));
      return;
    }
    // stdin ignored: ffmpeg otherwise reads the terminal for commands ('q') and can stall a job.
    // detached: its own process group, so a kill reaches everything it started (FFMPEG_PATH may be a
    // wrapper script whose children would otherwise live on and hold the pipes open).
    // chrt execs the binary in the same process: the pid, its group and signals stay ffmpeg's.
    const [command, argv] = opts.background && CHRT !== null ? [CHRT, ['--idle', '0', binary, ...args]] : [binary, args];
    const child = spawn(command, argv, { stdio: ['ignore', maxStdout > 0 ? 'pipe' : 'ignore', 'pipe'], detached: true });
    // nice 19 as well, even under SCHED_IDLE: the kernel then counts its CPU in /proc/stat's "nice"
    // column, which createCpuBusyGauge treats as free, so a running transcode never holds back the next.
    if (opts.background && child.pid !== undefined) {
      try {
        setPriority(child.pid, 19);
      } catch {
        // it exited already, or the system refuses: it runs at our priority
      }
    }
    const killTree = (): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    };
    let stderr = Buffer.alloc(0);
    const out: Buffer[] = [];
    let outLen = 0;
    let stdoutOverflow = false;
    let reason: 'timeout' | 'abort' | null = null;
    let spawnError: Error | null = null;

    const kill = (why: 'timeout' | 'abort'): void => {
      if (reason) return;
      reason = why;
      killTree();
    };
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = (): void => kill('abort');
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr?.on('data', (c: Buffer) => {
      // Keep only the tail: a long transcode prints progress for minutes.
      stderr = Buffer.concat([stderr, c]);
      if (stderr.length > tailBytes * 2) stderr = stderr.subarray(stderr.length - tailBytes);
    });
    child.stdout?.on('data', (c: Buffer) => {
      if (outLen + c.length > maxStdout) {
        stdoutOverflow = true;
        killTree();
        return;
      }
      out.push(c);
      outLen += c.length;
    });
    child.once('error', (err) => {
      spawnError = err;
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const tail = stderr.subarray(Math.max(0, stderr.length - tailBytes)).toString('utf8').trim();
      const elapsedMs = Date.now() - started;
      const details = { binary, exitCode: code, signal, stderrTail: tail, elapsedMs, timedOut: reason === 'timeout', aborted: reason === 'abort' };
      if (spawnError) {
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: cannot start: ${spawnError.message}`, details));
      } else if (reason === 'timeout') {
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: killed after the ${timeoutMs} ms timeout`, details));
      } else if (reason === 'abort') {
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: aborted`, details));
      } else if (stdoutOverflow) {
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: output larger than ${maxStdout} bytes`, details));
      } else if (code !== 0) {
        const lastLine = tail.split('\n').pop() ?? '';
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: exit ${code ?? signal}: ${lastLine}`, details));
      } else if (OUTPUT_NOT_WRITTEN.test(tail)) {
        // ffmpeg exits 0 when its output cannot be written whole (a full disk: measured with ffmpeg 5.1):
        // the file it leaves is cut short.
        const line = OUTPUT_NOT_WRITTEN.exec(tail)?.[0] ?? '';
        reject(new CallrouteError('CR_ERR_MEDIA', `${binary}: the output was not written whole: ${line}`, details));
      } else {
        resolve({ stdout: Buffer.concat(out), stderrTail: tail, elapsedMs });
      }
    });
  });
}
