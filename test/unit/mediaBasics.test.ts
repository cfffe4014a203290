import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallrouteError } from '../../src/errors.js';
import { locateFfmpeg } from '../../src/media/locateFfmpeg.js';
import { readWavInfo } from '../../src/media/readWavInfo.js';
import { asteriskRecordingWavPath, recordingRelativePath, resolveRecordingPath } from '../../src/media/recordingPaths.js';
import { runFfmpeg } from '../../src/media/runFfmpeg.js';
import { wavFromSamples, sineSamples } from '../callflow/harness/audioAnalysis.js';

const work = mkdtempSync(join(tmpdir(), 'media-basics-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = join(work, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('recordingRelativePath', () => {
  it.each([
    [{ accountId: 7, callId: 42, recordingId: 3, callArrivedAt: Date.UTC(2026, 0, 5, 23, 59, 59), format: 'mp3' as const }, '7/2026/01/05/call-42-rec-3.mp3'],
    [{ accountId: null, callId: 1, recordingId: 9, callArrivedAt: Date.UTC(2026, 11, 31, 0, 0, 0), format: 'opus' as const }, 'unassigned/2026/12/31/call-1-rec-9.opus'],
  ])('%o -> %s (UTC date of the call)', (parts, expected) => {
    expect(recordingRelativePath(parts)).toBe(expected);
  });

  it('resolves inside the recordings directory and refuses a path that leaves it', () => {
    expect(resolveRecordingPath('/data/rec', '7/2026/01/05/call-42-rec-3.mp3')).toBe('/data/rec/7/2026/01/05/call-42-rec-3.mp3');
    expect(() => resolveRecordingPath('/data/rec', '../etc/passwd')).toThrow(CallrouteError);
    expect(() => resolveRecordingPath('/data/rec', '/etc/passwd')).toThrow(CallrouteError);
  });

  it('puts Asterisk names in its spool under the Asterisk root, and refuses path tricks', () => {
    expect(asteriskRecordingWavPath('/', 'rec-1')).toBe('/var/spool/asterisk/recording/rec-1.wav');
    expect(asteriskRecordingWavPath('/srv/chroot', 'rec-1')).toBe('/srv/chroot/var/spool/asterisk/recording/rec-1.wav');
    expect(() => asteriskRecordingWavPath('/', '../../etc/x')).toThrow(CallrouteError);
  });
});

describe('locateFfmpeg', () => {
  it('FFMPEG_PATH wins; ffprobe is taken beside it when there is one', () => {
    const dir = join(work, 'custom');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const ff = script('custom/ffmpeg', 'exit 0');
    script('custom/ffprobe', 'exit 0');
    expect(locateFfmpeg(ff, { pathEnv: '/usr/bin', ffmpegStatic: () => '/nope' })).toEqual({ ffmpeg: ff, ffprobe: join(dir, 'ffprobe'), source: 'config' });
  });

  it('ffmpeg-static only when its binary file exists, else ffmpeg on the PATH', () => {
    const pathDir = join(work, 'bin');
    mkdirSync(pathDir, { recursive: true });
    const onPathFf = script('bin/ffmpeg', 'exit 0');
    const onPathProbe = script('bin/ffprobe', 'exit 0');
    const staticBin = script('static-ffmpeg', 'exit 0');
    expect(locateFfmpeg(null, { pathEnv: pathDir, ffmpegStatic: () => staticBin })).toEqual({ ffmpeg: staticBin, ffprobe: onPathProbe, source: 'ffmpeg-static' });
    // Installed package whose download failed: the path it exports does not exist.
    expect(locateFfmpeg(null, { pathEnv: pathDir, ffmpegStatic: () => join(work, 'missing-binary') })).toEqual({ ffmpeg: onPathFf, ffprobe: onPathProbe, source: 'path' });
    expect(locateFfmpeg(null, { pathEnv: pathDir, ffmpegStatic: () => null }).source).toBe('path');
    // Nothing anywhere: bare names, so running them fails with a coded error naming the binary.
    expect(locateFfmpeg(null, { pathEnv: join(work, 'empty'), ffmpegStatic: () => null })).toEqual({ ffmpeg: 'ffmpeg', ffprobe: 'ffprobe', source: 'path' });
  });

  it('finds the real ffmpeg here (ffmpeg-static is not installed)', () => {
    const t = locateFfmpeg(null);
    expect(existsSync(t.ffmpeg)).toBe(true);
    expect(existsSync(t.ffprobe)).toBe(true);
  });
});

