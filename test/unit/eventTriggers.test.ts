/**
 * The outbox triggers (migration 0020) against the schema: a call event's snapshot carries every
 * column of calls (a column added later and not to the trigger would vanish from webhooks), call and
 * recording events come in the order of the changes, and calls of no account write none.
 */
import { runOnSqlite } from '../../src/persistence/store.js';
import { eq, getTableColumns } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { eventView } from '../../src/events/eventView.js';
import { createCallRecordRepository, type CallArrival } from '../../src/persistence/callRecordRepository.js';
import { eventsAfter } from '../../src/persistence/eventRepository.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { calls, recordings } from '../../src/persistence/schema.js';

function setup() {
  const db = openDatabase(':memory:');
  db.$client.exec("INSERT INTO accounts (name, created_at, updated_at) VALUES ('a', 1, 1)");
  return { db, records: createCallRecordRepository(db) };
}

const arrival = (over: Partial<CallArrival> = {}): CallArrival => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: 'PAT', source: 'google', medium: 'cpc',
  campaign: null, destination: '+15559870000', arrivedAt: 1_000, inboundChannelId: `c-${Math.random()}`, outboundChannelId: null, bridgeId: null, ...over,
});

describe('event triggers', () => {
  it('snapshot every column of calls', () => {
    const { db, records } = setup();
    records.insertArrival(arrival());
    const [e] = runOnSqlite(db, eventsAfter(0, 10));
    const snapshot = (JSON.parse(e?.payload ?? '{}') as { call: Record<string, unknown> }).call;
    expect(Object.keys(snapshot).sort()).toEqual(Object.keys(getTableColumns(calls)).sort());
  });

  it('write arrived, routed, answered, ended in that order, then the recording ready', () => {
    const { db, records } = setup();
    const id = records.insertArrival(arrival(), { step: 'destination', destinations: ['+15559870000'] });
    records.markAnswered(id, 2_000);
    records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: 2_000, endedAt: 9_000 });
    const rec = db.insert(recordings).values({ callId: id, accountId: 1, status: 'processing', channels: 'mixed', asteriskNames: '[]', startedAt: 2_000 }).returning().get();
    db.update(recordings).set({ status: 'ready', readyAt: 10_000, durationSeconds: 7 }).where(eq(recordings.id, rec.id)).run();
    const views = (runOnSqlite(db, eventsAfter(0, 10))).map(eventView);
    expect(views.map((v) => v.type)).toEqual(['call.arrived', 'call.routed', 'call.answered', 'call.ended', 'recording.ready']);
    expect(views[3]?.data.call).toMatchObject({ id, disposition: 'answered', finished: true, talkSeconds: 7, arrivedAt: '1970-01-01T00:00:01.000Z' });
    expect(views[4]?.data.recording).toMatchObject({ callId: id, status: 'ready', durationSeconds: 7, readyAt: '1970-01-01T00:00:10.000Z' });
    expect(views[1]?.data).toMatchObject({ step: 'destination', destinations: ['+15559870000'] });
  });

  it('write answered before ended when one update sets both (a call the dialplan ran)', () => {
    const { db, records } = setup();
    const id = records.insertArrival(arrival());
    records.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: 2_000, endedAt: 9_000 });
    expect((runOnSqlite(db, eventsAfter(0, 10))).map((e) => e.type)).toEqual(['call.arrived', 'call.answered', 'call.ended']);
  });

  it('write a refused call as arrived and ended, and nothing for a call of no account', () => {
    const { db, records } = setup();
    records.insertRefused(arrival(), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_005 });
    records.insertRefused(arrival({ accountId: null }), { disposition: 'rejected', sipCode: 404, hangupCause: 1, endedAt: 1_005 });
    expect((runOnSqlite(db, eventsAfter(0, 10))).map((e) => [e.type, e.accountId])).toEqual([['call.arrived', 1], ['call.ended', 1]]);
  });

  it('write number.changed and configuration.changed for configuration', () => {
    const { db } = setup();
    db.$client.exec("INSERT INTO tracking_numbers (account_id, did, destination, created_at, updated_at) VALUES (1, '+15551230000', '+15559870000', 1, 1)");
    db.$client.exec("UPDATE tracking_numbers SET enabled = 0");
    db.$client.exec("INSERT INTO number_pools (account_id, name, created_at, updated_at) VALUES (1, 'p', 1, 1)");
    db.$client.exec('UPDATE number_pools SET exhausted_count = exhausted_count + 1');
    const views = (runOnSqlite(db, eventsAfter(0, 10))).map(eventView);
    expect(views.map((v) => [v.type, (v.data as { action?: string }).action])).toEqual([['number.changed', 'created'], ['number.changed', 'updated'], ['configuration.changed', 'created']]);
    expect(views[1]?.data.number).toMatchObject({ did: '+15551230000', enabled: false });
  });
});
