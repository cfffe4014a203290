import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeAudio, analyzeSamples, decodeChannels, longestSilence, sineSamples, wavFromSamples } from '../callflow/harness/audioAnalysis.js';
import { decodeUdp, isRtp, parsePcap, rtpFlows } from '../callflow/harness/rtpCapture.js';
import { alawToLinear, decodePcmaRtp, linearToAlaw, pcmaSamplesFromPcap, writeTonePcap } from '../callflow/harness/tonePcap.js';

const work = mkdtempSync(join(tmpdir(), 'media-analysis-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const G711A = '/usr/share/sip-tester/g711a.pcap';
const speech = pcmaSamplesFromPcap(readFileSync(G711A));

describe('G.711 A-law', () => {
  it('matches the standard code points and round-trips within the segment step', () => {
    expect(linearToAlaw(0)).toBe(0xd5);
    expect(linearToAlaw(-1)).toBe(0x55);
    expect(linearToAlaw(32767)).toBe(0xaa);
    expect(linearToAlaw(-32768)).toBe(0x2a);
    for (const v of [0, 100, -100, 1000, -1000, 10000, -20000, 32000]) {
      const back = alawToLinear(linearToAlaw(v));
      expect(Math.abs(back - v)).toBeLessThanOrEqual(Math.max(16, Math.abs(v) / 16));
    }
    // Every code decodes to a value that encodes back to the same code.
    for (let a = 0; a < 256; a++) expect(linearToAlaw(alawToLinear(a))).toBe(a);
  });
});

describe('writeTonePcap', () => {
  it('writes Ethernet/IPv4/UDP/RTP PCMA, 20 ms packets of 160 bytes, 50 per second, increasing seq and timestamp', () => {
    const p = join(work, 'tone.pcap');
    expect(writeTonePcap(p, { frequencyHz: 1000, seconds: 2 })).toBe(100);
    const frames = parsePcap(readFileSync(p));
    expect(frames).toHaveLength(100);
    expect(frames[0]?.linkType).toBe(1);
    const rtp = frames.map((f) => decodeUdp(f)?.payload).filter((b): b is Buffer => b !== undefined && isRtp(b));
    expect(rtp).toHaveLength(100);
    expect(rtpFlows(frames)[0]?.payloadTypes).toEqual([8]);
    for (let i = 0; i < rtp.length; i++) {
      const b = rtp[i]!;
      expect(b.length).toBe(172);
      expect(b.readUInt16BE(2)).toBe(1000 + i);
      expect(b.readUInt32BE(4)).toBe(160 * i);
      expect(frames[i]!.ts - frames[0]!.ts).toBeCloseTo(i * 0.02, 6);
    }
    const a = analyzeSamples(Float64Array.from(decodePcmaRtp(rtp), (v) => v / 32768), { frequencyHz: 1000 });
    expect(a.durationSeconds).toBe(2);
    expect(a.toneRatio).toBeGreaterThan(0.99);
    expect(a.rmsDbfs).toBeCloseTo(-9, 0);
    expect(a.speechFraction).toBe(0);
  });

  it('amplitude is honoured', () => {
    const p = join(work, 'quiet.pcap');
    writeTonePcap(p, { frequencyHz: 1000, seconds: 1, amplitude: 0.1 });
    const rtp = parsePcap(readFileSync(p)).map((f) => decodeUdp(f)!.payload);
    expect(analyzeSamples(Float64Array.from(decodePcmaRtp(rtp), (v) => v / 32768)).rmsDbfs).toBeCloseTo(-23, 0);
  });
});

describe('analyzeAudio', () => {
  it('sipp\'s g711a.pcap is ~7 s of speech with no tone', () => {
    const a = analyzeSamples(speech, { frequencyHz: 1000 });
    expect(a.durationSeconds).toBeGreaterThan(6.5);
    expect(a.speechFraction).toBeGreaterThan(0.5);
    expect(a.toneRatio).toBeLessThan(0.05);
  });

  it('an ffmpeg lavfi sine: all tone, no speech; the tone is found at its frequency only', async () => {
    const p = join(work, 'sine.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=8000:duration=3', '-ac', '1', p]);
    const a = await analyzeAudio(p, { frequencyHz: 1000 });
    expect(a.channels).toHaveLength(1);
    expect(a.channels[0]!.durationSeconds).toBeCloseTo(3, 2);
    expect(a.channels[0]!.toneRatio).toBeGreaterThan(0.99);
    expect(a.channels[0]!.speechFraction).toBeLessThan(0.02);
    const at700 = await analyzeAudio(p, { frequencyHz: 700 });
    expect(at700.channels[0]!.toneRatio).toBeLessThan(0.05);
    expect(at700.channels[0]!.speechFraction).toBeGreaterThan(0.9); // energy the 700 Hz tone does not explain
  });

  it('a stereo file: tone left, speech right, measured per channel', async () => {
    const p = join(work, 'stereo.wav');
    writeFileSync(p, wavFromSamples([sineSamples(1000, speech.length / 8000), speech]));
    const [left, right] = (await analyzeAudio(p)).channels;
    expect(left!.toneRatio).toBeGreaterThan(0.99);
    expect(left!.speechFraction).toBeLessThan(0.02);
    expect(right!.toneRatio).toBeLessThan(0.05);
    expect(right!.speechFraction).toBeGreaterThan(0.5);
  });

  it('a mix has both: the tone throughout and speech in the residual', async () => {
    const p = join(work, 'mix.wav');
    const tone = sineSamples(1000, speech.length / 8000, 0.3);
    writeFileSync(p, wavFromSamples([Float64Array.from(speech, (v, i) => v + (tone[i] ?? 0))]));
    const a = (await analyzeAudio(p)).channels[0]!;
    expect(a.toneFraction).toBeGreaterThan(0.95);
    expect(a.speechFraction).toBeGreaterThan(0.5);
    // Silence is neither.
    const s = join(work, 'silence.wav');
    writeFileSync(s, wavFromSamples([new Float64Array(8000)]));
    const q = (await analyzeAudio(s)).channels[0]!;
    expect(q.toneFraction + q.speechFraction).toBe(0);
  });

  it('says why when the file is not audio', async () => {
    const p = join(work, 'junk.mp3');
    writeFileSync(p, 'hello');
    await expect(analyzeAudio(p)).rejects.toThrow(/could not decode/);
  });
});

describe('longestSilence (a paused recording’s span)', () => {
  it('finds a 2 s gap in a tone to the 20 ms frame, through an MP3 round trip', async () => {
    const tone = sineSamples(1000, 5);
    tone.fill(0, 8000 * 1.5, 8000 * 3.5);
    const wav = join(work, 'gap.wav');
    writeFileSync(wav, wavFromSamples([tone]));
    const mp3 = join(work, 'gap.mp3');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-ac', '1', '-b:a', '32k', mp3]);
    const [mono] = await decodeChannels(mp3);
    const gap = longestSilence(mono!);
    expect(Math.abs(gap.seconds - 2)).toBeLessThan(0.1);
    expect(Math.abs(gap.startSeconds - 1.5)).toBeLessThan(0.1);
    expect(longestSilence(sineSamples(1000, 1)).seconds).toBe(0);
  });
});
