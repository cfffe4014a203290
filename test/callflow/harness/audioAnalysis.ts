/**
 * Measures what is in an audio file, per channel, so a test can say "the left channel carries the
 * 1 kHz tone and the right one speech" or "the mix has both".
 *
 * The file is decoded by ffmpeg to 16-bit PCM at 8 kHz, channels kept. Each channel is cut into
 * 20 ms frames (160 samples); in every frame a sinusoid at the tone frequency is fitted by least
 * squares and subtracted. What the tone explains is tone power; what is left (the residual) is
 * everything else: speech, noise, codec artefacts. A frame counts as speech when its residual is
 * above `speechThresholdDbfs`, whatever the tone does in it (a mix carries both at once). Codec noise
 * on a pure tone stays well below that: a −9 dBFS tone through MP3 32 kb/s leaves about −40 dBFS.
 * Pick a tone frequency away from the speech's strongest harmonics; 1 kHz works with g711a.pcap.
 */
import { spawn } from 'node:child_process';

export interface ChannelAnalysis {
  durationSeconds: number;
  /** RMS of the samples, full scale = 1. */
  rms: number;
  rmsDbfs: number;
  /** Share (0–1) of the channel's power explained by a sinusoid at the tone frequency. */
  toneRatio: number;
  /** RMS (dBFS) of the tone component alone. */
  toneDbfs: number;
  /** RMS (dBFS) of what the tone does not explain (speech, noise). */
  residualDbfs: number;
  /** Share (0–1) of 20 ms frames whose residual is above the speech threshold. */
  speechFraction: number;
  /** Share (0–1) of 20 ms frames whose tone component is above the speech threshold. */
  toneFraction: number;
}

export interface AudioAnalysis {
  sampleRate: 8000;
  channels: ChannelAnalysis[];
  /** Short description for assertion messages. */
  describe(): string;
}

export interface AnalyzeOptions {
  /** Tone to look for. Default 1000 Hz. */
  frequencyHz?: number;
  /** Residual level above which a frame counts as speech. Default −40 dBFS. */
  speechThresholdDbfs?: number;
  ffmpeg?: string;
}

const RATE = 8000;
const FRAME = 160;

const dbfs = (rms: number): number => (rms > 0 ? 20 * Math.log10(rms) : -Infinity);

