import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallrouteError } from '../../src/errors.js';
import { probeMedia } from '../../src/media/probeMedia.js';
import { encryptFile, encryptedKeyId, isEncryptedFile, readRecordingPlaintext } from '../../src/media/recordingCipher.js';
import { transcodeRecording } from '../../src/media/transcodeRecording.js';
import { sineSamples, wavFromSamples } from '../callflow/harness/audioAnalysis.js';

const work = mkdtempSync(join(tmpdir(), 'media-cipher-'));
const k1 = randomBytes(32);
const k2 = randomBytes(32);
const keys = new Map([
  ['k1', k1],
  ['k2', k2],
]);
let mp3: string;
let plain: Buffer;

beforeAll(async () => {
  writeFileSync(join(work, 'in.wav'), wavFromSamples([sineSamples(440, 2)]));
  mp3 = (await transcodeRecording({ inputs: [join(work, 'in.wav')], format: 'mp3', outPath: join(work, 'clear.mp3'), tools: { ffmpeg: 'ffmpeg' } })).path;
  plain = readFileSync(mp3);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function codeOf(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => 'resolved',
    (err: unknown) => (err instanceof CallrouteError ? err.code : `uncoded: ${String(err)}`),
  );
  return e;
}

describe('recordingCipher', () => {
  it('round-trips, names its key, is private (0600), and is not the plaintext', async () => {
    const enc = join(work, 'enc.mp3');
    await encryptFile(mp3, enc, 'k1', k1);
    const data = readFileSync(enc);
    expect(data.subarray(0, 4).toString('latin1')).toBe('CRE1');
    expect(encryptedKeyId(data)).toBe('k1');
    expect(data.length).toBe(plain.length + 4 + 1 + 2 + 12 + 16);
    expect(data.includes(plain.subarray(100, 132))).toBe(false);
    expect(statSync(enc).mode & 0o777).toBe(0o600);
    expect(await isEncryptedFile(enc)).toBe(true);
    expect(await isEncryptedFile(mp3)).toBe(false);
    expect((await readRecordingPlaintext(enc, keys)).equals(plain)).toBe(true);
    // A clear file reads as it is (recordings stored before encryption was turned on).
    expect((await readRecordingPlaintext(mp3, keys)).equals(plain)).toBe(true);
  });

  it('keys rotate: files keep the key they were written with', async () => {
    const a = join(work, 'a.mp3');
    const b = join(work, 'b.mp3');
    await encryptFile(mp3, a, 'k1', k1);
    await encryptFile(mp3, b, 'k2', k2);
    expect((await readRecordingPlaintext(a, keys)).equals(plain)).toBe(true);
    expect((await readRecordingPlaintext(b, keys)).equals(plain)).toBe(true);
    // Two encryptions of the same audio differ (fresh IV).
    expect(readFileSync(a).subarray(7).equals(readFileSync(b).subarray(7))).toBe(false);
  });

  it('an unknown key id is CR_ERR_RECORDING_KEY_UNKNOWN', async () => {
    const enc = join(work, 'k1.mp3');
    await encryptFile(mp3, enc, 'k1', k1);
    expect(await codeOf(readRecordingPlaintext(enc, new Map([['k2', k2]])))).toBe('CR_ERR_RECORDING_KEY_UNKNOWN');
  });

  it.each([
    ['a flipped ciphertext byte', (d: Buffer) => { d[200] = (d[200] ?? 0) ^ 1; }],
    ['a flipped tag byte', (d: Buffer) => { d[d.length - 1] = (d[d.length - 1] ?? 0) ^ 0x80; }],
    ['a flipped IV byte', (d: Buffer) => { d[8] = (d[8] ?? 0) ^ 1; }],
    ['the key id swapped for another configured key', (d: Buffer) => { d.write('k2', 5, 'latin1'); }],
  ])('tampering is detected: %s', async (_what, tamper) => {
    const enc = join(work, 't.mp3');
    await encryptFile(mp3, enc, 'k1', k1);
    const d = readFileSync(enc);
    tamper(d);
    writeFileSync(enc, d);
    expect(await codeOf(readRecordingPlaintext(enc, keys))).toBe('CR_ERR_RECORDING_CORRUPT');
  });

  it('truncation is detected', async () => {
    const enc = join(work, 'tr.mp3');
    await encryptFile(mp3, enc, 'k1', k1);
    const d = readFileSync(enc);
    writeFileSync(enc, d.subarray(0, d.length - 100));
    expect(await codeOf(readRecordingPlaintext(enc, keys))).toBe('CR_ERR_RECORDING_CORRUPT');
    writeFileSync(enc, d.subarray(0, 20));
    expect(await codeOf(readRecordingPlaintext(enc, keys))).toBe('CR_ERR_RECORDING_CORRUPT');
  });

  it('the encrypted file on disk is not playable: ffprobe cannot read it, the clear one it can', async () => {
    const enc = join(work, 'probe.mp3');
    await encryptFile(mp3, enc, 'k1', k1);
    expect((await probeMedia('ffprobe', mp3)).codec).toBe('mp3');
    expect(await codeOf(probeMedia('ffprobe', enc))).toBe('CR_ERR_MEDIA');
  });

  it('refuses a key that is not 32 bytes', async () => {
    expect(await codeOf(encryptFile(mp3, join(work, 'x.mp3'), 'short', randomBytes(16)))).toBe('CR_ERR_CONFIG');
  });
});
