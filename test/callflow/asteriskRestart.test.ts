/**
 * Fault: Asterisk is restarted (an upgrade, an operator's restart) while the router runs and calls
 * are up. Those calls end with it (Asterisk hangs them up as it shuts down): nothing can keep them.
 * What must hold: the router reconnects by itself, no record is lost (each call that was up is
 * finished and answered, its end reported as it shut down), the recording of what was said is
 * finished, and the next call routes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_PORTS, PHONE_PORTS, startCallflowStack, useStackHooks, type CallRecordDto, type CallflowStack } from './harness/callflowStack.js';
import { listChannels } from './harness/asteriskState.js';
import { startSipp } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = 8090;
/** Routed and recorded by the dialplan. */
const DIALPLAN_DID = '+15551300000';
/** Two-channel recording: run by the router over ARI. */
const ARI_DID = '+15551300001';

let stack: CallflowStack;


describe('fault: Asterisk restarts while the router runs and calls are up', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'astrestart', httpPort: HTTP_PORT });
    await stack.addNumbers([
      { did: DIALPLAN_DID, recordingEnabled: true },
      { did: ARI_DID, recordingEnabled: true, recordingChannels: 'dual' },
    ]);
  }, 120_000);

  useStackHooks(() => stack);

  for (const [kind, did] of [
    ['the dialplan runs', DIALPLAN_DID],
    ['the router runs over ARI', ARI_DID],
  ] as const) {
    it(`a call ${kind}: its record is finished, its recording finished, and the next call routes`, async () => {
      const before = await stack.newestCallId();
      const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 40_000, ...PHONE_PORTS });
      const call = startSipp({ role: 'uac', scenario: 'carrier-call-answered-hangs-up', remote: '127.0.0.1:5060', caller: '+15559876543', dialed: did, holdMs: 20_000, timeoutMs: 40_000, ...CARRIER_PORTS });
      await waitFor(async () => (await listChannels(stack.config)).filter((c) => c.state === 'Up').length >= 2, { timeoutMs: 10_000, intervalMs: 100, message: 'the call to be up' });
      // Two seconds of talk, recorded.
      await new Promise((r) => setTimeout(r, 2000));
      await stack.asterisk.restart();
      // Whatever the parties got as Asterisk went, they are stopped here.
      call.kill();
      dest.kill();
      await Promise.all([call.done, dest.done]);
      await waitFor(() => stack.routerConnected(), { timeoutMs: 20_000, intervalMs: 200, message: 'the router to reconnect to the restarted Asterisk' });

      const record = await stack.finishedCall<CallRecordDto>(before, 20_000);
      expect(record).toMatchObject({ id: before + 1, did, finished: true, disposition: 'answered' });
      expect(record.talkSeconds).toBeGreaterThan(1.5);
      const recordings = await stack.finishedRecordings(record.id, 30_000);
      expect(recordings.map((r) => r.status)).toEqual(['ready']);

      // The next call routes as usual.
      const next = await stack.newestCallId();
      await stack.answeredCall(did, 1_000);
      expect(await stack.finishedCall<CallRecordDto>(next)).toMatchObject({ did, disposition: 'answered', reconciled: false });
    }, 90_000);
  }
});
