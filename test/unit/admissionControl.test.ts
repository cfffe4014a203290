import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loadConfig.js';
import { createAdmissionControl, timeAriRequests } from '../../src/telephony/session/admissionControl.js';
import type { SessionRegistry } from '../../src/telephony/session/createSessionRegistry.js';
import { pino } from 'pino';
import { listTrackingNumbers, routeTableVersion } from '../../src/persistence/trackingNumberRepository.js';
import { createRouteTableSync } from '../../src/telephony/dialplanHook/createRouteTableSync.js';
import { ROUTE_TABLE_GATE } from '../../src/telephony/dialplanHook/routeTable.js';
import { createFakeAri, type FakeAri } from './fakes/createFakeAri.js';
import { createSessionTestbed, until, type SessionTestbed } from './fakes/sessionTestbed.js';

const DID = '+15551230000';

describe('admission decisions', () => {
  const table: Array<{ name: string; max: number; latencyLimit: number; active: number; latencies: number[]; admit: boolean; reason?: string }> = [
    { name: 'no limits', max: 0, latencyLimit: 0, active: 10_000, latencies: Array(20).fill(5_000), admit: true },
    { name: 'below the cap', max: 150, latencyLimit: 0, active: 149, latencies: [], admit: true },
    { name: 'at the cap', max: 150, latencyLimit: 0, active: 150, latencies: [], admit: false, reason: 'max-concurrent-calls' },
    { name: 'slow ARI', max: 0, latencyLimit: 500, active: 3, latencies: Array(20).fill(800), admit: false, reason: 'ari-latency' },
    { name: 'fast ARI', max: 0, latencyLimit: 500, active: 3, latencies: Array(20).fill(8), admit: true },
    { name: 'one slow request in twenty is not p90', max: 0, latencyLimit: 500, active: 3, latencies: [...Array(19).fill(8), 2_000], admit: true },
    { name: 'too few samples say nothing', max: 0, latencyLimit: 500, active: 3, latencies: Array(9).fill(2_000), admit: true },
  ];
  it.each(table)('$name', ({ max, latencyLimit, active, latencies, admit, reason }) => {
    const a = createAdmissionControl({ maxConcurrentCalls: max, maxAriLatencyMs: latencyLimit }, { clock: () => 1_000 });
    for (const l of latencies) a.observe(l);
    const d = a.decide(active);
    expect(d.admit).toBe(admit);
    if (!d.admit) expect(d.reason).toBe(reason);
  });

  it('the latency brake releases once slow samples age out of the window', () => {
    let now = 0;
    const a = createAdmissionControl({ maxConcurrentCalls: 0, maxAriLatencyMs: 500 }, { clock: () => now, windowMs: 5_000 });
    for (let i = 0; i < 20; i += 1) a.observe(900);
    expect(a.decide(1).admit).toBe(false);
    now = 5_001;
    expect(a.decide(1).admit).toBe(true);
    expect(a.recentLatencyP90()).toBeNull();
  });

  it('at most maxCallsPerSecond calls let in within any second; the next second lets more in', () => {
    let now = 10_000;
    const a = createAdmissionControl({ maxConcurrentCalls: 0, maxAriLatencyMs: 0, maxCallsPerSecond: 3 }, { clock: () => now });
    for (let i = 0; i < 3; i += 1) {
      expect(a.decide(i).admit).toBe(true);
      a.admitted();
      now += 100;
    }
    // Refused calls are not admitted(): they do not count.
    expect(a.decide(3)).toEqual({ admit: false, reason: 'max-calls-per-second', detail: 3 });
    expect(a.decide(3).admit).toBe(false);
    // A second after the first admission, its place is free again.
    now = 11_001;
    expect(a.decide(3).admit).toBe(true);
  });

  it('config: limits come from MAX_CONCURRENT_CALLS, MAX_CALLS_PER_SECOND and ADMISSION_ARI_LATENCY_MS, bad values are named', () => {
    const base = { CALLROUTE_ADMIN_TOKEN: 'x'.repeat(32), ARI_PASSWORD: 'secret' };
    expect(loadConfig(base).admission).toEqual({ maxConcurrentCalls: 0, maxCallsPerSecond: 0, maxAriLatencyMs: 500 });
    expect(loadConfig({ ...base, MAX_CONCURRENT_CALLS: '150', MAX_CALLS_PER_SECOND: '20', ADMISSION_ARI_LATENCY_MS: '0' }).admission).toEqual({
      maxConcurrentCalls: 150,
      maxCallsPerSecond: 20,
      maxAriLatencyMs: 0,
    });
    expect(() => loadConfig({ ...base, MAX_CONCURRENT_CALLS: '-1' })).toThrow(/MAX_CONCURRENT_CALLS/);
    expect(() => loadConfig({ ...base, MAX_CALLS_PER_SECOND: 'many' })).toThrow(/MAX_CALLS_PER_SECOND/);
  });
});

