import { afterEach, describe, expect, it } from 'vitest';
import type { RouteDecision } from '../../src/routing/resolveRoute.js';
import { ARRIVAL_WRITE_DELAY_MS, arrivalFromReport, parseDialplanEndReport } from '../../src/telephony/session/DialplanCall.js';
import { dialplanHandOff, handOffFromExtension, handOffRecordingName } from '../../src/telephony/session/dialplanHandOff.js';
import { createSessionTestbed, DESTINATION, until, type SessionTestbed } from './fakes/sessionTestbed.js';

const DID = '+15551230000';
const CALLER = '+15559876543';

function dial(overrides: Partial<Extract<RouteDecision, { kind: 'dial' }>> = {}): RouteDecision {
  return {
    kind: 'dial',
    endpoint: `PJSIP/${DESTINATION}@destinations`,
    destination: DESTINATION,
    ringTimeoutSeconds: 30,
    callerIdNumber: CALLER,
    recording: { channels: 'mixed' },
    announcementMedia: null,
    ...overrides,
  };
}
const call = { channelId: '1763865693.12', callerIdAsSent: CALLER };
const plain = { routePlanId: null, accountId: 7 };

describe('dialplanHandOff (which calls the dialplan finishes, and what it is told)', () => {
  it.each([
    ['recorded, caller ID as received', dial(), call, 'cr~30~r7~+15550001111~', 'cr-1763865693-12'],
    ['not recorded', dial({ recording: null }), call, 'cr~30~n~+15550001111~', null],
    ['caller ID normalised from what the carrier sent', dial(), { ...call, callerIdAsSent: '5559876543' }, 'cr~30~r7~+15550001111~+15559876543', 'cr-1763865693-12'],
    ['a sip: URI destination', dial({ destination: 'sip:desk@127.0.0.1:5081', ringTimeoutSeconds: 12 }), call, 'cr~12~r7~sip:desk@127.0.0.1:5081~', 'cr-1763865693-12'],
  ])('%s', (_name, decision, c, extension, recordingName) => {
    expect(dialplanHandOff(decision, plain, c)).toEqual({ context: 'callroute-direct', extension, recordingName });
  });

  it.each([
    ['a rejection', { kind: 'reject', reason: 'CR_ERR_DID_NOT_FOUND', sipCode: 404, cause: 1 } as RouteDecision, plain],
    ['an announcement to play first', dial({ announcementMedia: 'sound:x' }), plain],
    ['a route plan (whisper, screening, several destinations)', dial(), { routePlanId: 4, accountId: 7 }],
    ['two-channel recording (a snoop per leg)', dial({ recording: { channels: 'dual' } }), plain],
    ['a destination that could break out of Dial()', dial({ destination: 'sip:a@b,30,U(x)' }), plain],
    ['a field separator in the destination', dial({ destination: 'sip:a~b@host' }), plain],
    ['a dash, which Asterisk drops from extensions', dial({ destination: 'sip:front-desk@host' }), plain],
    ['an extension over 79 bytes', dial({ destination: `sip:${'d'.repeat(70)}@host` }), plain],
  ])('stays with the router: %s', (_name, decision, number) => {
    expect(dialplanHandOff(decision, number, call)).toBeNull();
  });

  it('reads an extension back: the hand-off and its destination; anything else is not one', () => {
    expect(handOffFromExtension('cr~30~r7~+15550001111~', '17.3')).toEqual({
      handOff: { context: 'callroute-direct', extension: 'cr~30~r7~+15550001111~', recordingName: 'cr-17-3' },
      destination: '+15550001111',
    });
    expect(handOffFromExtension('cr~12~n~sip:desk@127.0.0.1:5081~+15559876543', '17.4')?.handOff.recordingName).toBeNull();
    expect(handOffFromExtension('stasis', '17.5')).toBeNull();
    expect(handOffFromExtension('cr~30~r~', '17.6')).toBeNull();
  });

  it('works back when a call known only from its end report arrived', () => {
    expect(arrivalFromReport('1800000001.5', { dialedMs: 9000 }, 1_800_000_010_000)).toBe(1_800_000_001_000);
    // Dial() never ran: the second Asterisk created the channel.
    expect(arrivalFromReport('1800000001.5', { dialedMs: null }, 1_800_000_010_000)).toBe(1_800_000_001_000);
    // With Asterisk's systemname (NODE_ID) before it.
    expect(arrivalFromReport('node-7-1800000001.5', { dialedMs: null }, 1_800_000_010_000)).toBe(1_800_000_001_000);
    expect(arrivalFromReport('odd-id', {}, 1_800_000_010_000)).toBe(1_800_000_010_000);
  });

  it('names the recording from the channel id without a dot (ARI would read one as a file extension)', () => {
    expect(handOffRecordingName('1763865693.12')).toBe('cr-1763865693-12');
    expect(handOffRecordingName('node-7-1763865693.12')).toBe('cr-node-7-1763865693-12');
  });
});

