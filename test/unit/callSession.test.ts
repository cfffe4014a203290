import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCallRecordRepository } from '../../src/persistence/callRecordRepository.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { accounts, trackingNumbers } from '../../src/persistence/schema.js';
import { findByDid } from '../../src/persistence/trackingNumberRepository.js';
import { createSessionRegistry, type SessionRegistry } from '../../src/telephony/session/createSessionRegistry.js';
import { reconcileCalls } from '../../src/telephony/session/reconcileCalls.js';
import { createFakeAri, type FakeAri } from './fakes/createFakeAri.js';

const DID = '+15551230000';
const DESTINATION = '+15550001111';

async function until(check: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('CallSession against a stateful fake ARI', () => {
  let db: Db;
  let fake: FakeAri;
  let registry: SessionRegistry;
  let records: ReturnType<typeof createCallRecordRepository>;
  let baseListeners: number;

  function startRegistry(): void {
    registry = createSessionRegistry({
      ari: fake.client,
      records,
      findNumber: (did) => findByDid(db, did),
      policy: { rejectSipCode: 404, outboundEndpoint: 'destinations', defaultCountryCode: '1' },
      logger: pino({ level: 'silent' }),
    });
  }

  beforeEach(() => {
    db = openDatabase(':memory:');
    records = createCallRecordRepository(db);
    const now = Date.now();
    const account = db.insert(accounts).values({ name: 'Acme', createdAt: now, updatedAt: now }).returning().get();
    db.insert(trackingNumbers)
      .values([
        { accountId: account.id, did: DID, destination: DESTINATION, ringTimeoutSeconds: 20, source: 'google', medium: 'cpc', campaign: 'spring', createdAt: now, updatedAt: now },
        { accountId: account.id, did: '+15551239999', destination: DESTINATION, enabled: false, createdAt: now, updatedAt: now },
      ])
      .run();
    fake = createFakeAri();
    baseListeners = fake.client.listenerCount();
    startRegistry();
  });

  afterEach(() => {
    registry.close();
    vi.useRealTimers();
    expect(fake.client.listenerCount()).toBe(baseListeners);
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
    await until(() => fake.ops('channels.answer').length === 1, 'answer');
    // The router dies: its registry is gone, the call stays up in Asterisk.
    registry.close();
    startRegistry();
    expect(records.listUnfinished()).toHaveLength(1);
    const report = await reconcileCalls({ ari: fake.client, records, registry, logger: pino({ level: 'silent' }), connectedAt: Date.now() });
    expect(report).toMatchObject({ resumed: 1, finished: 0, strayChannels: 0, strayBridges: 0 });
    expect(fake.channels.size).toBe(2);
    fake.farEndHangsUp(inbound, 16);
    await expectNothingLeft();
    expect(record()).toMatchObject({ disposition: 'answered', finished: true, endedBy: 'caller' });
  });

  it('reconcile finishes rows whose channels vanished while the router was down', async () => {
    fake.placeInbound(DID);
    await until(() => fake.ops('channels.dial').length === 1, 'dial');
    const [out] = fake.outboundIds();
    fake.answer(out!);
    await until(() => fake.ops('channels.answer').length === 1, 'answer');
    registry.close();
    fake.channels.clear();
    fake.bridges.clear();
    startRegistry();
    const report = await reconcileCalls({ ari: fake.client, records, registry, logger: pino({ level: 'silent' }), connectedAt: Date.now() });
    expect(report.finished).toBe(1);
    expect(record()).toMatchObject({ disposition: 'answered', finished: true, reconciled: true });
  });
});