describe('timeAriRequests', () => {
  it('reports every request of the timed groups, failures too, and passes the rest through', async () => {
    const fake = createFakeAri();
    const seen: number[] = [];
    let t = 0;
    const timed = timeAriRequests(fake.client, (ms) => seen.push(ms), () => (t += 7));
    await timed.bridges.create({ type: 'mixing', bridgeId: 'b1' });
    await expect(timed.channels.answer('no-such-channel')).rejects.toThrow();
    expect(seen).toEqual([7, 7]);
    expect(timed.app).toBe(fake.client.app);
    expect(fake.ops('bridges.create')).toHaveLength(1);
  });
});

describe('a registry with admission limits', () => {
  let tb: SessionTestbed;
  let fake: FakeAri;
  let registry: SessionRegistry;
  let records: SessionTestbed['records'];

  beforeEach(() => {
    tb = createSessionTestbed({
      numbers: [{ did: DID, recordingEnabled: false, source: 'google' }],
      registry: { admission: { maxConcurrentCalls: 1, maxAriLatencyMs: 0 } },
    });
    ({ fake, registry, records } = tb);
  });
  afterEach(() => tb.close());

  it('a call beyond the cap gets cause 34 (SIP 503) and a finished rejected record; the call already up is untouched', async () => {
    const first = fake.placeInbound(DID, '+15559876543');
    await until(() => fake.ops('channels.dial').length === 1, 'the first call to dial');
    const second = fake.placeInbound(DID, '+15559876544');
    await until(() => fake.ops('channels.hangup').some((c) => c.args[0] === second), 'the second call to be refused');
    expect(fake.ops('channels.hangup').find((c) => c.args[0] === second)?.args[1]).toEqual({ reasonCode: 34 });
    expect(fake.ops('channels.hangup').some((c) => c.args[0] === first)).toBe(false);
    expect(fake.ops('channels.create')).toHaveLength(1);
    const refused = records.get(2);
    expect(refused).toMatchObject({ finished: true, disposition: 'rejected', sipCode: 503, hangupCause: 34, endedBy: 'router', source: 'google', callerNumber: '+15559876544' });
    expect(registry.activeCalls).toBe(1);

    // The first call ends normally; a new call is taken again.
    fake.farEndHangsUp(first, 16);
    await until(() => registry.activeCalls === 0, 'the first call to end');
    fake.placeInbound(DID, '+15559876545');
    await until(() => fake.ops('channels.dial').length === 2, 'the third call to dial');
  });
});

describe('the latency brake with calls routed by the dialplan (no ARI requests of their own)', () => {
  it("is fed by the routing gate's refresh: a slow Asterisk gets calls that ask the router refused with cause 34, while the table keeps routing", async () => {
    const tb = createSessionTestbed({
      numbers: [{ did: DID, recordingEnabled: false }],
      registry: { admission: { maxConcurrentCalls: 0, maxAriLatencyMs: 50 } },
    });
    const sync = createRouteTableSync({
      ari: tb.fake.client,
      version: () => routeTableVersion(tb.db),
      numbers: () => listTrackingNumbers(tb.db),
      policy: { rejectSipCode: 404, outboundEndpoint: 'destinations', defaultCountryCode: '1' },
      logger: pino({ level: 'silent' }),
      maxConcurrentCalls: 0,
      maxCallsPerSecond: 0,
      mayRoute: () => tb.registry.tableMayRoute(),
      observeLatency: (ms) => tb.registry.observeAriLatency(ms),
      intervalMs: 50,
    });
    const channel = (id: string) => ({ id, name: `PJSIP/carrier-${id}`, dialplan: { context: 'from-carrier', exten: DID, priority: 1 }, caller: { number: '+15559876543', name: '' } });
    const gateOpen = () => Number((tb.fake.globals.get(ROUTE_TABLE_GATE) ?? '0').split('~')[0]) > 0;
    try {
      sync.start();
      sync.connected();
      // A responsive Asterisk: the gate opens and a call that asks is routed.
      await until(gateOpen, 'the gate to open');
      expect(tb.registry.routeFromDialplan(channel('1.1'))).toMatch(/~cr~/);
      // Asterisk slows down: every gate refresh takes 100 ms.
      const setVariable = tb.fake.client.asterisk.setVariable.bind(tb.fake.client.asterisk);
      tb.fake.client.asterisk.setVariable = (name, value) => new Promise((r) => setTimeout(() => r(setVariable(name, value)), 100));
      await until(() => tb.registry.routeFromDialplan(channel(`1.${Date.now()}`)) === 'reject~34', 'a call that asks to be refused', 5_000);
      // Calls the table routes are Asterisk's own work, capped by its counts: the gate stays open.
      expect(tb.registry.tableMayRoute()).toBe(true);
      expect(gateOpen()).toBe(true);
    } finally {
      await sync.stop();
      tb.close();
    }
  }, 15_000);
});