describe('calls the dialplan asks about (registry, fake ARI)', () => {
  let tb: SessionTestbed;
  afterEach(() => tb.close());

  function bed(numbers: Parameters<typeof createSessionTestbed>[0]['numbers'] = [{ did: DID, recordingEnabled: true }], registry = {}): SessionTestbed {
    tb = createSessionTestbed({ numbers, registry });
    return tb;
  }
  let seq = 0;
  const channel = (exten = DID, caller = CALLER) => {
    seq += 1;
    return { id: `1763865693.${seq}`, name: CALLER_CHANNEL, dialplan: { context: 'from-carrier', exten, priority: 1 }, caller: { number: caller, name: 'Pat' } };
  };
  const rows = () => tb.db.$client.prepare('SELECT * FROM calls ORDER BY id').all() as Array<Record<string, unknown>>;
  /** Past the moment arrival rows are written (after Asterisk has dialed). */
  const settle = () => new Promise((r) => setTimeout(r, ARRIVAL_WRITE_DELAY_MS + 5));
  const CALLER_CHANNEL = 'PJSIP/carrier-00000001';
  /** A call the router handed to the dialplan, its arrival row written. */
  const handedOff = async () => {
    const ch = channel();
    tb.registry.routeFromDialplan(ch);
    await settle();
    return ch;
  };
  /** `by`: who hung up; Dial() returns (and the dialplan says so) unless the caller hung up during it. */
  const ended = (dialStatus: string, by: 'caller' | 'destination', answeredMs: number | null = null) => ({ dialStatus, dialReturned: by === 'destination', answeredMs, cause: 16 });

  it('answers with the extension at once, writes the record after, and completes it from the end report', async () => {
    bed();
    const ch = channel();
    // A routing table entry: the number's id, its cap (0: none), the extension.
    expect(tb.registry.routeFromDialplan(ch)).toMatch(/^\d+~0~cr~30~r1~\+15550001111~$/);
    // Nothing written yet: the answer goes out first, the row once Asterisk has dialed.
    expect(rows()).toHaveLength(0);
    await new Promise((r) => setImmediate(r));
    expect(rows()).toHaveLength(0);
    await settle();
    expect(rows()[0]).toMatchObject({ dialplan_handoff: 1, destination: DESTINATION, inbound_channel_id: ch.id, caller_name: 'Pat', finished: 0 });
    expect(tb.registry.activeCalls).toBe(1);
    expect(tb.fake.calls).toEqual([]);

    expect(tb.registry.endedInDialplan(ch.id, ended('ANSWER', 'caller', 4200))).toBe(true);
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    const row = rows()[0]!;
    expect(row).toMatchObject({ disposition: 'answered', sip_code: 200, ended_by: 'caller', finished: 1, reconciled: 0 });
    expect(Number(row.talk_seconds)).toBeCloseTo(4.2, 1);
    expect([...tb.store.rows.values()]).toEqual([expect.objectContaining({ names: [handOffRecordingName(ch.id)], status: 'processing' })]);
    expect(tb.stopped).toEqual([1]);
  });

  it('the destination hangs up first: ended by the destination', async () => {
    bed();
    const ch = await handedOff();
    tb.registry.endedInDialplan(ch.id, ended('ANSWER', 'destination', 1000));
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()[0]).toMatchObject({ disposition: 'answered', ended_by: 'destination' });
  });

  it.each([
    ['BUSY', 'busy', 486],
    ['NOANSWER', 'no-answer', 480],
    ['CHANUNAVAIL', 'failed', 503],
    ['CONGESTION', 'failed', 503],
  ])('Dial() says %s: the record says %s (%i); the empty WAV is removed, no recording row', async (dialstatus, disposition, sipCode) => {
    const discarded: string[] = [];
    bed(undefined, { discardRecording: async (name: string) => void discarded.push(name) });
    const ch = await handedOff();
    tb.registry.endedInDialplan(ch.id, ended(dialstatus, 'destination'));
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()[0]).toMatchObject({ disposition, sip_code: sipCode, answered_at: null, ended_by: 'destination' });
    expect(tb.store.rows.size).toBe(0);
    expect(discarded).toEqual([handOffRecordingName(ch.id)]);
  });

  it('an end report before the arrival row is written writes it first', async () => {
    bed();
    const ch = channel();
    tb.registry.routeFromDialplan(ch);
    tb.registry.endedInDialplan(ch.id, ended('BUSY', 'destination'));
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()).toEqual([expect.objectContaining({ disposition: 'busy', finished: 1 })]);
    await settle();
    expect(rows()).toHaveLength(1);
  });

  it('the caller hangs up while it rings: caller-abandoned', async () => {
    bed();
    const ch = await handedOff();
    tb.registry.endedInDialplan(ch.id, ended('CANCEL', 'caller'));
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()[0]).toMatchObject({ disposition: 'caller-abandoned', sip_code: 487, ended_by: 'caller' });
  });

  it.each([
    ['unknown', '+15550000000', 1, 404],
    ['malformed', 'hello', 1, 404],
  ])('an %s number: rejected with a cause for the dialplan and a rejected record, nothing dialed', async (_name, exten, cause, sipCode) => {
    bed();
    expect(tb.registry.routeFromDialplan(channel(exten))).toBe(`reject~${cause}`);
    await settle();
    expect(rows()[0]).toMatchObject({ disposition: 'rejected', sip_code: sipCode, finished: 1, ended_by: 'router', dialplan_handoff: 1 });
    expect(tb.registry.activeCalls).toBe(0);
  });

  it('a disabled number: rejected', async () => {
    bed([{ did: DID, enabled: false }]);
    expect(tb.registry.routeFromDialplan(channel())).toBe('reject~1');
  });

  it.each([
    ['an announcement', { did: DID, announcement: 'default' as const }],
    ['two-channel recording', { did: DID, recordingEnabled: true, recordingChannels: 'dual' as const }],
  ])('a number with %s goes to Stasis: the router bridges it itself', async (_name, number) => {
    bed([number]);
    expect(tb.registry.routeFromDialplan(channel())).toMatch(/^\d+~0~stasis$/);
    await settle();
    expect(rows()).toHaveLength(0);
  });

  it('the answer carries the number\'s cap; a call the dialplan then counts over it is refused as busy, its pending arrival dropped', async () => {
    bed([{ did: DID, maxConcurrentCalls: 1 }]);
    const ch = channel();
    expect(tb.registry.routeFromDialplan(ch)).toMatch(/^\d+~1~cr~/);
    tb.registry.refuseFromDialplan(ch, 'busy');
    await settle();
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ disposition: 'busy', sip_code: 486, inbound_channel_id: ch.id, finished: 1 });
    expect(tb.registry.activeCalls).toBe(0);
  });

  it('a refusal that comes after the arrival row was written (a slow box) finishes that row as refused: one record, finished', async () => {
    bed([{ did: DID, maxConcurrentCalls: 1 }]);
    const ch = channel();
    tb.registry.routeFromDialplan(ch);
    await settle();
    expect(rows()).toHaveLength(1);
    tb.registry.refuseFromDialplan(ch, 'over');
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ disposition: 'rejected', sip_code: 503, finished: 1, ended_by: 'router', inbound_channel_id: ch.id });
    expect(tb.registry.activeCalls).toBe(0);
  });

  it('a call the dialplan counts over MAX_CONCURRENT_CALLS (routed from its table, unknown to the router): 503 and a rejected record', async () => {
    bed();
    tb.registry.refuseFromDialplan(channel(), 'over');
    await settle();
    expect(rows()[0]).toMatchObject({ disposition: 'rejected', sip_code: 503, finished: 1, did: DID });
  });

  it('a refusal line in the end report file writes the refusal\'s record at Asterisk\'s time; read again after a restart, it adds nothing', async () => {
    bed([{ did: DID, maxConcurrentCalls: 1 }]);
    const line = { reason: 'busy' as const, dialed: '5551230000', callerNumber: CALLER, callerName: 'Pat', at: 1763865693125 };
    tb.registry.refusalReported('1763865693.90', line);
    tb.registry.refusalReported('1763865693.91', { ...line, reason: 'over', at: 1763865694000 });
    tb.registry.refusalReported('1763865693.92', { ...line, reason: 'rate', at: 1763865694500 });
    await settle();
    expect(rows()).toMatchObject([
      { inbound_channel_id: '1763865693.90', did: DID, disposition: 'busy', sip_code: 486, finished: 1, arrived_at: 1763865693125, ended_at: 1763865693125 },
      { inbound_channel_id: '1763865693.91', did: DID, disposition: 'rejected', sip_code: 503, finished: 1, ended_at: 1763865694000 },
      // Over MAX_CALLS_PER_SECOND: refused as over capacity too.
      { inbound_channel_id: '1763865693.92', did: DID, disposition: 'rejected', sip_code: 503, finished: 1, ended_at: 1763865694500 },
    ]);
    tb.restartRegistry();
    tb.registry.refusalReported('1763865693.90', line);
    await settle();
    expect(rows()).toHaveLength(3);
  });

  it('a refusal line whose record cannot be written now throws (the tail applies it again, in order), then writes it once', async () => {
    bed([{ did: DID, maxConcurrentCalls: 1 }]);
    const line = { reason: 'busy' as const, dialed: '5551230000', callerNumber: CALLER, callerName: 'Pat', at: 1763865693125 };
    const insertRefused = tb.records.insertRefused;
    tb.records.insertRefused = () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    expect(() => tb.registry.refusalReported('1763865693.95', line)).toThrow('database is locked');
    tb.records.insertRefused = insertRefused;
    tb.registry.refusalReported('1763865693.95', line);
    await settle();
    expect(rows()).toMatchObject([{ inbound_channel_id: '1763865693.95', disposition: 'busy', sip_code: 486, finished: 1 }]);
  });

  it('a refusal line for a call the router answered before a restart finishes that call\'s row: one record', async () => {
    bed([{ did: DID, maxConcurrentCalls: 1 }]);
    const ch = await handedOff();
    tb.restartRegistry();
    tb.registry.refusalReported(ch.id, { reason: 'over', dialed: DID, callerNumber: CALLER, callerName: 'Pat', at: null });
    await settle();
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ inbound_channel_id: ch.id, disposition: 'rejected', sip_code: 503, finished: 1 });
  });

  it('a restart mid-call: reconcile follows the call again and its end report completes the record', async () => {
    bed();
    const ch = await handedOff();
    tb.restartRegistry();
    tb.fake.addDialplanChannel(ch.id);
    expect(await tb.reconcile()).toMatchObject({ resumed: 1, finished: 0, strayChannels: 0 });
    expect(tb.registry.activeCalls).toBe(1);
    tb.fake.stored.add(handOffRecordingName(ch.id));
    tb.fake.channels.delete(ch.id);
    expect(tb.registry.endedInDialplan(ch.id, ended('ANSWER', 'destination', 2000))).toBe(true);
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()[0]).toMatchObject({ disposition: 'answered', ended_by: 'destination', reconciled: 0 });
    expect([...tb.store.rows.values()]).toEqual([expect.objectContaining({ names: [handOffRecordingName(ch.id)], status: 'processing' })]);
  });

  it('a call that ended while the router was down, its report in the end report file: the record is exact', async () => {
    bed();
    const ch = await handedOff();
    tb.restartRegistry();
    tb.fake.stored.add(handOffRecordingName(ch.id));
    tb.fake.channels.delete(ch.id);
    const onFile = parseDialplanEndReport(new URLSearchParams('dialstatus=ANSWER&answered_ms=3000&dial_returned=&cause=16&ended_at=1763865700'));
    // Reconciliation reads the file first; the call is then finished, not guessed at.
    expect(await tb.reconcile(() => tb.registry.endReported(ch.id, onFile))).toMatchObject({ resumed: 0, finished: 0 });
    await until(() => rows()[0]!.finished === 1, 'the record');
    expect(rows()[0]).toMatchObject({ disposition: 'answered', ended_by: 'caller', reconciled: 0, ended_at: 1763865700000, answered_at: 1763865697000 });
    await until(() => tb.stopped.length === 1, 'the recording handed on');
    // The file is read again after the next restart: the finished call takes its report no second time.
    tb.restartRegistry();
    tb.registry.endReported(ch.id, { ...onFile, dialStatus: 'BUSY' });
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ disposition: 'answered' });
  });

  it('an end report whose record cannot be written now (the database away) throws, and applied again completes one record', async () => {
    bed();
    // The database refuses writes to calls while `outage` has a row.
    tb.db.$client.exec(`CREATE TABLE outage (x); INSERT INTO outage VALUES (1);
      CREATE TRIGGER away_update BEFORE UPDATE ON calls WHEN (SELECT count(*) FROM outage) > 0 BEGIN SELECT RAISE(ABORT, 'database away'); END;
      CREATE TRIGGER away_insert BEFORE INSERT ON calls WHEN (SELECT count(*) FROM outage) > 0 BEGIN SELECT RAISE(ABORT, 'database away'); END;`);
    // Its arrival row is not written yet either: the report comes before the delayed write.
    const ch = channel();
    tb.registry.routeFromDialplan(ch);
    expect(() => tb.registry.endedInDialplan(ch.id, ended('ANSWER', 'destination', 2000))).toThrow(/database away/);
    await settle();
    expect(rows()).toHaveLength(0);
    tb.db.$client.exec('DELETE FROM outage');
    expect(tb.registry.endedInDialplan(ch.id, ended('ANSWER', 'destination', 2000))).toBe(true);
    await until(() => tb.registry.activeCalls === 0, 'the call to end');
    expect(rows()).toHaveLength(1);
    expect(rows()[0]).toMatchObject({ inbound_channel_id: ch.id, finished: 1, disposition: 'answered', ended_by: 'destination' });
    // Once written, the same report read again adds nothing.
    tb.registry.endReported(ch.id, ended('BUSY', 'destination'));
    expect(rows()).toHaveLength(1);
  });

  it('an end report that reaches a restarted router before reconciliation still completes the record', async () => {
    bed();
    const ch = await handedOff();
    tb.restartRegistry();
    expect(tb.registry.endedInDialplan(ch.id, ended('BUSY', 'destination'))).toBe(true);
    await until(() => rows()[0]!.finished === 1, 'the record');
    expect(rows()[0]).toMatchObject({ disposition: 'busy' });
    expect(tb.registry.endedInDialplan('no-such-call', ended('BUSY', 'destination'))).toBe(false);
  });

  it('a call that ended with Asterisk, no report kept: reconciled, answered because its recording has audio', async () => {
    bed();
    const ch = await handedOff();
    tb.restartRegistry();
    tb.fake.stored.add(handOffRecordingName(ch.id));
    const report = await tb.reconcile();
    expect(report).toMatchObject({ resumed: 0, finished: 1 });
    expect(rows()[0]).toMatchObject({ reconciled: 1, finished: 1, ended_by: 'system', disposition: 'answered' });
    expect(tb.stopped).toEqual([1]);
  });
});
