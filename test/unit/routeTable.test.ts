import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { normalizeNumber } from '../../src/routing/normalizeNumber.js';
import type { RoutableNumber } from '../../src/routing/resolveRoute.js';
import { trackingNumbers } from '../../src/persistence/schema.js';
import { listTrackingNumbers, routeTableVersion } from '../../src/persistence/trackingNumberRepository.js';
import { createRouteTableSync } from '../../src/telephony/dialplanHook/createRouteTableSync.js';
import {
  applyCallerIdRules,
  callerIdRules,
  dialedForms,
  ROUTE_TABLE_GATE,
  routeTable,
} from '../../src/telephony/dialplanHook/routeTable.js';
import { createDialplanArrivalWatcher } from '../../src/telephony/session/createDialplanArrivalWatcher.js';
import { handOffRecordingName } from '../../src/telephony/session/dialplanHandOff.js';
import { parseDialplanEndReport } from '../../src/telephony/session/DialplanCall.js';
import { createFakeAri } from './fakes/createFakeAri.js';
import { createSessionTestbed, DESTINATION, until, type SessionTestbed } from './fakes/sessionTestbed.js';

const POLICY = { rejectSipCode: 404, outboundEndpoint: 'destinations', defaultCountryCode: '1' };
const DID = '+15551230000';

function number(overrides: Partial<RoutableNumber> = {}): RoutableNumber {
  return {
    id: 7,
    accountId: 1,
    did: DID,
    destination: DESTINATION,
    ringTimeoutSeconds: 30,
    enabled: true,
    source: 'google',
    medium: 'cpc',
    campaign: null,
    recordingEnabled: true,
    recordingChannels: 'mixed',
    announcement: 'none',
    announcementId: null,
    routePlanId: null,
    maxConcurrentCalls: null,
    ...overrides,
  };
}

describe('the routing table the dialplan reads (pure)', () => {
  it('has an entry per dialed form of each enabled number: id, cap, verdict', () => {
    const table = routeTable(
      [
        number(),
        number({ id: 8, did: '+15551230001', maxConcurrentCalls: 3, recordingEnabled: false }),
        number({ id: 9, did: '+15551230002', routePlanId: 2 }),
        number({ id: 10, did: '+15551230003', enabled: false }),
      ],
      POLICY,
    );
    expect(Object.fromEntries(table)).toEqual({
      '+15551230000': '7~0~cr~30~r1~+15550001111~',
      '15551230000': '7~0~cr~30~r1~+15550001111~',
      '5551230000': '7~0~cr~30~r1~+15550001111~',
      '+15551230001': '8~3~cr~30~n~+15550001111~',
      '15551230001': '8~3~cr~30~n~+15550001111~',
      '5551230001': '8~3~cr~30~n~+15550001111~',
      // A route plan: the router runs the call (Stasis) without being asked first.
      '+15551230002': '9~0~stasis',
      '15551230002': '9~0~stasis',
      '5551230002': '9~0~stasis',
      // A disabled number is not in it: its calls ask the router, which rejects them with a record.
    });
  });

  it('carries the do-not-record and restricted callers as q~<account>~<caller> keys, never a dialed form', () => {
    const table = routeTable([number()], POLICY, [
      { accountId: 1, callerNumber: '+15559876543', rule: 'do-not-record' },
      { accountId: 2, callerNumber: '+15559876543', rule: 'restricted' },
      // Not E.164: no dialplan comparison could match it (caller IDs are normalised first).
      { accountId: 1, callerNumber: 'anonymous', rule: 'do-not-record' },
    ]);
    expect(table.get('q~1~+15559876543')).toBe('do-not-record');
    expect(table.get('q~2~+15559876543')).toBe('restricted');
    expect([...table.keys()].filter((k) => k.startsWith('q~'))).toHaveLength(2);
    expect([...table.keys()].filter((k) => !k.startsWith('q~')).every((k) => /^\+?[0-9]/.test(k))).toBe(true);
  });

  it('lists only dialed forms that normalise to the DID', () => {
    expect(dialedForms('+15551234567', '1')).toEqual(['+15551234567', '15551234567', '5551234567']);
    expect(dialedForms('+442071234567', '44')).toEqual(['+442071234567', '442071234567', '02071234567']);
    // A foreign number: only its international forms.
    expect(dialedForms('+442071234567', '1')).toEqual(['+442071234567']);
  });

  it.each(['1', '44', '353'])('caller ID rules give what normalizeNumber gives (country code %s), on random input', (cc) => {
    const rules = callerIdRules(cc);
    const alphabet = '0123456789012345678901234567890123456789+ ()-.aB';
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let handled = 0;
    for (let i = 0; i < 20_000; i += 1) {
      const len = random(17);
      let s = '';
      for (let j = 0; j < len; j += 1) s += alphabet[random(i % 3 === 0 ? alphabet.length : 10)];
      if (i % 5 === 0) s = cc + s;
      if (i % 7 === 0) s = `0${s}`;
      const presented = applyCallerIdRules(rules, s);
      if (presented === null) continue; // the router normalises it
      handled += 1;
      const normalised = normalizeNumber(s, cc);
      // The router presents the normalised number when it differs, else the number as sent.
      expect(presented, JSON.stringify(s)).toBe(normalised ?? s);
    }
    expect(handled).toBeGreaterThan(10_000);
  });

  it('leaves words and E.164 alone, asks the router about separators and international prefixes', () => {
    const rules = callerIdRules('1');
    expect(applyCallerIdRules(rules, '')).toBe('');
    expect(applyCallerIdRules(rules, 'anonymous')).toBe('anonymous');
    expect(applyCallerIdRules(rules, '+15559876543')).toBe('+15559876543');
    expect(applyCallerIdRules(rules, '5559876543')).toBe('+15559876543');
    expect(applyCallerIdRules(rules, '15559876543')).toBe('+15559876543');
    expect(applyCallerIdRules(rules, '(555) 987-6543')).toBeNull();
    expect(applyCallerIdRules(rules, '011442071234567')).toBeNull();
  });
});

