/**
 * Recordings through real Asterisk: the carrier (caller) sends a 1 kHz tone, the destination
 * (answering party) speech, so the stored file shows which party is where. Downloads, signed
 * links, account scoping, encryption at rest and a restart during transcoding go through the real
 * router process and its API.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeAudio, analyzeSamples, decodeChannels, longestSilence } from './harness/audioAnalysis.js';
import { listChannels } from './harness/asteriskState.js';
import { ADMIN_TOKEN as TOKEN, startCallflowStack, useStackHooks, type CallflowStack } from './harness/callflowStack.js';
import { adminApi } from './harness/routerProcess.js';
import { parsePcap, decodeUdp, isRtp, startRtpCapture } from './harness/rtpCapture.js';
import { describeSipp, SCENARIO_DIR, startSipp, type SippOptions } from './harness/sipp.js';
import { decodePcmaRtp, writeTonePcap } from './harness/tonePcap.js';
import { waitFor } from './harness/waitFor.js';

const HTTP_PORT = '8081';
const API = `http://127.0.0.1:${HTTP_PORT}`;
const MIXED_DID = '+15551240000';
const DUAL_DID = '+15551240001';
const ANNOUNCED_DID = '+15551240002';
const UNRECORDED_DID = '+15551240003';
const DESTINATION = '+15550001111';
const CARRIER = { localPort: 5070, mediaPort: 6000, controlPort: 8871 } as const;
const PHONE = { localPort: 5080, mediaPort: 6100, controlPort: 8872 } as const;
/** RTP packets the answering party's sipp sends (its g711a.pcap, with its own silence gaps). */
const SPEECH_PACKETS = parsePcap(readFileSync('/usr/share/sip-tester/g711a.pcap')).filter((p) => {
  const udp = decodeUdp(p);
  return udp !== undefined && isRtp(udp.payload);
}).length;
const ENCRYPTION_KEY = Buffer.alloc(32, 7).toString('base64');

interface CallDto {
  id: number;
  dialplanHandOff: boolean;
  did: string;
  finished: boolean;
  answeredAt: string | null;
  talkSeconds: number | null;
  recordingStatus: string;
}
interface RecordingDto {
  id: number;
  status: string;
  statusReason?: string | null;
  durationSeconds: number | null;
  channels: string;
}

let stack: CallflowStack;
let dir: string;
let toneCarrierScenario: string;
const api = adminApi(API, TOKEN);

function carrier(o: Partial<SippOptions> = {}) {
  return startSipp({
    role: 'uac', scenario: toneCarrierScenario, remote: '127.0.0.1:5060', dialed: MIXED_DID, caller: '+15559876543',
    timeoutMs: 30_000, holdMs: 5000, ...CARRIER, ...o,
  });
}
function phone(o: Partial<SippOptions> = {}) {
  return startSipp({ role: 'uas', scenario: 'destination-answers', timeoutMs: 40_000, ...PHONE, ...o });
}

const newestCallId = () => stack.newestCallId();

/** Places one call (tone from the caller, speech from the answering party) and returns its finished record. */
async function recordedCall(did: string, holdMs = 5000, destinationScenario = 'destination-answers'): Promise<CallDto> {
  const before = await newestCallId();
  const dest = phone({ scenario: destinationScenario });
  const call = carrier({ dialed: did, holdMs });
  const [c, d] = await Promise.all([call.done, dest.done]);
  expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
  expect(d.exitCode, describeSipp('destination', d)).toBe(0);
  return stack.finishedCall<CallDto>(before, 10_000);
}

async function readyRecording(callId: number, token = TOKEN): Promise<RecordingDto> {
  const client = adminApi(API, token);
  let rec: RecordingDto | undefined;
  await waitFor(
    async () => {
      const res = await client.call<{ recordings: RecordingDto[] }>('GET', `/v1/calls/${callId}/recordings`);
      rec = res.body.recordings?.[0];
      return rec?.status === 'ready';
    },
    { timeoutMs: 20_000, intervalMs: 200, message: `recording of call ${callId} to be ready (last: ${JSON.stringify(rec)})` },
  );
  return rec as RecordingDto;
}

