/**
 * Transcoding throughput on the real path (src/media/transcodeRecording.ts): seconds of audio per
 * second of ffmpeg CPU, MP3 and Opus, one mixed (mono) and one dual (two legs → stereo) recording.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { transcodeRecording } from '../../src/media/transcodeRecording.js';

export interface TranscodeCase {
  format: 'mp3' | 'opus';
  layout: 'mixed' | 'dual';
  audioSeconds: number;
  cpuSeconds: number;
  wallSeconds: number;
  ffmpegRuns: number;
  audioSecondsPerCpuSecond: number;
}

function parseTimes(text: string): { cpu: number; runs: number } {
  let cpu = 0;
  let runs = 0;
  // `times` writes two lines per run: the shell's own time, then its children's (ffmpeg's).
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = 1; i < lines.length; i += 2) {
    const line = lines[i] as string;
    const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line.trim());
    if (!m) continue;
    cpu += Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
    runs += 1;
  }
  return { cpu, runs };
}

export async function runTranscodeBench(dir: string, audioSeconds: number): Promise<TranscodeCase[]> {
  const wav = (name: string, source: string): string => {
    const out = join(dir, name);
    // A tone plus noise: an encoder's cost depends on the signal, silence would flatter it.
    execFileSync('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', `${source}:sample_rate=8000:duration=${audioSeconds}`,
      '-f', 'lavfi', '-i', `anoisesrc=r=8000:d=${audioSeconds}:a=0.05`,
      '-filter_complex', 'amix=inputs=2:duration=first', '-ac', '1', '-ar', '8000', '-c:a', 'pcm_s16le', out,
    ]);
    return out;
  };
  const mixed = wav('bench-mixed.wav', 'sine=frequency=1000');
  const caller = wav('bench-caller.wav', 'sine=frequency=1000');
  const answered = wav('bench-answered.wav', 'sine=frequency=450');
  const timesFile = join(dir, 'ffmpeg-times.log');
  const wrapper = join(import.meta.dirname, '..', 'lib', 'ffmpeg-cpu.sh');
  process.env.BENCH_FFMPEG_TIMES = timesFile;
  const cases: TranscodeCase[] = [];
  for (const format of ['mp3', 'opus'] as const) {
    for (const layout of ['mixed', 'dual'] as const) {
      writeFileSync(timesFile, '');
      const outPath = join(dir, `out-${layout}.${format === 'mp3' ? 'mp3' : 'ogg'}`);
      const started = performance.now();
      const res = await transcodeRecording({
        inputs: layout === 'mixed' ? [mixed] : [caller, answered],
        format,
        outPath,
        tools: { ffmpeg: wrapper },
        timeoutMs: 600_000,
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const { cpu, runs } = parseTimes(existsSync(timesFile) ? readFileSync(timesFile, 'utf8') : '');
      cases.push({
        format,
        layout,
        audioSeconds: res.durationSeconds,
        cpuSeconds: cpu,
        wallSeconds,
        ffmpegRuns: runs,
        audioSecondsPerCpuSecond: cpu > 0 ? res.durationSeconds / cpu : 0,
      });
      rmSync(outPath, { force: true });
    }
  }
  delete process.env.BENCH_FFMPEG_TIMES;
  return cases;
}
