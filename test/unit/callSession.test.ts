import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionRegistry } from '../../src/telephony/session/createSessionRegistry.js';
import type { RouteProgram } from '../../src/telephony/session/routeProgram.js';
import type { FakeAri } from './fakes/createFakeAri.js';
import { createSessionTestbed, DESTINATION, until, type SessionTestbed } from './fakes/sessionTestbed.js';

const DID = '+15551230000';
const UNRECORDED_DID = '+15551230010';
const DUAL_DID = '+15551230011';
const ANNOUNCED_DID = '+15551230012';
const RECORDING_NUMBERS = [
  { did: UNRECORDED_DID, recordingEnabled: false },
  { did: DUAL_DID, recordingChannels: 'dual' as const },
  { did: ANNOUNCED_DID, announcement: 'default' as const },
];

describe('CallSession against a stateful fake ARI', () => {
  let tb: SessionTestbed;
  let fake: FakeAri;
  let registry: SessionRegistry;
  let records: SessionTestbed['records'];

  beforeEach(() => {
    tb = createSessionTestbed({
      numbers: [
        { did: DID, ringTimeoutSeconds: 20, source: 'google', medium: 'cpc', campaign: 'spring' },
        { did: '+15551239999', enabled: false },
        ...RECORDING_NUMBERS,
      ],
    });
    ({ fake, records, registry } = tb);
  });

  afterEach(() => {
    tb.close();
    vi.useRealTimers();
  });

  const record = (id = 1) => records.get(id);
  const expectNothingLeft = async () => {
    await until(() => records.listUnfinished().length === 0 && record() !== undefined, 'the call record to be finished');
    expect(registry.activeCalls).toBe(0);
    expect([...fake.channels.keys()]).toEqual([]);
    expect([...fake.bridges.keys()]).toEqual([]);
  };

  it('rings the caller, dials the destination with the caller ID, answers on answer and records the call', async () => {
    const inbound = fake.placeInbound('15551230000', '+15559876543');
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    const create = fake.ops('channels.create')[0]?.args[0] as { endpoint: string; variables: Record<string, string>; appArgs: string };
    expect(create.endpoint).toBe(`PJSIP/${DESTINATION}@destinations`);
    expect(create.variables['CONNECTEDLINE(num)']).toBe('+15559876543');
    expect(create.appArgs).toBe(`dialed,${inbound}`);
    expect([...fake.bridges.values()][0]?.channels.sort()).toEqual([inbound, out].sort());
    expect(fake.ops('channels.answer')).toHaveLength(0); // not before the destination answers

    fake.answer(out!);
    await until(() => fake.ops('channels.answer').length === 1, 'caller answered');
    expect(record()?.answeredAt).not.toBeNull();
    fake.farEndHangsUp(out!, 16);
    await expectNothingLeft();
    const row = record()!;
    expect(row).toMatchObject({ finished: true, disposition: 'answered', sipCode: 200, endedBy: 'destination', source: 'google', medium: 'cpc', campaign: 'spring', destination: DESTINATION, did: DID, callerNumber: '+15559876543', accountId: 1, inboundChannelId: inbound, outboundChannelId: out });
    expect(row.talkSeconds).toBeGreaterThanOrEqual(0);
  });

  it('caller hangs up after answer: the destination is hung up', async () => {
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    fake.answer(out!);
    await until(() => fake.ops('channels.answer').length === 1, 'answer');
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'answered', endedBy: 'caller' });
    expect(fake.ops('channels.hangup').map((c) => c.args[0])).toContain(out);
  });

  for (const party of ['caller', 'destination'] as const) {
    it(`the ${party} vanishes after answer (RTP timeout): the record says media-timeout with cause 44, not the soft hangup's reason`, async () => {
      const inbound = fake.placeInbound(DID);
      await until(() => fake.ops('channels.dial').length === 1, 'dial');
      const [out] = fake.outboundIds();
      fake.answer(out!);
      await until(() => fake.ops('channels.answer').length === 1, 'answer');
      fake.mediaTimesOut(party === 'caller' ? inbound : out!);
      await expectNothingLeft();
      expect(record()).toMatchObject({ disposition: 'answered', endedBy: 'media-timeout', hangupCause: 44 });
    });
  }

  it('destination busy: the caller gets busy (cause 17 → 486)', async () => {
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    fake.farEndHangsUp(fake.outboundIds()[0]!, 17, 'BUSY');
    await expectNothingLeft();
    const hangup = fake.ops('channels.hangup').find((c) => c.args[0] === inbound);
    expect(hangup?.args[1]).toEqual({ reasonCode: 17 });
    expect(record()).toMatchObject({ disposition: 'busy', sipCode: 486, answeredAt: null, talkSeconds: 0 });
  });

  it('no answer within the ring timeout: the destination is cancelled and the caller gets 480', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    expect(fake.ops('channels.dial')[0]?.args[1]).toEqual({ timeout: 20 });
    await vi.advanceTimersByTimeAsync(22_000);
    await expectNothingLeft();
    expect(fake.ops('channels.hangup').find((c) => c.args[0] === inbound)?.args[1]).toEqual({ reasonCode: 19 });
    expect(record()).toMatchObject({ disposition: 'no-answer', sipCode: 480 });
  });

  it("Asterisk's own dial timeout ending the ringing leg counts as no answer", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    await vi.advanceTimersByTimeAsync(20_000);
    fake.farEndHangsUp(fake.outboundIds()[0]!, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'no-answer', sipCode: 480 });
  });

  it('caller hangs up while the destination rings: the destination is cancelled', async () => {
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(fake.ops('channels.hangup').map((c) => c.args[0])).toContain(out);
    expect(record()).toMatchObject({ disposition: 'caller-abandoned', endedBy: 'caller', finished: true });
  });

  it('caller hangs up before the destination leg exists: nothing is dialed or left', async () => {
    const inbound = fake.placeInbound(DID);
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'caller-abandoned', finished: true });
  });

  it.each([
    ['unknown', '+15550009999'],
    ['disabled', '+15551239999'],
    ['garbage', 'abc'],
  ])('%s number: rejected with cause 1 (SIP 404), no dial-out, a record says so', async (_what, exten) => {
    const inbound = fake.placeInbound(exten);
    await expectNothingLeft();
    expect(fake.ops('channels.create')).toHaveLength(0);
    expect(fake.ops('channels.hangup')[0]?.args).toEqual([inbound, { reasonCode: 1 }]);
    expect(record()).toMatchObject({ disposition: 'rejected', sipCode: 404, finished: true, accountId: exten === '+15551239999' ? 1 : null });
  });

  it('a setup request failing hangs up the caller with 503 and leaves nothing', async () => {
    fake.client.bridges.create = async () => {
      throw new Error('boom');
    };
    fake.placeInbound(DID);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'failed', sipCode: 503, finished: true });
  });

  it('router restart while bridged: the call is resumed and its record finished when it ends', async () => {
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    fake.answer(out!);
    await until(() => fake.ops('channels.answer').length === 1 && fake.live.size === 1, 'answer and recording');
    // The router dies: its registry is gone, the call stays up in Asterisk.
    registry = tb.restartRegistry();
    expect(records.listUnfinished()).toHaveLength(1);
    const report = await tb.reconcile();
    expect(report).toMatchObject({ resumed: 1, finished: 0, strayChannels: 0, strayBridges: 0 });
    expect(fake.channels.size).toBe(3); // both legs and the recording's snoop
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'answered', finished: true, endedBy: 'caller' });
  });

  it('router dies as the destination answers, before it writes the answer: the restart keeps the call, records it from then on, flags the record', async () => {
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    tb.registry.close();
    // The destination answers with nobody listening; Asterisk answers the caller itself, since the
    // answer passes through the early-media bridge the caller is already in.
    fake.answer(out!);
    fake.channels.get(inbound)!.state = 'Up';
    expect(record()?.answeredAt).toBeNull();
    registry = tb.restartRegistry();
    const report = await tb.reconcile();
    expect(report).toMatchObject({ resumed: 1, finished: 0, strayChannels: 0, strayBridges: 0 });
    expect(fake.ops('channels.hangup')).toHaveLength(0);
    expect(record()).toMatchObject({ finished: false, outboundChannelId: out });
    expect(record()?.answeredAt).not.toBeNull();
    await until(() => fake.live.size === 1, 'the recording the number asks for');
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'answered', sipCode: 200, finished: true, endedBy: 'caller', reconciled: true });
    expect(tb.store.rows.get(1)).toMatchObject({ callId: 1, status: 'processing' });
  });

  it('reconcile finishes rows whose channels vanished while the router was down', async () => {
    fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    fake.answer(out!);
    await until(() => fake.ops('channels.answer').length === 1, 'answer');
    tb.registry.close();
    fake.channels.clear();
    fake.bridges.clear();
    registry = tb.restartRegistry();
    const report = await tb.reconcile();
    expect(report.finished).toBe(1);
    expect(record()).toMatchObject({ disposition: 'answered', finished: true, reconciled: true });
  });
});

