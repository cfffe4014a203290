/**
 * Fault: ffmpeg is missing or crashes. Calls are not touched (transcoding runs after the call); the
 * recording's job is retried, then the recording says `failed` and why, and Asterisk's WAV is kept
 * (nothing of the call's audio is lost; a later transcode can still use it).
 */
import { chmodSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCallflowStack, useStackHooks, type CallRecordDto, type CallflowStack } from './harness/callflowStack.js';

const HTTP_PORT = 8087;
const DID = '+15551290000';

let stack: CallflowStack;
let crashingFfmpeg: string;

function spooledWavs(): string[] {
  return readdirSync(join(stack.asterisk.rootDir, 'var/spool/asterisk/recording')).filter((f) => f.endsWith('.wav'));
}

describe('fault: ffmpeg missing or crashing', () => {
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callroute-ffmpeg-'));
    crashingFfmpeg = join(dir, 'ffmpeg');
    // Answers the version probe like ffmpeg, then dies of a segfault on real work.
    writeFileSync(crashingFfmpeg, '#!/bin/sh\ncase "$1" in -version) echo "ffmpeg version 5.1-crashing"; exit 0;; esac\nkill -SEGV $$\n');
    chmodSync(crashingFfmpeg, 0o755);
    stack = await startCallflowStack({ instance: 'ffmpegfaults', httpPort: HTTP_PORT });
    await stack.addNumbers([{ did: DID, recordingEnabled: true }]);
  }, 120_000);

  useStackHooks(() => stack);

  for (const [fault, ffmpegPath] of [
    ['missing', () => '/nonexistent/ffmpeg'],
    ['crashing (SIGSEGV)', () => crashingFfmpeg],
  ] as const) {
    it(`ffmpeg ${fault}: the call and its record are untouched; the recording is retried, then failed with the reason, and the WAV is kept`, async () => {
      await stack.restartRouter({ FFMPEG_PATH: ffmpegPath() });
      const wavsBefore = spooledWavs();
      const before = await stack.newestCallId();
      await stack.answeredCall(DID, 2_000);
      const record = await stack.finishedCall<CallRecordDto>(before);
      expect(record).toMatchObject({ did: DID, disposition: 'answered', endedBy: 'caller' });
      // Three attempts, 5 s and 10 s apart.
      const [recording] = await stack.finishedRecordings(record.id, 40_000);
      expect(recording?.status).toBe('failed');
      expect(recording?.statusReason).toMatch(/transcode failed after 3 attempts/);
      expect(spooledWavs().filter((w) => !wavsBefore.includes(w))).toHaveLength(1);
    }, 70_000);
  }
});