async function download(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${API}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
}

async function saveAudio(recordingId: number): Promise<string> {
  const res = await download(`/v1/recordings/${recordingId}/audio`);
  expect(res.status).toBe(200);
  const file = join(dir, `rec-${recordingId}.mp3`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

describe('call recordings', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'recording', httpPort: Number(HTTP_PORT) });
    dir = stack.dir;
    const tone = join(dir, 'tone-1khz.pcap');
    writeTonePcap(tone, { frequencyHz: 1000, seconds: 12 });
    toneCarrierScenario = join(dir, 'carrier-call-tone-hangs-up.xml');
    writeFileSync(
      toneCarrierScenario,
      readFileSync(join(SCENARIO_DIR, 'carrier-call-answered-hangs-up.xml'), 'utf8').replace('/usr/share/sip-tester/g711a.pcap', tone),
    );
    const account = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Acme Plumbing' });
    expect(account.status).toBe(201);
    for (const n of [
      { did: MIXED_DID },
      { did: DUAL_DID, recordingChannels: 'dual' },
      { did: ANNOUNCED_DID, announcement: 'default' },
      { did: UNRECORDED_DID, recordingEnabled: false },
    ]) {
      const res = await api.call('POST', '/v1/tracking-numbers', { accountId: account.body.id, destination: DESTINATION, ...n });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  }, 120_000);

  useStackHooks(() => stack);

  it('a recorded call holds both parties, lasts the talk time, and downloads with ranges', async () => {
    const call = await recordedCall(MIXED_DID);
    // Recorded by MixMonitor in the dialplan the router handed the call to.
    expect(call.dialplanHandOff).toBe(true);
    const rec = await readyRecording(call.id);
    const file = await saveAudio(rec.id);
    const audio = await analyzeAudio(file, { frequencyHz: 1000 });
    const [mix] = audio.channels;
    expect(audio.channels, audio.describe()).toHaveLength(1);
    // The caller's tone and the answering party's speech are both in the one file.
    expect(mix!.toneFraction, audio.describe()).toBeGreaterThan(0.5);
    expect(mix!.speechFraction, audio.describe()).toBeGreaterThan(0.2);
    expect(Math.abs(mix!.durationSeconds - (call.talkSeconds ?? 0)), `${audio.describe()} talk ${call.talkSeconds}`).toBeLessThan(0.5);

    const head = await download(`/v1/recordings/${rec.id}/audio`, { range: 'bytes=0-99' });
    expect(head.status).toBe(206);
    expect(head.headers.get('content-type')).toBe('audio/mpeg');
    expect(head.headers.get('content-range')).toMatch(/^bytes 0-99\/\d+$/);
    expect((await head.arrayBuffer()).byteLength).toBe(100);
    const etag = head.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await download(`/v1/recordings/${rec.id}/audio`, { 'if-none-match': etag as string });
    expect(again.status).toBe(304);
  }, 60_000);

  it('early media before the answer is not in the recording: it lasts the talk time', async () => {
    // The destination plays a second of early media (183 with audio), then answers.
    const call = await recordedCall(MIXED_DID, 3000, 'destination-answers-after-early-media');
    expect(call.dialplanHandOff).toBe(true);
    const rec = await readyRecording(call.id);
    const audio = await analyzeAudio(await saveAudio(rec.id), { frequencyHz: 1000 });
    expect(Math.abs(audio.channels[0]!.durationSeconds - (call.talkSeconds ?? 0)), `${audio.describe()} talk ${call.talkSeconds}`).toBeLessThan(0.5);
  }, 60_000);

  it('two-channel recording keeps the parties apart: caller left, answering party right', async () => {
    const call = await recordedCall(DUAL_DID);
    // Two channels need a snoop per leg: the router bridges this call itself.
    expect(call.dialplanHandOff).toBe(false);
    const rec = await readyRecording(call.id);
    const audio = await analyzeAudio(await saveAudio(rec.id), { frequencyHz: 1000 });
    expect(audio.channels, audio.describe()).toHaveLength(2);
    const [left, right] = audio.channels;
    expect(left!.toneFraction, audio.describe()).toBeGreaterThan(0.5);
    expect(left!.speechFraction, audio.describe()).toBeLessThan(0.1);
    expect(right!.speechFraction, audio.describe()).toBeGreaterThan(0.2);
    expect(right!.toneFraction, audio.describe()).toBeLessThan(0.1);
  }, 60_000);

  /**
   * A call held 9 s whose recording is paused for 2.5 s while it is up: the file holds silence of the
   * paused length (±0.3 s, against the span the record lists), the tone before and after it, and the
   * call's own audio kept flowing to the caller throughout.
   */
  async function pausedCall(did: string): Promise<{ call: CallDto & { recordingPauses: Array<{ pausedAt: string; resumedAt: string | null }> }; channels: Float64Array[]; rtpToCaller: number }> {
    const before = await newestCallId();
    const capture = await startRtpCapture({ portRange: [CARRIER.mediaPort, CARRIER.mediaPort] });
    const dest = phone({ scenario: 'destination-answers' });
    const sipps = carrier({ dialed: did, holdMs: 9000 });
    await waitFor(async () => (await listChannels(stack.config)).filter((c) => c.state === 'Up' && !c.name.startsWith('Snoop')).length >= 2, {
      timeoutMs: 10_000,
      intervalMs: 50,
      message: 'the call to be answered',
    });
    let id = 0;
    await waitFor(async () => (id = await newestCallId()) > before, { timeoutMs: 5_000, intervalMs: 50, message: 'the call record' });
    await new Promise((r) => setTimeout(r, 2_000));
    const paused = await api.call<{ paused: boolean }>('POST', `/v1/calls/${id}/recording/pause`);
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body.paused).toBe(true);
    // Asking again changes nothing.
    expect((await api.call('POST', `/v1/calls/${id}/recording/pause`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_500));
    const resumed = await api.call<{ paused: boolean; pauses: unknown[] }>('POST', `/v1/calls/${id}/recording/resume`);
    expect(resumed.status, JSON.stringify(resumed.body)).toBe(200);
    expect(resumed.body.pauses).toHaveLength(1);
    const [c, d] = await Promise.all([sipps.done, dest.done]);
    const rtp = await capture.stop();
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(d.exitCode, describeSipp('destination', d)).toBe(0);
    const call = await stack.finishedCall<CallDto & { recordingPauses: Array<{ pausedAt: string; resumedAt: string | null }> }>(before, 10_000);
    expect(call.id).toBe(id);
    // After the call: no call is in progress to pause.
    expect((await api.call<{ error: { code: string } }>('POST', `/v1/calls/${id}/recording/pause`)).body.error.code).toBe('CR_ERR_CALL_ENDED');
    const rec = await readyRecording(id);
    return { call, channels: await decodeChannels(await saveAudio(rec.id)), rtpToCaller: rtp.packetsTo(CARRIER.mediaPort) };
  }

  function expectPausedSpan(call: { recordingPauses: Array<{ pausedAt: string; resumedAt: string | null }>; talkSeconds: number | null }, x: Float64Array, label: string) {
    const [span] = call.recordingPauses;
    const pausedFor = (Date.parse(span!.resumedAt!) - Date.parse(span!.pausedAt)) / 1000;
    const gap = longestSilence(x);
    const message = `${label}: silence ${gap.seconds.toFixed(2)} s at ${gap.startSeconds.toFixed(2)} s, paused for ${pausedFor.toFixed(2)} s, talk ${call.talkSeconds} s`;
    expect(Math.abs(gap.seconds - pausedFor), message).toBeLessThanOrEqual(0.3);
    // The tone is there before and after the pause: only the paused span went silent.
    const rate = 8000;
    const toneBefore = analyzeSamples(x.subarray(0, Math.floor(gap.startSeconds * rate)));
    const toneAfter = analyzeSamples(x.subarray(Math.ceil((gap.startSeconds + gap.seconds) * rate)));
    expect(toneBefore.toneFraction, message).toBeGreaterThan(0.8);
    expect(toneAfter.toneFraction, message).toBeGreaterThan(0.8);
    expect(Math.abs(x.length / rate - (call.talkSeconds ?? 0)), message).toBeLessThan(0.5);
  }

  it('a pause during a call the dialplan records (MixMonitor, muted through AMI) leaves silence of the paused length; the call audio is untouched', async () => {
    const { call, channels, rtpToCaller } = await pausedCall(MIXED_DID);
    expect(call.dialplanHandOff).toBe(true);
    expect(channels).toHaveLength(1);
    expectPausedSpan(call, channels[0]!, 'mix');
    // Everything the answering party sent reached the caller, the paused span included (it falls within it).
    expect(rtpToCaller).toBeGreaterThanOrEqual(Math.floor(0.95 * SPEECH_PACKETS));
  }, 60_000);

  it('a pause during a call the router records (ARI snoops, both channels muted) leaves silence of the paused length on both', async () => {
    const { call, channels, rtpToCaller } = await pausedCall(DUAL_DID);
    expect(call.dialplanHandOff).toBe(false);
    expect(channels).toHaveLength(2);
    expectPausedSpan(call, channels[0]!, 'caller (left)');
    // The answering party's side: silent at least for the paused span (its speech has gaps of its own).
    const [span] = call.recordingPauses;
    const pausedFor = (Date.parse(span!.resumedAt!) - Date.parse(span!.pausedAt)) / 1000;
    const left = longestSilence(channels[0]!);
    const rightDuringPause = channels[1]!.subarray(Math.ceil(left.startSeconds * 8000), Math.floor((left.startSeconds + left.seconds) * 8000));
    expect(analyzeSamples(rightDuringPause).rmsDbfs).toBeLessThan(-50);
    expect(left.seconds).toBeGreaterThan(pausedFor - 0.3);
    expect(rtpToCaller).toBeGreaterThanOrEqual(Math.floor(0.95 * SPEECH_PACKETS));
  }, 60_000);

  it('the announcement is heard by the caller before connecting, not by the answering party, and is not recorded', async () => {
    const capture = await startRtpCapture({ portRange: [6000, 6200] });
    const call = await recordedCall(ANNOUNCED_DID, 3000);
    const result = await capture.stop();
    const packets = parsePcap(readFileSync(result.file));
    const payloadsTo = (port: number, beforeFirstFrom: number) => {
      // RTP reaching `port` before the party on `beforeFirstFrom` sent its own first packet (was connected).
      const udp = packets.map(decodeUdp).filter((u) => u !== undefined && isRtp(u.payload));
      const connectedAt = udp.find((u) => u!.srcPort === beforeFirstFrom)?.ts ?? Infinity;
      return udp.filter((u) => u!.dstPort === port && u!.ts < connectedAt).map((u) => u!.payload.subarray(12));
    };
    const rms = (samples: Int16Array) => Math.sqrt(samples.reduce((a, s) => a + s * s, 0) / Math.max(1, samples.length)) / 32768;
    // The caller hears at least a second of announcement (early media) before it starts talking.
    const toCaller = payloadsTo(CARRIER.mediaPort, CARRIER.mediaPort);
    expect(toCaller.length, result.describe()).toBeGreaterThan(50);
    expect(rms(decodePcmaRtp(toCaller.map((p) => Buffer.concat([Buffer.alloc(12), p]))))).toBeGreaterThan(0.01);
    // The answering party hears nothing of it: silence (or nothing) until the caller is connected.
    const toPhone = payloadsTo(PHONE.mediaPort, CARRIER.mediaPort);
    expect(rms(decodePcmaRtp(toPhone.map((p) => Buffer.concat([Buffer.alloc(12), p]))))).toBeLessThan(0.005);
    const rec = await readyRecording(call.id);
    expect(Math.abs((rec.durationSeconds ?? 0) - (call.talkSeconds ?? 0))).toBeLessThan(0.5);
  }, 60_000);

  it('no recording for a number with recording off', async () => {
    const call = await recordedCall(UNRECORDED_DID, 1000);
    const res = await api.call<{ recordings: RecordingDto[] }>('GET', `/v1/calls/${call.id}/recordings`);
    expect(res.body.recordings).toEqual([]);
    expect(call.recordingStatus).toBe('none');
  }, 30_000);

  it("another account's token gets 404; signed links work until they expire", async () => {
    const call = await recordedCall(MIXED_DID, 2000);
    const rec = await readyRecording(call.id);
    const other = await api.call<{ id: number }>('POST', '/v1/accounts', { name: 'Other Co' });
    const token = await api.call<{ token: string }>('POST', `/v1/accounts/${other.body.id}/tokens`, { name: 'crm' });
    expect(token.status).toBe(201);
    const stranger = adminApi(API, token.body.token);
    expect((await stranger.call('GET', `/v1/recordings/${rec.id}`)).status).toBe(404);
    expect((await stranger.call('GET', `/v1/calls/${call.id}`)).status).toBe(404);
    const audio = await fetch(`${API}/v1/recordings/${rec.id}/audio`, { headers: { authorization: `Bearer ${token.body.token}` } });
    expect(audio.status).toBe(404);

    const link = await api.call<{ url: string }>('POST', `/v1/recordings/${rec.id}/link`, { ttlSeconds: 2 });
    const url = new URL(link.body.url);
    const ok = await fetch(`${API}${url.pathname}${url.search}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('audio/mpeg');
    url.searchParams.set('sig', `${url.searchParams.get('sig')?.slice(0, -2)}xx`);
    expect((await fetch(`${API}${url.pathname}${url.search}`)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 3100)); // the link's own 2 s lifetime, not a wait for the system
    const late = new URL(link.body.url);
    expect((await fetch(`${API}${late.pathname}${late.search}`)).status).toBe(410);
  }, 60_000);

  it('encrypted at rest: the file on disk is not audio, the download is', async () => {
    await stack.restartRouter({ RECORDING_KEYS: `k1:${ENCRYPTION_KEY}`, RECORDING_ACTIVE_KEY_ID: 'k1' });
    const call = await recordedCall(MIXED_DID, 2000);
    const rec = await readyRecording(call.id);
    const stored = findFiles(join(dir, 'recordings')).filter((f) => f.includes(`rec-${rec.id}.`));
    expect(stored).toHaveLength(1);
    expect(() => execFileSync('ffprobe', ['-v', 'error', stored[0]!], { stdio: 'pipe' })).toThrow();
    const audio = await analyzeAudio(await saveAudio(rec.id), { frequencyHz: 1000 });
    expect(audio.channels[0]!.toneFraction, audio.describe()).toBeGreaterThan(0.5);
  }, 60_000);

  it('a restart during transcoding resumes the job', async () => {
    // An ffmpeg that takes its time, so the router is killed mid-job.
    const slow = join(dir, 'slow-ffmpeg');
    writeFileSync(slow, '#!/bin/sh\nsleep 4\nexec ffmpeg "$@"\n');
    chmodSync(slow, 0o755);
    await stack.restartRouter({ FFMPEG_PATH: slow });
    const call = await recordedCall(MIXED_DID, 2000);
    await waitFor(
      async () => (await api.call<{ recordings: RecordingDto[] }>('GET', `/v1/calls/${call.id}/recordings`)).body.recordings?.[0]?.status === 'processing',
      { timeoutMs: 5_000, intervalMs: 50, message: 'the recording to be processing' },
    );
    await stack.router.stop('SIGKILL');
    await stack.startRouter();
    const rec = await readyRecording(call.id);
    expect(rec.durationSeconds).toBeGreaterThan(1.5);
  }, 60_000);
});

function findFiles(root: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (statSync(p).isDirectory()) out.push(...findFiles(p));
    else out.push(p);
  }
  return out;
}
