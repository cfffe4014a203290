/**
 * Faults from the SIP side, through real Asterisk: scanner floods and malformed datagrams while a
 * call is up (the call keeps its audio, nothing is dialed, no record is written for them), a
 * carrier flood to numbers that do not exist (all refused, nothing dialed), and a caller whose 200 OK
 * is never ACKed (Asterisk gives up on it, the destination gets a BYE, the record is finished).
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CARRIER_PORTS, PHONE_PORTS, type CallRecordDto, startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { listChannels } from './harness/asteriskState.js';
import { startRtpCapture } from './harness/rtpCapture.js';
import { describeSipp, receivedInviteFinalCodes, receivedInviteUsers, SCENARIO_DIR, startSipp } from './harness/sipp.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = 8085;
const DID = '+15551270000';
const UNKNOWN_DID = '+15559990000';
const DESTINATION = '+15550001111';
const CARRIER = CARRIER_PORTS;
const PHONE = PHONE_PORTS;


let stack: CallflowStack;

function bound(address: string): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, address, () => resolve(socket)));
}

function send(socket: Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve) => socket.send(data, 5060, '127.0.0.1', () => resolve()));
}

/** An INVITE a scanner sends: random number, no dialog, from wherever it is. */
function scannerInvite(i: number, from: string, port: number): string {
  const number = `+1${String(2_000_000_000 + i * 7919).slice(0, 10)}`;
  return [
    `INVITE sip:${number}@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/UDP ${from}:${port};branch=z9hG4bK-scan-${i}`,
    `From: <sip:100@${from}>;tag=s${i}`,
    `To: <sip:${number}@127.0.0.1>`,
    `Call-ID: scan-${i}@${from}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:100@${from}:${port}>`,
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

describe('SIP faults: floods, garbage, a 200 OK never ACKed', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'sipfaults', httpPort: HTTP_PORT });
    const account = await stack.api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    const res = await stack.api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, did: DID, destination: DESTINATION, recordingEnabled: true });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  }, 120_000);

  useStackHooks(() => stack);

  it('1000 INVITEs from unknown addresses and 4000 malformed datagrams while a call is up: the call keeps its audio and its exact record, nothing else is dialed or recorded', async () => {
    const before = await stack.newestCallId();
    const capture = await startRtpCapture({ portRange: [6000, 6200] });
    const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 40_000, ...PHONE });
    const call = startSipp({ role: 'uac', scenario: 'carrier-call-answered-hangs-up', remote: '127.0.0.1:5060', caller: '+15559876543', dialed: DID, holdMs: 10_000, timeoutMs: 40_000, ...CARRIER });
    await waitFor(async () => (await listChannels(stack.config)).filter((c) => c.state === 'Up').length >= 2, { timeoutMs: 10_000, intervalMs: 100, message: 'the call to be up' });

    const floodStarted = Date.now();
    const scanner = await bound('127.0.0.2');
    const junk = await bound('127.0.0.3');
    for (let i = 0; i < 1000; i++) {
      await send(scanner, scannerInvite(i, '127.0.0.2', scanner.address().port));
      for (let j = 0; j < 4; j++) await send(junk, j % 2 === 0 ? randomBytes(200 + ((i * 37) % 1200)) : `INVITE sip:${i}@x SIP/2.0\r\nVia: \u0000\r\n\r\n`);
    }
    const floodMs = Date.now() - floodStarted;
    scanner.close();
    junk.close();

    const [c, d] = await Promise.all([call.done, dest.done]);
    const rtp = await capture.stop();
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    // Audio both ways after the flood.
    const after = (port: number) => rtp.flows.filter((f) => f.dstPort === port && f.lastTs * 1000 > floodStarted + floodMs + 500).length;
    expect(after(CARRIER.mediaPort), rtp.describe()).toBeGreaterThan(0);
    expect(after(PHONE.mediaPort), rtp.describe()).toBeGreaterThan(0);
    expect(receivedInviteUsers(d.messages ?? '')).toEqual([DESTINATION]);
    const record = await stack.finishedCall<CallRecordDto>(before);
    expect(record).toMatchObject({ did: DID, disposition: 'answered', endedBy: 'caller' });
    expect(record.talkSeconds).toBeGreaterThan(8);
    // The one call, and no record for the scanners.
    expect(record.id).toBe(before + 1);
    expect((await stack.finishedRecordings(record.id)).map((r) => r.status)).toEqual(['ready']);
  }, 60_000);

  it('1000 INVITEs from the carrier to a number that does not exist: every one refused with 404, nothing dialed', async () => {
    const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 15_000, ...PHONE });
    const flood = await startSipp({
      role: 'uac',
      scenario: 'carrier-call-expect-404',
      remote: '127.0.0.1:5060',
      caller: '+15559876543',
      dialed: UNKNOWN_DID,
      calls: 1000,
      timeoutMs: 60_000,
      extraArgs: ['-r', '200', '-l', '200'],
      ...CARRIER,
    }).done;
    expect(flood.exitCode, describeSipp('carrier', flood)).toBe(0);
    const codes = receivedInviteFinalCodes(flood.messages ?? '');
    expect(codes.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(codes)).toEqual(new Set([404]));
    dest.kill();
    const d = await dest.done;
    expect(receivedInviteUsers(d.messages ?? '')).toEqual([]);
  }, 90_000);

  it('secrets: after calls, failed sign-ins and a customer token in use, the router log (debug) holds none of them', async () => {
    const guessed = 'Bearer guessed-token-0123456789abcdef';
    expect((await fetch(`${stack.baseUrl}/v1/calls`, { headers: { authorization: guessed } })).status).toBe(401);
    const created = await stack.api.call<{ token: string }>('POST', '/v1/accounts/1/tokens', { name: 'crm' });
    const customer = created.body.token;
    expect((await fetch(`${stack.baseUrl}/v1/calls`, { headers: { authorization: `Bearer ${customer}` } })).status).toBe(200);
    await stack.answeredCall(DID, 500);
    const logs = stack.router.logs();
    expect(logs).toContain('"msg":"call ended"');
    for (const secret of [guessed.slice(7), customer, stack.config.adminToken, stack.config.ari.password]) {
      expect(logs.includes(secret), `the router log holds ${secret.slice(0, 8)}…`).toBe(false);
    }
  }, 30_000);

  it('the caller never ACKs the 200 OK: Asterisk gives up on the call, the destination gets a BYE, the record is finished', async () => {
    const before = await stack.newestCallId();
    const dir = mkdtempSync(join(tmpdir(), 'callroute-noack-'));
    // The answered-call scenario with its ACK taken out: 200 OK comes, nothing is sent back.
    const scenario = readFileSync(join(SCENARIO_DIR, 'carrier-call-answered-hangs-up.xml'), 'utf8');
    const noAck = scenario.replace(/<recv response="200"[^>]*\/>[\s\S]*$/, '<recv response="200" rrs="true"/>\n  <pause milliseconds="40000"/>\n</scenario>\n');
    const file = join(dir, 'carrier-never-acks.xml');
    writeFileSync(file, noAck);
    const dest = startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 60_000, ...PHONE });
    // No default behaviours: sipp neither ACKs nor sends a BYE when the 200 OK is retransmitted.
    const call = startSipp({ role: 'uac', scenario: file, remote: '127.0.0.1:5060', caller: '+15559876543', dialed: DID, timeoutMs: 60_000, extraArgs: ['-default_behaviors', 'none'], ...CARRIER });
    const started = Date.now();
    const d = await dest.done;
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    // pjsip's timer H: 64 × T1 (500 ms) without the ACK.
    expect(Date.now() - started).toBeLessThan(40_000);
    call.kill();
    await call.done;
    const record = await stack.finishedCall<CallRecordDto>(before, 10_000);
    expect(record.finished).toBe(true);
    expect(record.did).toBe(DID);
  }, 70_000);
});