describe('runFfmpeg', () => {
  it('resolves on exit 0 with stdout when asked for it', async () => {
    const r = await runFfmpeg('ffmpeg', ['-hide_banner', '-version'], { maxStdoutBytes: 1 << 20 });
    expect(r.stdout.toString()).toMatch(/^ffmpeg version/);
  });

  it('rejects a non-zero exit with CR_ERR_MEDIA, the exit code and a bounded stderr tail', async () => {
    const noisy = script('noisy', 'i=0; while [ $i -lt 2000 ]; do echo "line $i of noise" >&2; i=$((i+1)); done; echo "the real reason" >&2; exit 3');
    const err = await runFfmpeg(noisy, [], { stderrTailBytes: 256 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallrouteError);
    const e = err as CallrouteError;
    expect(e.code).toBe('CR_ERR_MEDIA');
    expect(e.details?.exitCode).toBe(3);
    expect(e.message).toContain('the real reason');
    expect(String(e.details?.stderrTail).length).toBeLessThanOrEqual(256);
  });

  it('rejects an exit 0 whose output was not written whole (ffmpeg on a full disk)', async () => {
    // What ffmpeg 5.1 printed, exiting 0, writing an MP3 to a full tmpfs.
    const full = script('full', 'echo "Error writing trailer of /r/out.mp3: No space left on device" >&2; echo "Error closing file /r/out.mp3: No space left on device" >&2; exit 0');
    const err = (await runFfmpeg(full, []).catch((e: unknown) => e)) as CallrouteError;
    expect(err).toBeInstanceOf(CallrouteError);
    expect(err.message).toBe(`${full}: the output was not written whole: Error writing trailer of /r/out.mp3: No space left on device`);
  });

  it('rejects what real ffmpeg refuses (missing input)', async () => {
    const err = (await runFfmpeg('ffmpeg', ['-nostdin', '-i', join(work, 'nope.wav'), '-f', 'null', '-']).catch((e: unknown) => e)) as CallrouteError;
    expect(err.code).toBe('CR_ERR_MEDIA');
    expect(err.details?.exitCode).not.toBe(0);
    expect(String(err.details?.stderrTail)).toMatch(/No such file/);
  });

  it('kills the process with SIGKILL at the timeout', async () => {
    const pidFile = join(work, 'slow.pid');
    // exec: the sleeping process is the one we spawned, so its pid is the one killed.
    const slow = script('slow', `echo $$ > ${pidFile}; exec sleep 30`);
    const t0 = Date.now();
    const err = (await runFfmpeg(slow, [], { timeoutMs: 300 }).catch((e: unknown) => e)) as CallrouteError;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(err.code).toBe('CR_ERR_MEDIA');
    expect(err.details?.timedOut).toBe(true);
    expect(err.details?.signal).toBe('SIGKILL');
    expect(pidAlive(Number(readFileSync(pidFile, 'utf8')))).toBe(false);
  });

  it('kills the process when the signal aborts, and refuses to start when already aborted', async () => {
    const slow = script('slow2', 'exec sleep 30');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const err = (await runFfmpeg(slow, [], { signal: ac.signal }).catch((e: unknown) => e)) as CallrouteError;
    expect(err.details?.aborted).toBe(true);
    const again = (await runFfmpeg(slow, [], { signal: ac.signal }).catch((e: unknown) => e)) as CallrouteError;
    expect(again.code).toBe('CR_ERR_MEDIA');
  });

  it('a binary that does not exist is a coded error, not a crash', async () => {
    const err = (await runFfmpeg(join(work, 'no-such-ffmpeg'), []).catch((e: unknown) => e)) as CallrouteError;
    expect(err.code).toBe('CR_ERR_MEDIA');
    expect(err.message).toMatch(/cannot start/);
  });
});

describe('readWavInfo', () => {
  it('reads the header and tells a finalised one from one Asterisk has not closed yet', async () => {
    const wav = wavFromSamples([sineSamples(1000, 1)]);
    const p = join(work, 'a.wav');
    writeFileSync(p, wav);
    const info = await readWavInfo(p);
    expect(info).toMatchObject({ finalised: true, sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 16000, durationSeconds: 1 });
    const open = Buffer.from(wav);
    open.writeUInt32LE(36, 4); // sizes as written when the file was created
    open.writeUInt32LE(0, 40);
    writeFileSync(p, open);
    expect(await readWavInfo(p)).toMatchObject({ finalised: false, dataBytes: 16000, durationSeconds: 1 });
    writeFileSync(p, 'not a wav at all');
    expect(await readWavInfo(p)).toBeNull();
  });
});
