/**
 * Fault: the disk that holds the recordings is full. The router runs with RECORDINGS_DIR on a
 * 4 KiB tmpfs of its own (a private mount namespace: the host sees nothing of it). Calls are still
 * routed and recorded by Asterisk; the transcode cannot be written, so the recording is retried and
 * then marked failed with the reason; no partial file is served, and Asterisk's WAV is kept.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCallflowStack, useStackHooks, type CallRecordDto, type CallflowStack } from './harness/callflowStack.js';

const HTTP_PORT = 8091;
const DID = '+15551310000';

let stack: CallflowStack;

describe('fault: the disk holding recordings is full', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'diskfull', httpPort: HTTP_PORT });
    await stack.router.stop();
    await stack.startRouter({}, { recordingsDiskBytes: 4096 });
    await stack.addNumbers([{ did: DID, recordingEnabled: true }]);
  }, 120_000);

  useStackHooks(() => stack);

  it('calls are still routed; the recording is failed with "No space left on device", nothing partial is served, the WAV is kept', async () => {
    const spool = join(stack.asterisk.rootDir, 'var/spool/asterisk/recording');
    const wavsBefore = readdirSync(spool).filter((f) => f.endsWith('.wav'));
    const before = await stack.newestCallId();
    await stack.answeredCall(DID, 4_000);
    const record = await stack.finishedCall<CallRecordDto>(before);
    expect(record).toMatchObject({ did: DID, disposition: 'answered', endedBy: 'caller' });

    const [recording] = await stack.finishedRecordings(record.id, 40_000);
    expect(recording?.status).toBe('failed');
    expect(recording?.statusReason).toMatch(/No space left on device|ENOSPC/);
    const list = await stack.api.call<{ recordings: { id: number }[] }>('GET', `/v1/calls/${record.id}/recordings`);
    const audio = await fetch(`${stack.baseUrl}/v1/recordings/${list.body.recordings[0]?.id}/audio`, { headers: { authorization: `Bearer ${stack.config.adminToken}` } });
    expect(audio.status).toBe(409);
    expect(readdirSync(spool).filter((f) => f.endsWith('.wav') && !wavsBefore.includes(f))).toHaveLength(1);
  }, 70_000);
});
