import { randomBytes } from 'node:crypto';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CallrouteError } from '../errors.js';
import type { FfmpegTools } from './locateFfmpeg.js';
import { measureDuration } from './measureDuration.js';
import { readWavInfo } from './readWavInfo.js';
import type { RecordingFormat } from './recordingPaths.js';
import { runFfmpeg } from './runFfmpeg.js';
import { sha256File } from './sha256File.js';

export interface TranscodeRequest {
  /** One mono WAV (mixed), or two (dual: [caller, answering party]). */
  inputs: readonly string[];
  format: RecordingFormat;
  /** Final path; written at a temp path beside it and renamed into place. */
  outPath: string;
  tools: Pick<FfmpegTools, 'ffmpeg'>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Mixed only: drop this many seconds from the start of the input. A recording started before the
   * answer (the dialplan's MixMonitor) may begin with early media.
   */
  skipSeconds?: number;
}

export interface TranscodeResult {
  path: string;
  sizeBytes: number;
  durationSeconds: number;
  codec: string;
  contentType: string;
  sha256: string;
  channels: 1 | 2;
}

/** Less lead than this (a frame or two of timing between answer and the first frame) stays. */
const LEAD_WORTH_CUTTING_SECONDS = 0.05;

const CODECS: Readonly<Record<RecordingFormat, { codec: string; contentType: string }>> = Object.freeze({
  mp3: { codec: 'mp3', contentType: 'audio/mpeg' },
  opus: { codec: 'opus', contentType: 'audio/ogg; codecs=opus' },
});

/** Encoder arguments. Telephone audio is 8 kHz: the encoders keep that rate (MPEG-2.5 for MP3). */
function encoderArgs(format: RecordingFormat, channels: 1 | 2): string[] {
  if (format === 'mp3') {
    // Dual: plain stereo, not joint: mid/side coding would smear one party into the other's channel.
    return channels === 1
      ? ['-c:a', 'libmp3lame', '-b:a', '32k', '-f', 'mp3']
      : ['-c:a', 'libmp3lame', '-b:a', '48k', '-joint_stereo', '0', '-f', 'mp3'];
  }
  // Dual at 64 kb/s: below that libopus's coupled stereo leaks one side into the other (a 1 kHz tone
  // left, speech right at 24–48 kb/s left speech-like energy at −29 dBFS on the tone side; at 64 kb/s
  // −55 dBFS). Uncoupled streams (mapping family 255) would be clean at 32 kb/s but have no standard
  // channel layout, which browsers may refuse.
  return ['-c:a', 'libopus', '-b:a', channels === 1 ? '16k' : '64k', '-application', 'voip', '-f', 'ogg'];
}

/**
 * Transcodes Asterisk's WAV(s) into the stored format. Dual recordings become one stereo file:
 * the first input (caller) left, the second (answering party) right, both padded to the longer one
 * (the legs of a call need not end on the same sample). The file is written at a temp path and
 * renamed, so a reader never sees half a file. Duration is measured by decoding the result.
 *
 * @example await transcodeRecording({ inputs: ['a.wav'], format: 'mp3', outPath: 'x.mp3', tools })
 */
export async function transcodeRecording(req: TranscodeRequest): Promise<TranscodeResult> {
  const n = req.inputs.length;
  if (n !== 1 && n !== 2) throw new CallrouteError('CR_ERR_MEDIA', `transcode needs 1 or 2 inputs, got ${n}`);
  const channels: 1 | 2 = n === 1 ? 1 : 2;
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error'];
  // Before -i: PCM seeks to the sample.
  if (channels === 1 && req.skipSeconds !== undefined && req.skipSeconds > LEAD_WORTH_CUTTING_SECONDS) args.push('-ss', req.skipSeconds.toFixed(3));
  // -ignore_length: a header Asterisk has not finalised yet claims a wrong data size; read to EOF.
  for (const input of req.inputs) args.push('-ignore_length', '1', '-i', input);
  if (channels === 1) {
    args.push('-map', '0:a:0', '-ac', '1');
  } else {
    let longest = 0;
    for (const input of req.inputs) longest = Math.max(longest, (await readWavInfo(input))?.durationSeconds ?? 0);
    // The cut below is what ends the padded streams: without a length they would pad forever.
    if (!(longest > 0)) throw new CallrouteError('CR_ERR_MEDIA', 'dual recording: neither input is a WAV file with audio', { inputs: req.inputs });
    // amerge stops at the shorter input: pad both, then cut at the longer one's length.
    args.push(
      '-filter_complex',
      '[0:a:0]aformat=channel_layouts=mono,apad[l];[1:a:0]aformat=channel_layouts=mono,apad[r];[l][r]amerge=inputs=2,pan=stereo|c0=c0|c1=c1[out]',
      '-map',
      '[out]',
      '-t',
      longest.toFixed(4),
    );
  }
  args.push('-map_metadata', '-1', ...encoderArgs(req.format, channels));

  await mkdir(dirname(req.outPath), { recursive: true });
  const tmp = `${req.outPath}.${randomBytes(6).toString('hex')}.tmp`;
  args.push('-y', tmp);
  const timeoutMs = req.timeoutMs ?? 300_000;
  const deadline = Date.now() + timeoutMs;
  const runOpts = (): { timeoutMs: number; signal?: AbortSignal; background: boolean } => ({
    timeoutMs: Math.max(1, deadline - Date.now()),
    // Transcoding waits; calls being set up do not.
    background: true,
    ...(req.signal ? { signal: req.signal } : {}),
  });
  try {
    await runFfmpeg(req.tools.ffmpeg, args, runOpts());
    const durationSeconds = await measureDuration(req.tools.ffmpeg, tmp, runOpts());
    const sha256 = await sha256File(tmp);
    const { size } = await stat(tmp);
    await rename(tmp, req.outPath);
    return { path: req.outPath, sizeBytes: size, durationSeconds, ...CODECS[req.format], sha256, channels };
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}