describe('recording and announcement', () => {
  let tb: SessionTestbed;
  let fake: FakeAri;
  let records: SessionTestbed['records'];
  let store: SessionTestbed['store'];
  let stopped: number[];

  beforeEach(() => {
    tb = createSessionTestbed({ numbers: [{ did: DID }, ...RECORDING_NUMBERS] });
    ({ fake, records, store, stopped } = tb);
  });
  afterEach(() => tb.close());

  const answered = async (did: string) => {
    const inbound = fake.placeInbound(did);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const out = fake.outboundIds()[0]!;
    fake.answer(out);
    await until(() => fake.ops('channels.answer').length === 1, 'caller answered');
    return { inbound, out };
  };
  const ended = () => tb.ended();

  it('records a connected call with a snoop (not a bridge recording), stopped before the bridge goes', async () => {
    const { inbound, out } = await answered(DID);
    await until(() => fake.live.size === 1, 'recording');
    expect(fake.ops('channels.snoop')[0]?.args).toEqual([inbound, expect.objectContaining({ spy: 'both', snoopId: 'cr-snoop-1-0' })]);
    expect(fake.ops('channels.record')[0]?.args).toEqual(['cr-snoop-1-0', expect.objectContaining({ name: 'call-1', format: 'wav' })]);
    expect(fake.ops('bridges.record' as string)).toHaveLength(0);
    fake.farEndHangsUp(out, 16);
    await ended();
    const order = fake.calls.map((c) => c.op);
    expect(order.indexOf('recordings.stopLive')).toBeLessThan(order.indexOf('bridges.destroy'));
    expect([...store.rows.values()]).toEqual([expect.objectContaining({ status: 'processing', names: ['call-1'] })]);
    expect(stopped).toEqual([1]);
  });

  it('dual-channel recording snoops each leg (caller, answering party)', async () => {
    const { inbound, out } = await answered(DUAL_DID);
    await until(() => fake.live.size === 2, 'two recordings');
    expect(fake.ops('channels.snoop').map((c) => [c.args[0], (c.args[1] as { spy: string }).spy])).toEqual([
      [inbound, 'in'],
      [out, 'in'],
    ]);
    fake.farEndHangsUp(inbound, 16);
    await ended();
    expect([...store.rows.values()][0]).toMatchObject({ status: 'processing', names: ['call-1-caller', 'call-1-answered'] });
  });

  it('no recording when the number has recording off', async () => {
    const { out } = await answered(UNRECORDED_DID);
    fake.farEndHangsUp(out, 16);
    await ended();
    expect(fake.ops('channels.snoop')).toHaveLength(0);
    expect(store.rows.size).toBe(0);
  });

  it('a recording Asterisk never stored is marked missing, never silently absent', async () => {
    fake.client.channels.record = async () => {
      throw new Error('disk full');
    };
    const { out } = await answered(DID);
    await until(() => store.rows.size === 1, 'recording row');
    fake.farEndHangsUp(out, 16);
    await ended();
    expect([...store.rows.values()][0]).toMatchObject({ status: 'missing' });
    expect(stopped).toEqual([]);
  });

  it('announcement: played to the caller as early media; the caller joins and is answered only after it', async () => {
    fake.holdPlaybacks();
    const inbound = fake.placeInbound(ANNOUNCED_DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    expect(fake.ops('channels.progress')[0]?.args).toEqual([inbound]);
    expect(fake.ops('channels.play')[0]?.args[1]).toMatchObject({ media: 'sound:/var/lib/asterisk/sounds/callroute/recording-announcement' });
    const out = fake.outboundIds()[0]!;
    expect(fake.ops('bridges.addChannel')[0]?.args[1]).toEqual([out]);
    fake.answer(out);
    await new Promise((r) => setTimeout(r, 20));
    expect(fake.ops('channels.answer')).toHaveLength(0);
    expect(fake.ops('channels.snoop')).toHaveLength(0);
    fake.finishPlaybacks();
    await until(() => fake.ops('channels.answer').length === 1, 'caller answered');
    expect(fake.ops('bridges.addChannel')[1]?.args[1]).toEqual([inbound]);
    await until(() => fake.live.size === 1, 'recording after the announcement');
    fake.farEndHangsUp(inbound, 16);
    await ended();
    expect(records.get(1)).toMatchObject({ disposition: 'answered' });
  });

  it('router restart while recording: the resumed call stops and hands on its recording', async () => {
    const { inbound } = await answered(DID);
    await until(() => fake.live.size === 1, 'recording');
    tb.restartRegistry();
    const report = await tb.reconcile();
    expect(report).toMatchObject({ resumed: 1, strayChannels: 0 });
    expect(fake.channels.has('cr-snoop-1-0')).toBe(true);
    fake.farEndHangsUp(inbound, 16);
    await ended();
    expect(stopped).toEqual([1]);
  });
});

describe('route programs in a live session', () => {
  let tb: SessionTestbed;
  let fake: FakeAri;
  let records: SessionTestbed['records'];
  let program: () => RouteProgram;

  const target = (t: string) => ({ target: t, endpoint: `PJSIP/destinations/${t}`, ringTimeoutSeconds: 20 });
  const DESK1 = 'sip:desk1@127.0.0.1:5081';
  const DESK2 = 'sip:desk2@127.0.0.1:5082';

  beforeEach(() => {
    tb = createSessionTestbed({ numbers: [{ did: DID, recordingEnabled: false }], registry: { programFor: () => program() } });
    ({ fake, records } = tb);
  });
  afterEach(() => tb.close());

  const legTo = (t: string) => (fake.ops('channels.create').find((c) => (c.args[0] as { endpoint: string }).endpoint.endsWith(t))?.args[0] as { channelId: string } | undefined)?.channelId;
  const ended = () => tb.ended();

  it('simultaneous: the first to answer wins, the other is cancelled, the record names both', async () => {
    program = () => ({
      next: (h) => (h.length === 0 ? { kind: 'ring', step: 'office', destinations: [target(DESK1), target(DESK2)] } : { kind: 'fail', sipCode: null }),
      whisperMedia: null,
      screening: false,
      callerIdNumber: null,
    });
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 2, 'both desks ringing');
    const desk1 = legTo(DESK1)!;
    const desk2 = legTo(DESK2)!;
    fake.answer(desk2);
    await until(() => fake.ops('channels.answer').length === 1, 'caller answered');
    expect(fake.channels.has(desk1)).toBe(false);
    expect([...fake.bridges.values()][0]?.channels.sort()).toEqual([inbound, desk2].sort());
    fake.farEndHangsUp(inbound, 16);
    await ended();
    const row = records.get(1)!;
    expect(row).toMatchObject({ disposition: 'answered', routeStep: 'office', answeredDestination: DESK2, outboundChannelId: desk2 });
    expect(JSON.parse(row.destinationsTried ?? '[]')).toEqual([
      { step: 'office', target: DESK1, result: 'cancelled' },
      { step: 'office', target: DESK2, result: 'answered' },
    ]);
  });

  it('screening: a desk that does not press 1 is hung up and the next destination takes the call', async () => {
    program = () => ({
      next: (h) => {
        const tried = h.map((a) => a.target);
        const nextTarget = [DESK1, DESK2].find((t) => !tried.includes(t));
        return nextTarget ? { kind: 'ring', step: 'office', destinations: [target(nextTarget)] } : { kind: 'fail', sipCode: null };
      },
      whisperMedia: 'sound:whisper',
      screening: true,
      callerIdNumber: null,
    });
    const inbound = fake.placeInbound(DID);
    await until(() => legTo(DESK1) !== undefined && fake.ops('channels.dial').length === 1, 'desk1 ringing');
    const desk1 = legTo(DESK1)!;
    fake.answer(desk1);
    await until(() => fake.ops('channels.play').length === 2, 'whisper and prompt to desk1');
    expect(fake.ops('channels.play').map((p) => p.args[0])).toEqual([desk1, desk1]);
    fake.pressDigit(desk1, '2');
    await until(() => legTo(DESK2) !== undefined && fake.ops('channels.dial').length === 2, 'desk2 ringing');
    expect(fake.channels.has(desk1)).toBe(false);
    const desk2 = legTo(DESK2)!;
    fake.answer(desk2);
    await until(() => fake.ops('channels.play').length === 4, 'whisper and prompt to desk2');
    expect(fake.ops('channels.answer')).toHaveLength(0); // the caller waits until a desk accepts
    fake.pressDigit(desk2, '1');
    await until(() => fake.ops('channels.answer').length === 1, 'caller connected');
    fake.farEndHangsUp(desk2, 16);
    await ended();
    expect(records.get(1)).toMatchObject({ disposition: 'answered', answeredDestination: DESK2, endedBy: 'destination' });
    expect(JSON.parse(records.get(1)!.destinationsTried ?? '[]')[0]).toMatchObject({ target: DESK1, result: 'screened-out' });
    void inbound;
  });

  it('every destination failed and the plan says voicemail: the caller is greeted and recorded alone', async () => {
    program = () => ({
      next: (h) => (h.length === 0 ? { kind: 'ring', step: 'office', destinations: [target(DESK1)] } : { kind: 'voicemail', step: 'voicemail', greetingMedia: 'sound:greeting' }),
      whisperMedia: null,
      screening: false,
      callerIdNumber: null,
    });
    const inbound = fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'desk ringing');
    fake.farEndHangsUp(legTo(DESK1)!, 17, 'BUSY');
    await until(() => fake.ops('channels.record').length === 1, 'message recording');
    expect(fake.ops('channels.record')[0]?.args).toEqual([inbound, expect.objectContaining({ name: 'vm-1', beep: true })]);
    expect(fake.ops('channels.answer')[0]?.args).toEqual([inbound]);
    fake.farEndHangsUp(inbound, 16);
    await ended();
    expect(records.get(1)).toMatchObject({ disposition: 'voicemail', sipCode: 200 });
  });
});
