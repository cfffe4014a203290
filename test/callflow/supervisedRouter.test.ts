/**
 * Fault: the router is killed with -9 while calls are bridged, under the start command's
 * supervisor (scripts/superviseRouter.ts, as `npm start` runs it). The supervisor starts it again
 * and logs why it went; Asterisk is untouched, so the call keeps talking to its end; the record is
 * exact and the recording finished. For a call the dialplan runs and for one the router runs over
 * ARI (a route plan with whisper).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_PORTS, PHONE_PORTS, type CallRecordDto, startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { describeSipp, startSipp } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = 8084;
const CARRIER = CARRIER_PORTS;
const PHONE = PHONE_PORTS;
const DESK = { localPort: 5081, mediaPort: 6200, controlPort: 8873 } as const;
const DESK_URI = 'sip:desk@127.0.0.1:5081';
const DIALPLAN_DID = '+15551260000';
const WHISPER_DID = '+15551260001';
const HOLD_MS = 12_000;


let stack: CallflowStack;


describe('fault: the router killed with -9 under the start command while calls are bridged', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'supervised', httpPort: HTTP_PORT });
    await stack.router.stop();
    await stack.startRouter({}, { supervised: true });
    const account = await stack.api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    const plan = await stack.api.call<{ id: number }>('POST', '/v1/route-plans', {
      accountId: account.body.id,
      name: 'whispered',
      timeZone: 'America/New_York',
      whisper: { sound: 'default', text: 'call from callroute' },
      steps: [{ name: 'desk', strategy: 'sequential', ringTimeoutSeconds: 10, destinations: [{ target: DESK_URI }] }],
      final: { kind: 'reject', sipCode: 480 },
    });
    expect(plan.status, JSON.stringify(plan.body)).toBe(201);
    for (const n of [
      { did: DIALPLAN_DID, destination: '+15550001111' },
      { did: WHISPER_DID, destination: '+15550001111', routePlanId: plan.body.id },
    ]) {
      const res = await stack.api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, recordingEnabled: true, ...n });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  }, 120_000);

  useStackHooks(() => stack);

  for (const [kind, did, answerer, handedOff] of [
    ['the dialplan runs', DIALPLAN_DID, PHONE, true],
    ['the router runs over ARI (route plan, whisper)', WHISPER_DID, DESK, false],
  ] as const) {
    it(`a call ${kind}: the supervisor restarts the router and says why, the call keeps talking, its record is exact and its recording finished`, async () => {
      const before = await stack.newestCallId();
      const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 40_000, ...answerer });
      const call = startSipp({ role: 'uac', scenario: 'carrier-call-answered-hangs-up', remote: '127.0.0.1:5060', caller: '+15559876543', dialed: did, holdMs: HOLD_MS, timeoutMs: 40_000, ...CARRIER });
      let answered: CallRecordDto | undefined;
      await waitFor(
        async () => {
          answered = (await stack.api.call<{ calls: CallRecordDto[] }>('GET', '/v1/calls?limit=1')).body.calls.find((c) => c.id > before);
          return answered?.answeredAt != null;
        },
        { timeoutMs: 15_000, intervalMs: 100, message: 'the call to be answered and bridged' },
      );
      const firstPid = stack.router.supervisedPid();
      expect(firstPid).not.toBeNull();
      process.kill(firstPid as number, 'SIGKILL');
      const killedAt = Date.now();

      // Restarted by the supervisor, with the reason in its log, while the call is still up.
      await waitFor(async () => stack.router.supervisedPid() !== firstPid && (await stack.routerConnected()), {
        timeoutMs: 15_000,
        intervalMs: 100,
        message: 'the supervisor to start the router again',
      });
      expect(Date.now() - killedAt).toBeLessThan(HOLD_MS - 4000);
      expect(stack.router.logs()).toMatch(/"component":"supervisor".*"msg":"router killed by SIGKILL after [\d.]+ s; restarting in [\d.]+ s"/);

      const [c, d] = await Promise.all([call.done, dest.done]);
      expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
      expect(d.exitCode, describeSipp('destination', d)).toBe(0);
      const record = await stack.finishedCall<CallRecordDto>(before);
      expect(record).toMatchObject({ id: answered?.id, disposition: 'answered', endedBy: 'caller', finished: true, dialplanHandOff: handedOff });
      expect(record.talkSeconds).toBeGreaterThan(HOLD_MS / 1000 - 3);
      const recordings = await stack.finishedRecordings(record.id);
      expect(recordings.map((r) => r.status)).toEqual(['ready']);
    }, 60_000);
  }
});