describe('keeping the table in step in AstDB (fake ARI)', () => {
  let tb: SessionTestbed;
  afterEach(() => tb.close());

  function syncFor(testbed: SessionTestbed, mayRoute = () => true) {
    return createRouteTableSync({
      ari: testbed.fake.client,
      version: () => routeTableVersion(testbed.db),
      numbers: () => listTrackingNumbers(testbed.db),
      policy: POLICY,
      logger: pino({ level: 'silent' }),
      maxConcurrentCalls: 100,
      maxCallsPerSecond: 20,
      mayRoute,
      now: () => 1_800_000_000_000,
      intervalMs: 10,
    });
  }
  /** The gate's generation (its fourth field). */
  const generationOf = (testbed: SessionTestbed) => (testbed.fake.globals.get(ROUTE_TABLE_GATE) ?? '').split('~')[3] ?? '';
  const GEN = (1_800_000_000_000).toString(36);
  /** The current entries as the dialplan reads them: of the gate's generation, without it. */
  const tableIn = (testbed: SessionTestbed) =>
    Object.fromEntries(
      [...testbed.fake.astdb]
        .filter(([k, v]) => k.startsWith('callroute_route/') && v.split('~')[0] === generationOf(testbed) && v !== '')
        .map(([k, v]) => [k.slice('callroute_route/'.length), v.split('~').slice(1).join('~')]),
    );

  it('writes the whole table on connect in a new generation, then opens the gate naming it: older entries route nothing', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    // Left by an earlier run: the router cannot read AstDB back (ARI evaluates no function it reads).
    tb.fake.astdb.set('callroute_route/+19990000000', 'old~99~0~cr~30~r~+15550009999~');
    const sync = syncFor(tb);
    sync.start();
    sync.connected();
    await until(() => tb.fake.globals.get(ROUTE_TABLE_GATE) === `1800000003~100~20~${GEN}`, 'the gate to open');
    expect(Object.keys(tableIn(tb)).sort()).toEqual(['+15551230000', '15551230000', '5551230000']);
    expect(tb.fake.astdb.get('callroute_route/5551230000')).toBe(`${GEN}~1~0~cr~30~r1~+15550001111~`);
    expect(sync.inStep).toBe(true);
    await sync.stop();
    expect(tb.fake.globals.get(ROUTE_TABLE_GATE)).toBe(`0~100~20~${GEN}`);
  });

  // A change written by another node reaching this node's table: test/integration/routeTableNodes.test.ts (both dialects).

  it('a reconnect writes the whole table again, in the next generation', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    const sync = syncFor(tb);
    sync.connected();
    await sync.sync();
    sync.connected();
    await sync.sync();
    const next = (1_800_000_000_001).toString(36);
    expect(tb.fake.astdb.get('callroute_route/5551230000')?.split('~')[0]).toBe(next);
    expect(generationOf(tb)).toBe(next);
    await sync.stop();
  });

  it('a number disabled through the database leaves the table at the next sync; edits rewrite only that entry', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }, { did: '+15551230001' }] });
    const sync = syncFor(tb);
    sync.connected();
    await sync.sync();
    tb.db.update(trackingNumbers).set({ enabled: false }).where(eq(trackingNumbers.did, DID)).run();
    await sync.sync();
    expect(sync.inStep).toBe(true);
    expect(Object.keys(tableIn(tb)).sort()).toEqual(['+15551230001', '15551230001', '5551230001']);
    // Removed as an empty value (AstDB keys cannot be deleted through ARI).
    expect(tb.fake.astdb.get(`callroute_route/${DID}`)).toBe('');
    tb.fake.calls.length = 0;
    tb.db.update(trackingNumbers).set({ ringTimeoutSeconds: 12 }).where(eq(trackingNumbers.did, '+15551230001')).run();
    await sync.sync();
    expect(tableIn(tb)['5551230001']).toMatch(/~0~cr~12~r1~/);
    const dbWrites = tb.fake.calls.filter((c) => c.op === 'asterisk.setVariable' && String(c.args[0]).startsWith('DB(callroute_route/'));
    expect(dbWrites).toHaveLength(3);
    await sync.stop();
  });

  it('a failed write closes the gate, and the next sync writes the whole table again', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    const sync = syncFor(tb);
    sync.start();
    sync.connected();
    await until(() => tb.fake.globals.get(ROUTE_TABLE_GATE) === `1800000003~100~20~${GEN}`, 'the gate to open');
    tb.db.update(trackingNumbers).set({ ringTimeoutSeconds: 12 }).where(eq(trackingNumbers.did, DID)).run();
    tb.fake.failSetVariable(1);
    await sync.sync();
    expect(tb.fake.globals.get(ROUTE_TABLE_GATE)).toBe(`0~100~20~${GEN}`);
    // Rewritten whole, in the next generation.
    const next = (1_800_000_000_001).toString(36);
    await until(() => sync.inStep && tb.fake.globals.get(ROUTE_TABLE_GATE) === `1800000003~100~20~${next}`, 'the table to be rewritten and the gate to reopen');
    expect(tableIn(tb)['5551230000']).toMatch(/~cr~12~/);
    await sync.stop();
  });

  it('the gate stays shut while the table may not route (admission brake, shutdown)', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    let allowed = false;
    const sync = syncFor(tb, () => allowed);
    sync.start();
    sync.connected();
    await until(() => sync.inStep && tb.fake.calls.some((c) => c.op === 'asterisk.setVariable' && c.args[0] === ROUTE_TABLE_GATE), 'a gate refresh');
    expect(tb.fake.globals.get(ROUTE_TABLE_GATE)).toBe(`0~100~20~${GEN}`);
    allowed = true;
    await until(() => tb.fake.globals.get(ROUTE_TABLE_GATE) === `1800000003~100~20~${GEN}`, 'the gate to open');
    await sync.stop();
  });
});

