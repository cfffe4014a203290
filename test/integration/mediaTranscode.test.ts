import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { CallrouteError } from '../../src/errors.js';
import { convertAnnouncement } from '../../src/media/convertAnnouncement.js';
import { locateFfmpeg } from '../../src/media/locateFfmpeg.js';
import { readWavInfo } from '../../src/media/readWavInfo.js';
import { sha256File } from '../../src/media/sha256File.js';
import { transcodeRecording } from '../../src/media/transcodeRecording.js';
import { analyzeAudio, sineSamples, wavFromSamples } from '../callflow/harness/audioAnalysis.js';
import { pcmaSamplesFromPcap } from '../callflow/harness/tonePcap.js';

const tools = locateFfmpeg(null);
const work = mkdtempSync(join(tmpdir(), 'media-transcode-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const speech = pcmaSamplesFromPcap(readFileSync('/usr/share/sip-tester/g711a.pcap'));
const speechSeconds = speech.length / 8000;
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');

function wav(name: string, ...channels: Float64Array[]): string {
  const p = join(work, name);
  writeFileSync(p, wavFromSamples(channels));
  return p;
}

describe.each(['mp3', 'opus'] as const)('transcodeRecording to %s', (format) => {
  it('mixed: one mono file with both parties, duration within 50 ms, facts right', async () => {
    const tone = sineSamples(1000, speechSeconds, 0.3);
    const input = wav(`mix-${format}.wav`, Float64Array.from(speech, (v, i) => v + (tone[i] ?? 0)));
    const out = join(work, 'out', `mix.${format}`);
    const r = await transcodeRecording({ inputs: [input], format, outPath: out, tools });
    expect(r.path).toBe(out);
    expect(Math.abs(r.durationSeconds - speechSeconds)).toBeLessThan(0.05);
    expect(r.codec).toBe(format);
    expect(r.contentType).toBe(format === 'mp3' ? 'audio/mpeg' : 'audio/ogg; codecs=opus');
    expect(r.sizeBytes).toBe(readFileSync(out).length);
    expect(r.sha256).toBe(await sha256File(out));
    expect(r.channels).toBe(1);
    // No temp file left beside it.
    expect(readdirSync(dirname(out)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const a = await analyzeAudio(out);
    expect(a.channels).toHaveLength(1);
    const ch = a.channels[0]!;
    expect(ch.toneFraction, a.describe()).toBeGreaterThan(0.9);
    expect(ch.speechFraction, a.describe()).toBeGreaterThan(0.5);
  });

  it('dual: caller left, answering party right, kept apart; padded to the longer leg', async () => {
    // The caller's leg is 1 s shorter: the file lasts as long as the longer one.
    const caller = wav(`caller-${format}.wav`, sineSamples(1000, speechSeconds - 1));
    const answerer = wav(`answerer-${format}.wav`, speech);
    const out = join(work, 'out', `dual.${format}`);
    const r = await transcodeRecording({ inputs: [caller, answerer], format, outPath: out, tools });
    expect(r.channels).toBe(2);
    expect(Math.abs(r.durationSeconds - speechSeconds)).toBeLessThan(0.05);
    const a = await analyzeAudio(out);
    expect(a.channels, a.describe()).toHaveLength(2);
    const [left, right] = a.channels;
    expect(left!.toneRatio, a.describe()).toBeGreaterThan(0.98);
    expect(left!.speechFraction, a.describe()).toBeLessThan(0.05);
    expect(right!.toneRatio, a.describe()).toBeLessThan(0.05);
    expect(right!.speechFraction, a.describe()).toBeGreaterThan(0.5);
  });
});

describe('transcodeRecording failures', () => {
  it('a broken input rejects with CR_ERR_MEDIA and leaves no file', async () => {
    const bad = join(work, 'bad.wav');
    writeFileSync(bad, 'RIFF....WAVE but not really');
    const out = join(work, 'bad', 'x.mp3');
    await expect(transcodeRecording({ inputs: [bad], format: 'mp3', outPath: out, tools })).rejects.toMatchObject({ code: 'CR_ERR_MEDIA' });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(join(work, 'bad'))).toEqual([]);
  });
});

describe('transcodeRecording input checks', () => {
  it('dual needs WAV inputs with audio (the padded legs are cut at the longer one\'s length)', async () => {
    const notWav = join(work, 'not-wav.mp3');
    writeFileSync(notWav, 'x');
    await expect(transcodeRecording({ inputs: [notWav, notWav], format: 'mp3', outPath: join(work, 'nw.mp3'), tools })).rejects.toMatchObject({ code: 'CR_ERR_MEDIA' });
    await expect(transcodeRecording({ inputs: [], format: 'mp3', outPath: join(work, 'none.mp3'), tools })).rejects.toMatchObject({ code: 'CR_ERR_MEDIA' });
  });
});

describe('convertAnnouncement', () => {
  it('turns an MP3 at 44.1 kHz stereo into 8 kHz mono 16-bit WAV that Asterisk plays', async () => {
    const src = join(work, 'upload.mp3');
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=600:sample_rate=44100:duration=2.5', '-ac', '2', '-c:a', 'libmp3lame', src]);
    const outBase = join(work, 'sounds', 'announcement-3');
    const r = await convertAnnouncement(readFileSync(src), outBase, tools);
    expect(r.path).toBe(`${outBase}.wav`);
    expect(Math.abs(r.durationSeconds - 2.5)).toBeLessThan(0.05);
    const info = await readWavInfo(r.path);
    expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, finalised: true });
    // Plain 44-byte header (no LIST chunk).
    expect(readFileSync(r.path).toString('latin1', 36, 40)).toBe('data');
    expect((await analyzeAudio(r.path, { frequencyHz: 600 })).channels[0]!.toneRatio).toBeGreaterThan(0.95);
  });

  it.each([
    ['an empty upload', Buffer.alloc(0), /empty/],
    ['a text file', Buffer.from('this is not audio\n'.repeat(50)), /not a sound file/],
    ['a PNG image (media, but no audio stream)', null, /no audio stream/],
  ])('rejects %s with CR_ERR_VALIDATION saying why', async (_what, data, why) => {
    let input = data;
    if (input === null) {
      const png = join(work, 'img.png');
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=32x32', '-frames:v', '1', png]);
      input = readFileSync(png);
    }
    const err = (await convertAnnouncement(input, join(work, 'sounds', 'rejected'), tools).catch((e: unknown) => e)) as CallrouteError;
    expect(err).toBeInstanceOf(CallrouteError);
    expect(err.code).toBe('CR_ERR_VALIDATION');
    expect(err.message).toMatch(why);
    expect(existsSync(join(work, 'sounds', 'rejected.wav'))).toBe(false);
  });

  it('rejects a sound longer than the cap', async () => {
    const src = join(work, 'long.wav');
    writeFileSync(src, wavFromSamples([sineSamples(440, 12)]));
    const err = (await convertAnnouncement(readFileSync(src), join(work, 'sounds', 'long'), tools, { maxSeconds: 10 }).catch((e: unknown) => e)) as CallrouteError;
    expect(err.code).toBe('CR_ERR_VALIDATION');
    expect(err.message).toMatch(/at most 10 s/);
  });
});

describe('default announcement asset', () => {
  it('is an 8 kHz mono 16-bit WAV of a few seconds of speech', async () => {
    const p = join(repoRoot, 'assets/sounds/recording-announcement.wav');
    const info = await readWavInfo(p);
    expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, finalised: true });
    expect(info!.durationSeconds).toBeGreaterThan(2);
    expect(info!.durationSeconds).toBeLessThan(6);
    const a = (await analyzeAudio(p)).channels[0]!;
    expect(a.speechFraction).toBeGreaterThan(0.4);
  });
});