/** Decodes any audio file to interleaved s16le at 8 kHz, channels kept. */
export function decodeToPcm(path: string, ffmpeg = 'ffmpeg'): Promise<{ pcm: Buffer; channels: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-i', path, '-f', 's16le', '-acodec', 'pcm_s16le', '-ar', String(RATE), 'pipe:1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err = (err + c.toString('utf8')).slice(-8000);
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        reject(new Error(`ffmpeg could not decode ${path} (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      // "Stream #0:0: Audio: mp3, 8000 Hz, stereo, fltp" in the output section tells the channel count.
      const outSection = err.slice(err.lastIndexOf('Output #0'));
      const m = /Audio: pcm_s16le[^\n]*?Hz, (mono|stereo|(\d+) channels)/.exec(outSection);
      const channels = !m ? 1 : m[1] === 'mono' ? 1 : m[1] === 'stereo' ? 2 : Number(m[2]);
      resolve({ pcm: Buffer.concat(out), channels });
    });
  });
}

/**
 * Least-squares fit of a·cos + b·sin at `w` (radians per sample) over one frame: returns the tone's
 * energy in the frame (sum of squares of the fitted sinusoid).
 */
function toneEnergy(x: Float64Array, start: number, n: number, w: number): number {
  let scc = 0;
  let sss = 0;
  let scs = 0;
  let sxc = 0;
  let sxs = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.cos(w * (start + i));
    const s = Math.sin(w * (start + i));
    const v = x[start + i] ?? 0;
    scc += c * c;
    sss += s * s;
    scs += c * s;
    sxc += v * c;
    sxs += v * s;
  }
  const det = scc * sss - scs * scs;
  if (Math.abs(det) < 1e-9) return 0;
  const a = (sxc * sss - sxs * scs) / det;
  const b = (sxs * scc - sxc * scs) / det;
  // Energy of the fit = a²·Σc² + b²·Σs² + 2ab·Σcs = projection of x onto the tone's subspace.
  return Math.max(0, a * sxc + b * sxs);
}

/** Analyses one channel of samples (full scale = 1). */
export function analyzeSamples(x: Float64Array, opts: AnalyzeOptions = {}): ChannelAnalysis {
  const w = (2 * Math.PI * (opts.frequencyHz ?? 1000)) / RATE;
  const threshold = opts.speechThresholdDbfs ?? -40;
  let total = 0;
  let tone = 0;
  let speechFrames = 0;
  let toneFrames = 0;
  let frames = 0;
  for (let start = 0; start + FRAME <= x.length; start += FRAME) {
    let e = 0;
    for (let i = start; i < start + FRAME; i++) e += (x[i] ?? 0) ** 2;
    const t = Math.min(e, toneEnergy(x, start, FRAME, w));
    total += e;
    tone += t;
    frames += 1;
    if (dbfs(Math.sqrt((e - t) / FRAME)) > threshold) speechFrames += 1;
    if (dbfs(Math.sqrt(t / FRAME)) > threshold) toneFrames += 1;
  }
  const n = frames * FRAME;
  const rms = n > 0 ? Math.sqrt(total / n) : 0;
  return {
    durationSeconds: x.length / RATE,
    rms,
    rmsDbfs: dbfs(rms),
    toneRatio: total > 0 ? tone / total : 0,
    toneDbfs: n > 0 ? dbfs(Math.sqrt(tone / n)) : -Infinity,
    residualDbfs: n > 0 ? dbfs(Math.sqrt((total - tone) / n)) : -Infinity,
    speechFraction: frames > 0 ? speechFrames / frames : 0,
    toneFraction: frames > 0 ? toneFrames / frames : 0,
  };
}

/**
 * Decodes `path` and analyses every channel.
 *
 * @example
 * const a = await analyzeAudio('call.mp3', { frequencyHz: 1000 });
 * expect(a.channels[0]!.toneRatio).toBeGreaterThan(0.9); // left: the tone
 * expect(a.channels[1]!.speechFraction).toBeGreaterThan(0.3); // right: speech
 */
export async function analyzeAudio(path: string, opts: AnalyzeOptions = {}): Promise<AudioAnalysis> {
  const result = (await decodeChannels(path, opts.ffmpeg)).map((x) => analyzeSamples(x, opts));
  return {
    sampleRate: RATE,
    channels: result,
    describe: () =>
      result
        .map(
          (c, i) =>
            `ch${i}: ${c.durationSeconds.toFixed(3)} s, ${c.rmsDbfs.toFixed(1)} dBFS, tone ${(100 * c.toneRatio).toFixed(1)} % (${c.toneDbfs.toFixed(1)} dBFS, ${(100 * c.toneFraction).toFixed(0)} % frames), residual ${c.residualDbfs.toFixed(1)} dBFS, speech ${(100 * c.speechFraction).toFixed(0)} % frames`,
        )
        .join('\n'),
  };
}

/**
 * The longest run of silent 20 ms frames (RMS below `thresholdDbfs`, default −50 dBFS): where a paused
 * recording wrote silence. Start and length in seconds; length 0 when no frame is silent.
 */
export function longestSilence(x: Float64Array, thresholdDbfs = -50): { startSeconds: number; seconds: number } {
  let best = { start: 0, frames: 0 };
  let runStart = -1;
  const frames = Math.floor(x.length / FRAME);
  for (let f = 0; f <= frames; f++) {
    let silent = false;
    if (f < frames) {
      let e = 0;
      for (let i = f * FRAME; i < (f + 1) * FRAME; i++) e += (x[i] ?? 0) ** 2;
      silent = dbfs(Math.sqrt(e / FRAME)) < thresholdDbfs;
    }
    if (silent && runStart < 0) runStart = f;
    if (!silent && runStart >= 0) {
      if (f - runStart > best.frames) best = { start: runStart, frames: f - runStart };
      runStart = -1;
    }
  }
  return { startSeconds: (best.start * FRAME) / RATE, seconds: (best.frames * FRAME) / RATE };
}

/** Decodes `path` into one Float64Array per channel (full scale = 1). */
export async function decodeChannels(path: string, ffmpeg?: string): Promise<Float64Array[]> {
  const { pcm, channels } = await decodeToPcm(path, ffmpeg);
  const perChannel = Math.floor(pcm.length / 2 / channels);
  return Array.from({ length: channels }, (_, ch) => {
    const x = new Float64Array(perChannel);
    for (let i = 0; i < perChannel; i++) x[i] = pcm.readInt16LE((i * channels + ch) * 2) / 32768;
    return x;
  });
}

/**
 * Writes 16-bit PCM WAV at 8 kHz from per-channel samples (full scale = 1): test fixtures that look
 * like what Asterisk records.
 */
export function wavFromSamples(channels: readonly Float64Array[], sampleRate = RATE): Buffer {
  const n = Math.max(0, ...channels.map((c) => c.length));
  const ch = channels.length;
  const data = Buffer.alloc(n * ch * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ch; c++) {
      const v = Math.max(-1, Math.min(1, channels[c]?.[i] ?? 0));
      data.writeInt16LE(Math.round(v * 32767), (i * ch + c) * 2);
    }
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(ch, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * ch * 2, 28);
  h.writeUInt16LE(ch * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** A sine at `frequencyHz`, `seconds` long, 8 kHz, peak `amplitude` (full scale = 1). */
export function sineSamples(frequencyHz: number, seconds: number, amplitude = 0.5): Float64Array {
  const x = new Float64Array(Math.round(seconds * RATE));
  for (let i = 0; i < x.length; i++) x[i] = amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / RATE);
  return x;
}
