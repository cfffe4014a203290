/**
 * Real calls through the real router on a real Asterisk (sandbox), with sipp as the carrier and
 * as the destination phone, RTP audio both ways. Runs inside a private network namespace
 * (scripts/test.sh), so the fixed ports below cannot collide with anything on the host.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { createSocket } from 'node:dgram';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { startRtpCapture } from './harness/rtpCapture.js';
import { describeSipp, receivedInviteUsers, startSipp, type SippOptions } from './harness/sipp.js';
import { listChannels } from './harness/asteriskState.js';
import { waitFor } from './harness/waitFor.js';

const ANSWERED_DID = '+15551230000';
const NO_ANSWER_DID = '+15551230001';
const DISABLED_DID = '+15551230002';
/** Two-channel recording needs a snoop per leg: the router bridges these calls itself (ARI). */
const BRIDGED_DID = '+15551230003';
/** Added, called, then disabled: through the API, and in the database while the router is down. */
const LATE_DISABLED_DID = '+15551230004';
const AWAY_DISABLED_DID = '+15551230005';
const DESTINATION = '+15550001111';
const CALLER = '+15559876543';
const CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8871 } as const;
const PHONE = { localPort: 5080, mediaPort: 6100, controlPort: 8872 } as const;

interface CallDto {
  id: number;
  did: string;
  callerNumber: string | null;
  disposition: string | null;
  finished: boolean;
  sipCode: number | null;
  endedBy: string | null;
  answeredAt: string | null;
  talkSeconds: number | null;
  ringSeconds: number | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  destination: string | null;
  accountId: number | null;
  reconciled: boolean;
  dialplanHandOff: boolean;
  inboundChannelId: string;
}

let stack: CallflowStack;

function carrier(o: Partial<SippOptions> & Pick<SippOptions, 'scenario'>) {
  return startSipp({ role: 'uac', remote: '127.0.0.1:5060', dialed: ANSWERED_DID, caller: CALLER, timeoutMs: 30_000, ...CARRIER, ...o });
}
function phone(o: Partial<SippOptions> & Pick<SippOptions, 'scenario'>) {
  return startSipp({ role: 'uas', timeoutMs: 40_000, ...PHONE, ...o });
}

/** A carrier call to a destination phone; both sipp must succeed. */
async function callThrough(destination: Partial<SippOptions> & Pick<SippOptions, 'scenario'>, call: Partial<SippOptions> & Pick<SippOptions, 'scenario'>) {
  const dest = phone(destination);
  const [c, d] = await Promise.all([carrier(call).done, dest.done]);
  expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
  expect(d.exitCode, describeSipp('destination', d)).toBe(0);
  return { c, d };
}

const newestCallId = () => stack.newestCallId();
const finishedCall = (previousId: number) => stack.finishedCall<CallDto>(previousId);
const api = { call: <T>(method: string, path: string, body?: unknown) => stack.api.call<T>(method, path, body) };


/** Every Call-ID in a sipp -trace_msg log, first seen first (a carrier's first is its first INVITE's). */
function callIdsIn(messages: string | undefined): string[] {
  return [...new Set([...(messages ?? '').matchAll(/^Call-ID:\s*(\S+)/gim)].map((m) => m[1] as string))];
}

/** The Call-ID of the first message sipp sent (its INVITE). */
function sentCallId(messages: string | undefined): string | undefined {
  return callIdsIn(messages)[0];
}

/** The Call-IDs of the calls refused with 503 in a sipp -trace_msg log (a retransmitted 503 counts once). */
function callIdsRefusedIn(messages: string | undefined): Set<string | undefined> {
  return new Set([...(messages ?? '').matchAll(/^SIP\/2\.0 503[^]*?^Call-ID: (\S+)/gm)].map((m) => m[1]));
}

