import { CallrouteError } from '../errors.js';
import { runFfmpeg } from './runFfmpeg.js';

export interface ProbeResult {
  durationSeconds: number | null;
  audioStreams: number;
  codec: string | null;
  channels: number | null;
  sampleRate: number | null;
  formatName: string | null;
}

interface FfprobeJson {
  format?: { duration?: string; format_name?: string };
  streams?: Array<{ codec_type?: string; codec_name?: string; channels?: number; sample_rate?: string; duration?: string }>;
}

/**
 * ffprobe's view of a media file: container duration, first audio stream's codec and layout.
 * Rejects with CR_ERR_MEDIA when ffprobe cannot read the file at all.
 */
export async function probeMedia(ffprobe: string, path: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const { stdout } = await runFfmpeg(
    ffprobe,
    ['-v', 'error', '-show_entries', 'format=duration,format_name:stream=codec_type,codec_name,channels,sample_rate,duration', '-of', 'json', path],
    { timeoutMs: opts.timeoutMs ?? 30_000, maxStdoutBytes: 1 << 20, ...(opts.signal ? { signal: opts.signal } : {}) },
  );
  let j: FfprobeJson;
  try {
    j = JSON.parse(stdout.toString('utf8')) as FfprobeJson;
  } catch {
    throw new CallrouteError('CR_ERR_MEDIA', 'ffprobe printed no JSON', { path });
  }
  const audio = (j.streams ?? []).filter((s) => s.codec_type === 'audio');
  const first = audio[0];
  const num = (s: string | undefined): number | null => {
    const n = s === undefined ? NaN : Number(s);
    return Number.isFinite(n) ? n : null;
  };
  return {
    durationSeconds: num(j.format?.duration) ?? num(first?.duration),
    audioStreams: audio.length,
    codec: first?.codec_name ?? null,
    channels: first?.channels ?? null,
    sampleRate: num(first?.sample_rate),
    formatName: j.format?.format_name ?? null,
  };
}
