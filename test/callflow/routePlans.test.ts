/**
 * Route plans on real Asterisk with several sipp destinations (desks on their own ports, reached
 * as sip: URIs through the outbound trunk): simultaneous and sequential ringing, round-robin,
 * schedules by an injected routing clock, whisper, screening, voicemail, the toll-fraud guard and
 * the per-number cap.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectNoChannelsOrBridges } from './harness/asteriskState.js';
import { analyzeAudio } from './harness/audioAnalysis.js';
import { ADMIN_TOKEN as TOKEN, startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { adminApi } from './harness/routerProcess.js';
import { decodeUdp, isRtp, parsePcap, startRtpCapture } from './harness/rtpCapture.js';
import { describeSipp, receivedInviteUsers, SCENARIO_DIR, startSipp, type SippOptions } from './harness/sipp.js';
import { decodePcmaRtp, writeTonePcap } from './harness/tonePcap.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = '8082';
const API = `http://127.0.0.1:${HTTP_PORT}`;
const CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8871 } as const;
const DESK1 = { localPort: 5081, mediaPort: 6100, controlPort: 8881 } as const;
const DESK2 = { localPort: 5082, mediaPort: 6200, controlPort: 8882 } as const;
const DESK1_URI = 'sip:desk1@127.0.0.1:5081';
const DESK2_URI = 'sip:desk2@127.0.0.1:5082';

interface CallDto {
  id: number;
  did: string;
  finished: boolean;
  answeredAt: string | null;
  disposition: string | null;
  sipCode: number | null;
  routeStep: string | null;
  answeredDestination: string | null;
  destinationsTried: unknown;
  talkSeconds: number | null;
}

let stack: CallflowStack;
let dir: string;
let accountId: number;
let toneCarrier: string;
let deskPressing1: string;
let deskPressing2: string;
const api = adminApi(API, TOKEN);
let nextDid = 15551250000;

function carrier(did: string, o: Partial<SippOptions> = {}) {
  return startSipp({ role: 'uac', scenario: toneCarrier, remote: '127.0.0.1:5060', dialed: did, timeoutMs: 40_000, holdMs: 2000, ...CARRIER, ...o });
}
function desk(ports: { localPort: number; mediaPort: number; controlPort: number }, scenario: string, o: Partial<SippOptions> = {}) {
  return startSipp({ role: 'uas', scenario, timeoutMs: 40_000, ...ports, ...o });
}

const newestCallId = () => stack.newestCallId();
const finishedCall = (previousId: number) => stack.finishedCall<CallDto>(previousId);

/** A plan and a tracking number that uses it; returns the DID. */
async function numberWithPlan(plan: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<string> {
  const created = await api.call<{ id: number }>('POST', '/v1/route-plans', { accountId, timeZone: 'America/New_York', final: { kind: 'reject', sipCode: 480 }, ...plan });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const did = `+${nextDid++}`;
  const n = await api.call('POST', '/v1/tracking-numbers', { accountId, did, destination: '+15550001111', routePlanId: created.body.id, recordingEnabled: false, ...extra });
  expect(n.status, JSON.stringify(n.body)).toBe(201);
  return did;
}

function ring(name: string, strategy: string, targets: string[], ringTimeoutSeconds = 5, weights?: number[]) {
  return { name, strategy, ringTimeoutSeconds, destinations: targets.map((target, i) => ({ target, ...(weights ? { weight: weights[i] } : {}) })) };
}

const restartRouter = (extra: Record<string, string> = {}) => stack.restartRouter(extra);

describe('route plans', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'plans', httpPort: Number(HTTP_PORT) });
    dir = stack.dir;
    const tone = join(dir, 'tone.pcap');
    writeTonePcap(tone, { frequencyHz: 1000, seconds: 15 });
    toneCarrier = join(dir, 'carrier-tone.xml');
    writeFileSync(toneCarrier, readFileSync(join(SCENARIO_DIR, 'carrier-call-answered-hangs-up.xml'), 'utf8').replace('/usr/share/sip-tester/g711a.pcap', tone));
    // A desk that answers, waits (-d: whisper and prompt), presses a digit, then waits for BYE.
    const answers = readFileSync(join(SCENARIO_DIR, 'destination-answers.xml'), 'utf8');
    const pressing = (digit: string) =>
      answers.replace(
        /<nop>\s*<action>\s*<exec play_pcap_audio="\/usr\/share\/sip-tester\/g711a.pcap"\/>\s*<\/action>\s*<\/nop>/,
        `<pause/>\n  <nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_${digit}.pcap"/></action></nop>`,
      );
    deskPressing1 = join(dir, 'desk-presses-1.xml');
    deskPressing2 = join(dir, 'desk-presses-2.xml');
    writeFileSync(deskPressing1, pressing('1'));
    writeFileSync(deskPressing2, pressing('2'));
    expect(readFileSync(deskPressing1, 'utf8')).toContain('dtmf_2833_1.pcap');

    const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    accountId = account.body.id;
  }, 120_000);

  useStackHooks(() => stack);

  it('simultaneous ring: the second desk answers, the first is cancelled', async () => {
    const did = await numberWithPlan({ name: 'both desks', steps: [ring('office', 'simultaneous', [DESK1_URI, DESK2_URI], 10)] });
    const before = await newestCallId();
    const d1 = desk(DESK1, 'destination-rings-no-answer');
    const d2 = desk(DESK2, 'destination-answers');
    const c = carrier(did);
    const [rc, r1, r2] = await Promise.all([c.done, d1.done, d2.done]);
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0); // it saw the CANCEL
    expect(r2.exitCode, describeSipp('desk2', r2)).toBe(0);
    const record = await finishedCall(before);
    expect(record).toMatchObject({ disposition: 'answered', routeStep: 'office', answeredDestination: DESK2_URI });
    expect(JSON.stringify(record.destinationsTried)).toContain('desk1');
  }, 40_000);

  it('sequential: after the first desk rings out, the second answers', async () => {
    const did = await numberWithPlan({ name: 'failover', steps: [ring('office', 'sequential', [DESK1_URI, DESK2_URI], 5)] });
    const before = await newestCallId();
    const started = Date.now();
    const d1 = desk(DESK1, 'destination-rings-no-answer');
    const d2 = desk(DESK2, 'destination-answers');
    const c = carrier(did);
    const [rc, r1, r2] = await Promise.all([c.done, d1.done, d2.done]);
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0);
    expect(r2.exitCode, describeSipp('desk2', r2)).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(5_000);
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered', answeredDestination: DESK2_URI });
  }, 40_000);

  it('round-robin spreads a series of calls over the desks', async () => {
    const did = await numberWithPlan({ name: 'rr', steps: [ring('office', 'round-robin', [DESK1_URI, DESK2_URI], 10, [1, 1])] });
    const d1 = desk(DESK1, 'destination-answers', { calls: 2 });
    const d2 = desk(DESK2, 'destination-answers', { calls: 2 });
    const answeredBy: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const before = await newestCallId();
      const rc = await carrier(did, { holdMs: 500 }).done;
      expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
      answeredBy.push((await finishedCall(before)).answeredDestination ?? '');
      await expectNoChannelsOrBridges(stack.config, 5_000);
    }
    const [r1, r2] = await Promise.all([d1.done, d2.done]);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0);
    expect(r2.exitCode, describeSipp('desk2', r2)).toBe(0);
    expect(answeredBy.filter((t) => t === DESK1_URI)).toHaveLength(2);
    expect(answeredBy.filter((t) => t === DESK2_URI)).toHaveLength(2);
  }, 60_000);

  it('schedule: open hours ring the office, after hours the night desk (injected routing clock)', async () => {
    const schedule = { open: { mon: [['09:00', '17:00']], tue: [['09:00', '17:00']], wed: [['09:00', '17:00']], thu: [['09:00', '17:00']], fri: [['09:00', '17:00']] }, closedDates: ['2026-12-25'], afterHoursStep: 'night' };
    const did = await numberWithPlan({ name: 'hours', schedule, steps: [ring('office', 'sequential', [DESK1_URI]), ring('night', 'sequential', [DESK2_URI])] });
    const cases: Array<[string, string, string]> = [
      ['2026-11-24T15:00:00Z', DESK1_URI, 'office'], // Tuesday 10:00 in New York
      ['2026-11-28T15:00:00Z', DESK2_URI, 'night'], // Saturday
      ['2026-12-25T15:00:00Z', DESK2_URI, 'night'], // a closed date
    ];
    for (const [clock, expected, step] of cases) {
      await restartRouter({ ROUTING_CLOCK_START: clock });
      const before = await newestCallId();
      const ports = expected === DESK1_URI ? DESK1 : DESK2;
      const d = desk(ports, 'destination-answers');
      const rc = await carrier(did, { holdMs: 500 }).done;
      const rd = await d.done;
      expect(rc.exitCode, `${clock}: ${describeSipp('carrier', rc)}`).toBe(0);
      expect(rd.exitCode, `${clock}: ${describeSipp('desk', rd)}`).toBe(0);
      expect(await finishedCall(before)).toMatchObject({ answeredDestination: expected, routeStep: step });
    }
    await restartRouter();
  }, 90_000);

  it('whisper is heard by the answering party only, before the caller is connected', async () => {
    const did = await numberWithPlan({ name: 'whisper', whisper: { sound: 'default', text: 'call from callroute' }, steps: [ring('office', 'sequential', [DESK1_URI], 10)] });
    const before = await newestCallId();
    const capture = await startRtpCapture({ portRange: [6000, 6300] });
    const d = desk(DESK1, 'destination-answers');
    const rc = await carrier(did, { holdMs: 2000 }).done;
    const rd = await d.done;
    const rtp = await capture.stop();
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(rd.exitCode, describeSipp('desk', rd)).toBe(0);
    const udp = parsePcap(readFileSync(rtp.file)).map(decodeUdp).filter((u) => u !== undefined && isRtp(u.payload));
    // The caller starts sending (its tone) once connected; before that the desk hears the whisper.
    const connectedAt = udp.find((u) => u!.srcPort === CARRIER.mediaPort)?.ts ?? Infinity;
    const toDesk = udp.filter((u) => u!.dstPort === DESK1.mediaPort && u!.ts < connectedAt).map((u) => u!.payload);
    const toCaller = udp.filter((u) => u!.dstPort === CARRIER.mediaPort && u!.ts < connectedAt).map((u) => u!.payload);
    const rms = (p: Buffer[]) => {
      const s = decodePcmaRtp(p);
      return Math.sqrt(s.reduce((a, x) => a + x * x, 0) / Math.max(1, s.length)) / 32768;
    };
    expect(toDesk.length, rtp.describe()).toBeGreaterThan(50); // about a second or more of whisper
    expect(rms(toDesk)).toBeGreaterThan(0.01);
    expect(rms(toCaller)).toBeLessThan(0.005);
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered' });
  }, 40_000);

  it('screening: pressing 1 takes the call; another digit moves the plan on', async () => {
    const did = await numberWithPlan({ name: 'screened', screening: true, steps: [ring('office', 'sequential', [DESK1_URI, DESK2_URI], 10)] });
    // Accept: desk1 presses 1 after the prompt.
    let before = await newestCallId();
    let d1 = desk(DESK1, deskPressing1, { holdMs: 3500 });
    let rc = await carrier(did, { holdMs: 2000 }).done;
    let r1 = await d1.done;
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0);
    expect(await finishedCall(before)).toMatchObject({ disposition: 'answered', answeredDestination: DESK1_URI });
    await expectNoChannelsOrBridges(stack.config, 5_000);
    // Decline: desk1 presses 2 and is hung up; desk2 presses 1 and gets the call.
    before = await newestCallId();
    d1 = desk(DESK1, deskPressing2, { holdMs: 3500 });
    const d2 = desk(DESK2, deskPressing1, { holdMs: 3500 });
    rc = await carrier(did, { holdMs: 2000 }).done;
    r1 = await d1.done;
    const r2 = await d2.done;
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0);
    expect(r2.exitCode, describeSipp('desk2', r2)).toBe(0);
    const record = await finishedCall(before);
    expect(record).toMatchObject({ disposition: 'answered', answeredDestination: DESK2_URI });
    expect(JSON.stringify(record.destinationsTried)).toContain('screened-out');
  }, 60_000);

  it('nobody answers: voicemail greets the caller and records the message', async () => {
    const did = await numberWithPlan({ name: 'vm', final: { kind: 'voicemail', greeting: 'default' }, steps: [ring('office', 'sequential', [DESK1_URI], 5)] }, { recordingEnabled: true });
    const before = await newestCallId();
    const d1 = desk(DESK1, 'destination-rings-no-answer');
    // The caller talks (tone) through the greeting and 3 s of message, then hangs up.
    const rc = await carrier(did, { holdMs: 9000 }).done;
    const r1 = await d1.done;
    expect(rc.exitCode, describeSipp('carrier', rc)).toBe(0);
    expect(r1.exitCode, describeSipp('desk1', r1)).toBe(0);
    const record = await finishedCall(before);
    expect(record).toMatchObject({ disposition: 'voicemail', sipCode: 200 });
    let rec: { id: number; status: string; kind?: string; durationSeconds: number | null } | undefined;
    await waitFor(
      async () => {
        rec = (await api.call<{ recordings: Array<NonNullable<typeof rec>> }>('GET', `/v1/calls/${record.id}/recordings`)).body.recordings[0];
        return rec?.status === 'ready';
      },
      { timeoutMs: 20_000, intervalMs: 200, message: 'the voicemail recording to be ready' },
    );
    const res = await fetch(`${API}/v1/recordings/${rec!.id}/audio`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const file = join(dir, 'voicemail.mp3');
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    const audio = await analyzeAudio(file, { frequencyHz: 1000 });
    expect(audio.channels[0]!.toneFraction, audio.describe()).toBeGreaterThan(0.5); // the caller's message
    expect(audio.channels[0]!.durationSeconds).toBeGreaterThan(1.5);
  }, 60_000);

  it('the toll-fraud guard refuses a premium-rate destination when the plan is saved', async () => {
    const res = await api.call<{ error: { code: string; message: string; field?: string } }>('POST', '/v1/route-plans', {
      accountId, name: 'bad', timeZone: 'America/New_York', steps: [ring('office', 'sequential', ['+19005550100'])],
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('+19005550100');
  });

  it('the per-number cap: a second call while one is up gets busy', async () => {
    const did = await numberWithPlan({ name: 'capped', steps: [ring('office', 'sequential', [DESK1_URI], 10)] }, { maxConcurrentCalls: 1 });
    const before = await newestCallId();
    // Two calls from the carrier 300 ms apart: each either talks or takes a 486.
    const answered = readFileSync(toneCarrier, 'utf8');
    const eitherWay = answered
      .replace('<recv response="200" rtd="true" rrs="true"/>', '<recv response="486" optional="true" next="busy"/>\n  <recv response="200" rtd="true" rrs="true"/>')
      .replace(
        '<recv response="200" crlf="true"/>',
        `<recv response="200" crlf="true" next="end"/>
  <label id="busy"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      [last_Via:]
      From: <sip:[caller]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      [last_To:]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <label id="end"/>`,
      );
    const scenario = join(dir, 'carrier-answered-or-busy.xml');
    writeFileSync(scenario, eitherWay);
    const d1 = desk(DESK1, 'destination-answers');
    const calls = await carrier(did, { scenario, holdMs: 3000, calls: 2, extraArgs: ['-r', '1', '-rp', '300'] }).done;
    const rd = await d1.done;
    expect(calls.exitCode, describeSipp('carrier', calls)).toBe(0);
    expect(rd.exitCode, describeSipp('desk1', rd)).toBe(0);
    expect(receivedInviteUsers(rd.messages ?? '')).toHaveLength(1);
    await waitFor(async () => (await newestCallId()) >= before + 2, { timeoutMs: 10_000, intervalMs: 100, message: 'both calls recorded' });
    const rows = (await api.call<{ calls: CallDto[] }>('GET', `/v1/calls?did=${encodeURIComponent(did)}`)).body.calls;
    await waitFor(async () => (await api.call<{ calls: CallDto[] }>('GET', `/v1/calls?did=${encodeURIComponent(did)}`)).body.calls.every((c) => c.finished), { timeoutMs: 10_000, intervalMs: 100, message: 'both finished' });
    expect(rows.map((r) => r.did)).toEqual([did, did]);
    const final = (await api.call<{ calls: CallDto[] }>('GET', `/v1/calls?did=${encodeURIComponent(did)}`)).body.calls.map((c) => [c.disposition, c.sipCode]).sort();
    expect(final).toEqual([['answered', 200], ['busy', 486]]);
  }, 40_000);
});