describe('routing real calls', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'routing', httpPort: 8080 });
    const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    expect(account.status).toBe(201);
    const numbers = [
      { did: ANSWERED_DID, destination: DESTINATION, ringTimeoutSeconds: 10, source: 'google', medium: 'cpc', campaign: 'spring-sale' },
      { did: NO_ANSWER_DID, destination: DESTINATION, ringTimeoutSeconds: 5 },
      { did: DISABLED_DID, destination: DESTINATION, enabled: false },
      { did: BRIDGED_DID, destination: DESTINATION, ringTimeoutSeconds: 10, recordingEnabled: true, recordingChannels: 'dual' },
    ];
    for (const n of numbers) {
      const res = await api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, ...n });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  }, 120_000);

  useStackHooks(() => stack);

  it('answered call: routed to the destination with the caller ID, two-way audio, a full record', async () => {
    const before = await newestCallId();
    const capture = await startRtpCapture({ portRange: [6000, 6200] });
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 3000 });
    const [c, d] = await Promise.all([call.done, dest.done]);
    const rtp = await capture.stop();
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    expect(receivedInviteUsers(d.messages ?? '')).toEqual([DESTINATION]);
    // The caller's number is the caller ID the destination sees.
    expect(d.messages ?? '').toMatch(new RegExp(`From:[^\\n]*sip:\\${CALLER}@`, 'i'));
    // Audio both ways through Asterisk: the caller hears the destination and the other way round.
    expect(rtp.packetsTo(CARRIER.mediaPort), rtp.describe()).toBeGreaterThan(50);
    expect(rtp.packetsTo(PHONE.mediaPort), rtp.describe()).toBeGreaterThan(50);

    const record = await finishedCall(before);
    expect(record).toMatchObject({
      did: ANSWERED_DID,
      callerNumber: CALLER,
      destination: DESTINATION,
      disposition: 'answered',
      sipCode: 200,
      endedBy: 'caller',
      source: 'google',
      medium: 'cpc',
      campaign: 'spring-sale',
      reconciled: false,
      // One destination, nothing to play: decided by the router, dialed by Asterisk's dialplan.
      dialplanHandOff: true,
    });
    expect(record.talkSeconds).toBeGreaterThan(2.5);
    expect(record.talkSeconds).toBeLessThan(5);
    expect(record.ringSeconds).toBeGreaterThanOrEqual(0.2);
    // The carrier INVITE's Call-ID is on the record (the dialplan keeps it, ARI shows it to the router).
    expect((record as { sipCallId?: string }).sipCallId).toBe(sentCallId(c.messages));
    // Routed by Asterisk from the table the router keeps in AstDB: the router heard of it at its end.
    expect(stack.router.logs()).toContain('routed by the dialplan from its table');
  });

  it('national formats: the table finds the number as dialed, and the destination sees the caller in E.164', async () => {
    const before = await newestCallId();
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 500, dialed: ANSWERED_DID.slice(2), caller: CALLER.slice(2) });
    const [c, d] = await Promise.all([call.done, dest.done]);
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    expect(d.messages ?? '').toMatch(new RegExp(`From:[^\\n]*sip:\\${CALLER}@`, 'i'));
    expect(await finishedCall(before)).toMatchObject({ did: ANSWERED_DID, callerNumber: CALLER, disposition: 'answered', dialplanHandOff: true });
  });

  it('destination sends early media before answering: the caller gets it', async () => {
    const before = await newestCallId();
    const { c } = await callThrough({ scenario: 'destination-answers-after-early-media' }, { scenario: 'carrier-call-answered-hangs-up', holdMs: 1000 });
    expect(c.messages ?? '').toMatch(/SIP\/2\.0 183/);
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered' });
  });

  it('destination hangs up first: the caller gets a BYE', async () => {
    const before = await newestCallId();
    await callThrough({ scenario: 'destination-answers-then-hangs-up', holdMs: 1500 }, { scenario: 'carrier-call-remote-hangs-up' });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered', endedBy: 'destination' });
  });

  it('destination busy: the caller gets 486 and the record says busy', async () => {
    const before = await newestCallId();
    await callThrough({ scenario: 'destination-busy' }, { scenario: 'carrier-call-expect-486' });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'busy', sipCode: 486, answeredAt: null });
  });

  it('no answer within the ring timeout: the destination is cancelled, the caller gets 480', async () => {
    const before = await newestCallId();
    const dest = phone({ scenario: 'destination-rings-no-answer' });
    const call = carrier({ scenario: 'carrier-call-expect-480', dialed: NO_ANSWER_DID });
    const started = Date.now();
    const [c, d] = await Promise.all([call.done, dest.done]);
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(4_500);
    const record = await finishedCall(before);
    expect(record).toMatchObject({ disposition: 'no-answer', sipCode: 480 });
    expect(record.ringSeconds).toBeGreaterThan(4.5);
  });

  it('caller hangs up while the destination rings: the destination is cancelled', async () => {
    const before = await newestCallId();
    await callThrough({ scenario: 'destination-rings-no-answer' }, { scenario: 'carrier-call-cancel-while-ringing', holdMs: 1500 });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'caller-abandoned', endedBy: 'caller' });
  });

  it.each([
    ['unknown', '+15557770000'],
    ['disabled', DISABLED_DID],
  ])('%s number: rejected with 404 and nothing is dialed', async (_what, did) => {
    const before = await newestCallId();
    const capture = await startRtpCapture({ portRange: [5080, 5080] });
    const call = carrier({ scenario: 'carrier-call-expect-404', dialed: did });
    const c = await call.done;
    const sipToPhone = await capture.stop();
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(sipToPhone.packetCount, 'no SIP may reach the destination trunk').toBe(0);
    expect(await finishedCall(before)).toMatchObject({ did, disposition: 'rejected', sipCode: 404, sipCallId: sentCallId(c.messages) });
  });

  it('a number disabled after the table routed its calls gets 404 at its next call; so does one disabled while the router was down', async () => {
    const account = (await api.call<{ accounts: Array<{ id: number }> }>('GET', '/v1/accounts')).body.accounts[0]!.id;
    const expect404 = async (did: string) => {
      const before = await newestCallId();
      const c = await carrier({ scenario: 'carrier-call-expect-404', dialed: did }).done;
      expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
      expect(await finishedCall(before)).toMatchObject({ did, disposition: 'rejected', sipCode: 404, sipCallId: sentCallId(c.messages) });
    };
    const routed = async (did: string) => {
      const before = await newestCallId();
      await callThrough({ scenario: 'destination-answers' }, { scenario: 'carrier-call-answered-hangs-up', holdMs: 500, dialed: did });
      expect(await finishedCall(before)).toMatchObject({ did, disposition: 'answered', dialplanHandOff: true });
    };
    for (const did of [LATE_DISABLED_DID, AWAY_DISABLED_DID]) {
      const res = await api.call('POST', '/v1/tracking-numbers', { accountId: account, did, destination: DESTINATION, ringTimeoutSeconds: 10 });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await routed(did);
    }
    expect(stack.router.logs()).toContain('routed by the dialplan from its table');

    const id = (await api.call<{ trackingNumbers: Array<{ id: number; did: string }> }>('GET', '/v1/tracking-numbers')).body.trackingNumbers.find((n) => n.did === LATE_DISABLED_DID)!.id;
    expect((await api.call('PATCH', `/v1/tracking-numbers/${id}`, { enabled: false })).status).toBe(200);
    await expect404(LATE_DISABLED_DID);

    // Changed behind the router's back (another node, a restored backup): the entry it wrote before is stale.
    await stack.router.stop();
    const db = new Database(stack.env.CALLROUTE_DB_PATH!);
    db.prepare('UPDATE tracking_numbers SET enabled = 0 WHERE did = ?').run(AWAY_DISABLED_DID);
    db.close();
    await stack.startRouter();
    await expect404(AWAY_DISABLED_DID);
  }, 60_000);

  it('scanners: a call from an unknown address gets 401, garbage SIP is ignored, nothing is recorded or dialed', async () => {
    const before = await newestCallId();
    const scanner = await startSipp({
      role: 'uac', scenario: 'scanner-call-expect-401', remote: '127.0.0.1:5060', dialed: ANSWERED_DID, caller: CALLER,
      localPort: 5099, mediaPort: 6200, controlPort: 8873, timeoutMs: 10_000,
    }).done;
    expect(scanner.exitCode, describeSipp('scanner', scanner)).toBe(0);
    const socket = createSocket('udp4');
    for (const junk of [randomBytes(600), Buffer.from('OPTIONS sip:x SIP/2.0\r\n\r\n'), Buffer.from('INVITE \u0000\u0001 garbage')]) {
      await new Promise<void>((res) => socket.send(junk, 5060, '127.0.0.1', () => res()));
    }
    socket.close();
    expect(await newestCallId()).toBe(before);
    // Asterisk and the router still take a real call.
    await callThrough({ scenario: 'destination-answers' }, { scenario: 'carrier-call-answered-hangs-up', holdMs: 500 });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered' });
  });

  it.each([
    ['handed to the dialplan', ANSWERED_DID, true],
    ['bridged by the router', BRIDGED_DID, false],
  ])('router crashes while a call is up (%s): the call keeps talking and its record is finished', async (_path, dialed, handedOff) => {
    const before = await newestCallId();
    const capture = await startRtpCapture({ portRange: [6000, 6200] });
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 12000, dialed });
    // Answered: the caller's channel is up in Asterisk and, on a call the router bridges, the router
    // has written the answer. (Killed between Asterisk's answer and that write is the unit test
    // "router dies as the destination answers": that record's answer time is when the restart found
    // the call.) A handed-off call's answer is only known from its end report.
    await waitFor(
      async () => {
        const row = (await api.call<{ calls: CallDto[] }>('GET', '/v1/calls?limit=1')).body.calls[0];
        if (row === undefined || row.id <= before || (!handedOff && row.answeredAt === null)) return false;
        const channels = await listChannels(stack.config);
        return channels.some((c) => c.id === row.inboundChannelId && c.state === 'Up');
      },
      { timeoutMs: 10_000, intervalMs: 100, message: 'the call to be answered' },
    );
    await stack.router.stop('SIGKILL');
    const crashedAt = Date.now();
    await stack.startRouter();
    const [c, d] = await Promise.all([call.done, dest.done]);
    const rtp = await capture.stop();
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    // Audio kept flowing both ways after the crash.
    const after = (port: number) =>
      rtp.flows.filter((f) => f.dstPort === port && f.lastTs * 1000 > crashedAt + 1000).length;
    expect(after(CARRIER.mediaPort), rtp.describe()).toBeGreaterThan(0);
    expect(after(PHONE.mediaPort), rtp.describe()).toBeGreaterThan(0);
    const record = await finishedCall(before);
    expect(record).toMatchObject({ disposition: 'answered', endedBy: 'caller', finished: true, reconciled: false, dialplanHandOff: handedOff });
    expect(record.talkSeconds).toBeGreaterThan(11);
  }, 40_000);

  it('a call the dialplan routed ends while the router is down: its next start writes the exact record from the end report file', async () => {
    const before = await newestCallId();
    const dest = phone({ scenario: 'destination-answers' });
    const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 3000, dialed: ANSWERED_DID });
    await waitFor(async () => (await listChannels(stack.config)).some((c) => c.state === 'Up'), { timeoutMs: 10_000, intervalMs: 100, message: 'the call to be answered' });
    await stack.router.stop('SIGKILL');
    const [c, d] = await Promise.all([call.done, dest.done]);
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    await stack.startRouter();
    const record = await finishedCall(before);
    // Not guessed at by reconciliation: how it ended comes from the hangup handler's report.
    expect(record).toMatchObject({ disposition: 'answered', endedBy: 'caller', finished: true, reconciled: false, dialplanHandOff: true, sipCallId: sentCallId(c.messages) });
    expect(record.talkSeconds).toBeGreaterThan(2.5);
    expect(record.talkSeconds).toBeLessThan(4.5);
  }, 40_000);

  it('MAX_CONCURRENT_CALLS is counted by Asterisk: with a limit of 1, a second call while one is up gets 503 and a rejected record', async () => {
    // The limit travels in the routing gate, so a router restarted with another limit needs no new Asterisk config.
    await stack.restartRouter({ MAX_CONCURRENT_CALLS: '1' });
    try {
      const before = await newestCallId();
      const dest = phone({ scenario: 'destination-answers' });
      const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 2000, calls: 2 });
      const [c, d] = await Promise.all([call.done, dest.done]);
      expect(d.exitCode, describeSipp('destination', d)).toBe(0);
      // sipp does not ACK the 503 it did not expect, so Asterisk may send it again: one call, one or more copies.
      const refusedCallIds = callIdsRefusedIn(c.messages);
      expect(refusedCallIds.size, describeSipp('carrier', c)).toBe(1);
      expect(receivedInviteUsers(d.messages ?? '')).toEqual([DESTINATION]);
      await waitFor(
        async () => {
          const rows = (await api.call<{ calls: CallDto[] }>('GET', '/v1/calls?limit=2')).body.calls.filter((r) => r.id > before);
          return rows.length === 2 && rows.every((r) => r.finished);
        },
        { timeoutMs: 10_000, intervalMs: 200, message: 'both records finished' },
      );
      const rows = (await api.call<{ calls: CallDto[] }>('GET', '/v1/calls?limit=2')).body.calls;
      expect(rows.map((r) => [r.disposition, r.sipCode]).sort()).toEqual([
        ['answered', 200],
        ['rejected', 503],
      ]);
      // The refusal's record, written from its line in the end report file, carries the refused INVITE's Call-ID.
      expect((rows.find((r) => r.sipCode === 503) as { sipCallId?: string } | undefined)?.sipCallId).toBe([...refusedCallIds][0]);
    } finally {
      await stack.restartRouter();
    }
  }, 40_000);

  it('a call refused over the cap and retried by the carrier (same Call-ID, new INVITE) has one record: the retry takes the refusal’s over', async () => {
    await stack.restartRouter({ MAX_CONCURRENT_CALLS: '1' });
    try {
      const before = await newestCallId();
      // Two calls 100 ms apart: the first is answered and held 2 s; the second is refused (503) and,
      // 2.5 s later, retried with its Call-ID, when the first has ended.
      const dest = phone({ scenario: 'destination-answers', calls: 2 });
      const call = carrier({ scenario: 'carrier-call-retried-after-503', holdMs: 2000, calls: 2 });
      const [c, d] = await Promise.all([call.done, dest.done]);
      expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
      expect(d.exitCode, describeSipp('destination', d)).toBe(0);
      const retriedCallIds = callIdsRefusedIn(c.messages);
      expect(retriedCallIds.size, describeSipp('carrier', c)).toBe(1);
      // This run's records, by the Call-IDs sipp sent (ids need not follow arrival order across tests).
      const sent = new Set(callIdsIn(c.messages));
      expect(sent.size).toBe(2);
      let seen = '';
      const settled = waitFor(
        async () => {
          const rows = (await api.call<{ calls: Array<CallDto & { sipCallId: string | null }> }>('GET', '/v1/calls?limit=10')).body.calls.filter(
            (r) => r.id > before || (r.sipCallId !== null && sent.has(r.sipCallId)),
          );
          seen = JSON.stringify(rows.map((r) => [r.id, r.disposition, r.sipCode, r.finished, r.sipCallId]));
          const ours = rows.filter((r) => r.sipCallId !== null && sent.has(r.sipCallId));
          return ours.length === 2 && ours.every((r) => r.finished && r.disposition === 'answered') && rows.every((r) => r.sipCallId === null || !sent.has(r.sipCallId) || ours.includes(r));
        },
        { timeoutMs: 20_000, intervalMs: 200, message: 'one answered record per attempt, and no third' },
      );
      await settled.catch((err: Error) => {
        throw new Error(`${err.message}; records [id, disposition, sipCode, finished, Call-ID]: ${seen}; sent Call-IDs: ${[...sent].join(' ')}`);
      });
      // The refused attempt's record is the retry's: no record of the refusal is left.
      const rows = (await api.call<{ calls: Array<CallDto & { sipCallId: string | null }> }>('GET', '/v1/calls?limit=10')).body.calls;
      expect(rows.filter((r) => r.sipCallId === [...retriedCallIds][0]).map((r) => r.disposition)).toEqual(['answered']);
      expect(rows.filter((r) => r.id > before && r.sipCallId === null)).toEqual([]);
    } finally {
      await stack.restartRouter();
    }
  }, 60_000);

  it('MAX_CALLS_PER_SECOND is counted by Asterisk: with a limit of 1, two more calls in the same second get 503 and rejected records', async () => {
    await stack.restartRouter({ MAX_CALLS_PER_SECOND: '1' });
    try {
      const before = await newestCallId();
      const dest = phone({ scenario: 'destination-answers' });
      // Three calls 10 ms apart, started just after a second begins so that all three fall in it.
      await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
      const call = carrier({ scenario: 'carrier-call-answered-hangs-up', holdMs: 2000, calls: 3, extraArgs: ['-r', '100', '-rp', '1000'] });
      const [c, d] = await Promise.all([call.done, dest.done]);
      expect(d.exitCode, describeSipp('destination', d)).toBe(0);
      const refusedCallIds = callIdsRefusedIn(c.messages);
      expect(refusedCallIds.size, describeSipp('carrier', c)).toBe(2);
      expect(receivedInviteUsers(d.messages ?? '')).toEqual([DESTINATION]);
      const rows = async (): Promise<CallDto[]> => (await api.call<{ calls: CallDto[] }>('GET', '/v1/calls?limit=3')).body.calls.filter((r) => r.id > before);
      await waitFor(async () => (await rows()).length === 3 && (await rows()).every((r) => r.finished), { timeoutMs: 10_000, intervalMs: 200, message: 'three records finished' });
      expect((await rows()).map((r) => [r.disposition, r.sipCode]).sort()).toEqual([
        ['answered', 200],
        ['rejected', 503],
        ['rejected', 503],
      ]);
    } finally {
      await stack.restartRouter();
    }
  }, 40_000);

  it('Asterisk restarts: the router reconnects by itself and routes the next call', async () => {
    await stack.asterisk.restart();
    await stack.router.ready(30_000);
    const before = await newestCallId();
    await callThrough({ scenario: 'destination-answers' }, { scenario: 'carrier-call-answered-hangs-up', holdMs: 1000 });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered' });
  }, 60_000);

  it('router stopped: calls take the dialplan fallback (503), then route again when it is back', async () => {
    await stack.router.stop('SIGTERM');
    const rejected = await carrier({ scenario: 'carrier-call-expect-503' }).done;
    expect(rejected.exitCode, describeSipp('carrier', rejected)).toBe(0);
    await stack.startRouter();
    const before = await newestCallId();
    await callThrough({ scenario: 'destination-answers' }, { scenario: 'carrier-call-answered-hangs-up', holdMs: 500 });
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered' });
  }, 60_000);
});
