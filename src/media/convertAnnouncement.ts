import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CallrouteError } from '../errors.js';
import type { FfmpegTools } from './locateFfmpeg.js';
import { probeMedia } from './probeMedia.js';
import { readWavInfo } from './readWavInfo.js';
import { runFfmpeg } from './runFfmpeg.js';

export interface ConvertAnnouncementOptions {
  /** Longest announcement accepted, seconds. Default 30: it plays before every call connects. */
  maxSeconds?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Converts an uploaded sound (anything ffmpeg reads: WAV, MP3, Ogg, M4A, a video's audio track...)
 * into what Asterisk plays without transcoding on every call: 8 kHz mono 16-bit PCM WAV, written to
 * `<outPathWithoutExt>.wav` through a temp file and a rename. Rejects with CR_ERR_VALIDATION when the
 * upload is empty, not media, has no audio stream, or is longer than `maxSeconds`.
 *
 * @example await convertAnnouncement(upload, '/var/lib/asterisk/sounds/callroute/announcement-3', tools)
 */
export async function convertAnnouncement(
  input: Buffer,
  outPathWithoutExt: string,
  ffmpeg: Pick<FfmpegTools, 'ffmpeg' | 'ffprobe'>,
  opts: ConvertAnnouncementOptions = {},
): Promise<{ durationSeconds: number; path: string }> {
  const maxSeconds = opts.maxSeconds ?? 30;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const sig = opts.signal ? { signal: opts.signal } : {};
  if (input.length === 0) throw new CallrouteError('CR_ERR_VALIDATION', 'the uploaded sound file is empty', { field: 'file' });
  // A file, not a pipe: containers like MP4/M4A keep their index at the end and need seeking.
  const work = await mkdtemp(join(tmpdir(), 'callroute-announcement-'));
  try {
    const src = join(work, 'upload');
    await writeFile(src, input);
    let probe;
    try {
      probe = await probeMedia(ffmpeg.ffprobe, src, { timeoutMs, ...sig });
    } catch (err) {
      if (err instanceof CallrouteError && err.code === 'CR_ERR_MEDIA' && !(err.details?.timedOut || err.details?.aborted)) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'the uploaded file is not a sound file ffmpeg can read', { field: 'file' });
      }
      throw err;
    }
    if (probe.audioStreams === 0) throw new CallrouteError('CR_ERR_VALIDATION', 'the uploaded file has no audio stream', { field: 'file', format: probe.formatName });
    if (probe.durationSeconds !== null && probe.durationSeconds > maxSeconds + 0.05) {
      throw new CallrouteError('CR_ERR_VALIDATION', `the announcement is ${probe.durationSeconds.toFixed(1)} s long; at most ${maxSeconds} s is allowed`, { field: 'file' });
    }
    const out = `${outPathWithoutExt}.wav`;
    await mkdir(dirname(out), { recursive: true });
    const tmp = `${out}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      // -t caps a stream whose container gave no duration; -bitexact/-map_metadata keep a plain 44-byte header.
      await runFfmpeg(
        ffmpeg.ffmpeg,
        ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', src, '-map', '0:a:0', '-vn', '-t', String(maxSeconds + 1), '-ac', '1', '-ar', '8000', '-c:a', 'pcm_s16le', '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:a', '+bitexact', '-f', 'wav', '-y', tmp],
        { timeoutMs, ...sig },
      );
      const info = await readWavInfo(tmp);
      const durationSeconds = info?.durationSeconds ?? 0;
      if (durationSeconds <= 0) throw new CallrouteError('CR_ERR_VALIDATION', 'the uploaded sound has no audio samples', { field: 'file' });
      if (durationSeconds > maxSeconds + 0.05) {
        throw new CallrouteError('CR_ERR_VALIDATION', `the announcement is longer than ${maxSeconds} s`, { field: 'file' });
      }
      await rename(tmp, out);
      return { durationSeconds, path: out };
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      if (err instanceof CallrouteError && err.code === 'CR_ERR_MEDIA' && !(err.details?.timedOut || err.details?.aborted)) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'the uploaded sound could not be decoded', { field: 'file' });
      }
      throw err;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