describe('calls the dialplan routes from its table (registry, fake ARI)', () => {
  let tb: SessionTestbed;
  afterEach(() => tb.close());
  const rows = () => tb.db.$client.prepare('SELECT * FROM calls ORDER BY id').all() as Array<Record<string, unknown>>;
  const tableReport = (id: string, extra: Record<string, string> = {}) => ({
    dialStatus: 'ANSWER',
    answeredMs: 4000,
    dialReturned: false,
    cause: 16,
    dialedMs: 9000,
    endedAt: 1_800_000_010_000,
    route: { numberId: 1, dialed: '5551230000', callerNumber: '+15559876543', callerName: 'Pat', extension: 'cr~30~r~+15550001111~', ...extra },
    id,
  });

  it('a call the router first hears of at its end: the whole record from the report, its recording handed on', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID, source: 'google' }] });
    const { id, ...report } = tableReport('1800000001.5');
    tb.fake.stored.add(handOffRecordingName(id));
    expect(tb.registry.endedInDialplan(id, report)).toBe(true);
    await until(() => tb.stopped.length === 1, 'the recording handed on');
    expect(rows()[0]).toMatchObject({
      did: DID,
      caller_number: '+15559876543',
      caller_name: 'Pat',
      source: 'google',
      destination: DESTINATION,
      disposition: 'answered',
      ended_by: 'caller',
      dialplan_handoff: 1,
      arrived_at: 1_800_000_001_000,
      answered_at: 1_800_000_006_000,
      ended_at: 1_800_000_010_000,
      finished: 1,
    });
  });

  it('a call in progress: seen in Asterisk\'s channel list within a look, then completed by its end report', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    tb.fake.addDialplanChannel('1800000001.6', '5551230000');
    const watcher = createDialplanArrivalWatcher({ ari: tb.fake.client, registry: tb.registry, logger: pino({ level: 'silent' }) });
    await watcher.look();
    expect(rows()[0]).toMatchObject({ did: DID, inbound_channel_id: '1800000001.6', finished: 0, dialplan_handoff: 1, destination: DESTINATION });
    expect(tb.registry.activeCalls).toBe(1);
    // A second look changes nothing.
    await watcher.look();
    expect(rows()).toHaveLength(1);
    const { id, ...report } = tableReport('1800000001.6');
    tb.fake.channels.delete(id);
    expect(tb.registry.endedInDialplan(id, report)).toBe(true);
    await until(() => rows()[0]!.finished === 1, 'the record');
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ disposition: 'answered', ended_by: 'caller' });
  });

  it('a look that comes after the end report writes no second row', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    tb.fake.addDialplanChannel('1800000001.7', '5551230000');
    const { id, ...report } = tableReport('1800000001.7');
    tb.registry.endedInDialplan(id, report);
    const watcher = createDialplanArrivalWatcher({ ari: tb.fake.client, registry: tb.registry, logger: pino({ level: 'silent' }) });
    await watcher.look();
    expect(rows()).toHaveLength(1);
  });

  it('calls that ended while the router was away are recorded from the end report file, once', async () => {
    tb = createSessionTestbed({ numbers: [{ did: DID }] });
    const onFile = parseDialplanEndReport(
      new URLSearchParams(
        'dialstatus=BUSY&answered_ms=&dialed_ms=1200&dial_returned=1&cause=17&number=1&dialed=%2B15551230000&caller=5559876543&caller_name=&route=cr~30~r~%2B15550001111~&ended_at=1800000002',
      ),
    );
    await tb.reconcile(() => tb.registry.endReported('1800000001.8', onFile));
    await until(() => rows()[0]?.finished === 1, 'the record');
    expect(rows()[0]).toMatchObject({ did: DID, caller_number: '+15559876543', disposition: 'busy', ended_at: 1_800_000_002_000, arrived_at: 1_800_000_000_800 });
    // Read again after a restart: no second record.
    tb.restartRegistry();
    tb.registry.endReported('1800000001.8', onFile);
    expect(rows()).toHaveLength(1);
  });
});

describe('the fake ARI of these tests', () => {
  it('keeps AstDB and globals like Asterisk: functions are written, never read (ARI answers "")', async () => {
    const fake = createFakeAri();
    await fake.client.asterisk.setVariable('DB(fam/a)', '1');
    await fake.client.asterisk.setVariable('G', 'x');
    expect(fake.astdb.get('fam/a')).toBe('1');
    expect(await fake.client.asterisk.getVariable('DB(fam/a)')).toBe('');
    expect(await fake.client.asterisk.getVariable('DB_KEYS(fam)')).toBe('');
    expect(await fake.client.asterisk.getVariable('G')).toBe('x');
  });
});
