import { CallrouteError } from '../errors.js';
import { runFfmpeg } from './runFfmpeg.js';

/**
 * Seconds of audio in a file, measured by decoding it (ffmpeg's final `out_time_us` to a null
 * output). ffprobe's container duration is not good enough for MP3: it counts whole frames
 * including the encoder delay and padding that a gapless decoder drops (7.272 s reported for a
 * 7.080 s recording at 8 kHz); decoding gives the length a player plays. Costs a decode, which for
 * 8 kHz speech is hundreds of times faster than real time.
 */
export async function measureDuration(ffmpeg: string, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const { stdout } = await runFfmpeg(
    ffmpeg,
    ['-hide_banner', '-nostdin', '-v', 'error', '-nostats', '-progress', 'pipe:1', '-i', path, '-map', '0:a:0', '-c:a', 'pcm_s16le', '-f', 'null', '-'],
    { timeoutMs: opts.timeoutMs ?? 60_000, maxStdoutBytes: 4 << 20, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  const matches = [...stdout.toString('utf8').matchAll(/^out_time_us=(\d+)$/gm)];
  const last = matches[matches.length - 1]?.[1];
  if (last === undefined) throw new CallrouteError('CR_ERR_MEDIA', `no duration in ffmpeg's progress output for ${path}`, { path });
  return Number(last) / 1e6;
}
