/**
 * Fault: a party vanishes in the middle of a call (its phone loses power or network: no BYE, no
 * more RTP). Asterisk's RTP timeout (rendered from RTP_TIMEOUT_SECONDS, short here) hangs the dead
 * leg up, the other party gets a BYE, the record says `endedBy: "media-timeout"`, and the
 * recording is finished. For calls the dialplan runs and calls the router runs over ARI.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_PORTS, PHONE_PORTS, type CallRecordDto, startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { listChannels } from './harness/asteriskState.js';
import { describeSipp, startSipp, type SippOptions } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = 8083;
const RTP_TIMEOUT_SECONDS = 3;
/** Routed and recorded by the dialplan itself. */
const DIALPLAN_DID = '+15551250000';
/** Two-channel recording needs a snoop per leg: the router runs these calls over ARI. */
const ARI_DID = '+15551250001';
const DESTINATION = '+15550001111';
const CARRIER = CARRIER_PORTS;
const PHONE = PHONE_PORTS;

let stack: CallflowStack;

function carrier(o: Partial<SippOptions> & Pick<SippOptions, 'scenario' | 'dialed'>) {
  return startSipp({ role: 'uac', remote: '127.0.0.1:5060', caller: '+15559876543', timeoutMs: 40_000, holdMs: 30_000, ...CARRIER, ...o });
}
function phone(o: Partial<SippOptions> & Pick<SippOptions, 'scenario'>) {
  return startSipp({ role: 'uas', timeoutMs: 40_000, ...PHONE, ...o });
}

async function bothLegsUp(): Promise<void> {
  await waitFor(async () => (await listChannels(stack.config)).filter((c) => c.state === 'Up').length >= 2, {
    timeoutMs: 10_000,
    intervalMs: 100,
    message: 'both legs of the call to be up',
  });
  // Audio flows for a moment first: the timeout is about media that stopped, not media never sent.
  await new Promise((r) => setTimeout(r, 1000));
}

describe('fault: a party vanishes mid-call (RTP timeout)', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'deadcalls', httpPort: HTTP_PORT, env: { RTP_TIMEOUT_SECONDS: String(RTP_TIMEOUT_SECONDS) } });
    const account = await stack.api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    for (const n of [
      { did: DIALPLAN_DID, recordingEnabled: true },
      { did: ARI_DID, recordingEnabled: true, recordingChannels: 'dual' },
    ]) {
      const res = await stack.api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, destination: DESTINATION, ringTimeoutSeconds: 10, ...n });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  }, 120_000);

  useStackHooks(() => stack);

  for (const [kind, did, handedOff] of [
    ['the dialplan', DIALPLAN_DID, true],
    ['the router over ARI', ARI_DID, false],
  ] as const) {
    for (const vanishing of ['caller', 'destination'] as const) {
      const other = vanishing === 'caller' ? 'destination' : 'caller';
      it(`the ${vanishing} vanishes from a call ${kind} runs: the ${other} gets a BYE, the record says media-timeout, the recording is finished`, async () => {
        const before = await stack.newestCallId();
        const dest = phone({ scenario: 'destination-answers' });
        // The party that stays is the one expecting the BYE.
        const call = carrier({ scenario: vanishing === 'caller' ? 'carrier-call-answered-hangs-up' : 'carrier-call-remote-hangs-up', dialed: did });
        await bothLegsUp();
        const vanishedAt = Date.now();
        (vanishing === 'caller' ? call : dest).kill('SIGKILL');
        const stayed = await (vanishing === 'caller' ? dest : call).done;
        expect(stayed.exitCode, describeSipp(other, stayed)).toBe(0);
        expect(Date.now() - vanishedAt).toBeLessThan((RTP_TIMEOUT_SECONDS + 4) * 1000);
        const record = await stack.finishedCall<CallRecordDto>(before);
        // The dialplan reports the caller's channel's cause only: a destination that vanished from a
        // dialplan-run call ends it as 'destination' (learning its cause cost every call's setup, see
        // callroute-direct in extensions.conf).
        const why = handedOff && vanishing === 'destination' ? { endedBy: 'destination' } : { endedBy: 'media-timeout', hangupCause: 44 };
        expect(record).toMatchObject({ disposition: 'answered', ...why, dialplanHandOff: handedOff });
        const recordings = await stack.finishedRecordings(record.id, 20_000);
        expect(recordings.map((r) => r.status)).toEqual(['ready']);
      }, 40_000);
    }
  }
});
