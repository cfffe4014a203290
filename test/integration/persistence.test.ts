import { runOnSqlite } from '../../src/persistence/store.js';
import { and, desc, eq, lt } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/persistence/accountRepository.js';
import { decodeCallCursor, encodeCallCursor, listCalls } from '../../src/persistence/callQueries.js';
import { createCallRecordRepository, type CallArrival } from '../../src/persistence/callRecordRepository.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { calls, trackingNumbers } from '../../src/persistence/schema.js';
import {
  createTrackingNumber,
  findByDid,
  updateTrackingNumber,
} from '../../src/persistence/trackingNumberRepository.js';
import { CallrouteError } from '../../src/errors.js';

let db: Db;
beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => {
  db.$client.close();
});

function plan(query: { toSQL(): { sql: string; params: unknown[] } }): string {
  const { sql, params } = query.toSQL();
  const rows = db.$client.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join('\n');
}

describe('trackingNumberRepository', () => {
  it('findByDid probes the unique did index (no scan) and works across databases', () => {
    const detail = plan(db.select().from(trackingNumbers).where(eq(trackingNumbers.did, '+15551234567')).limit(1));
    expect(detail).toMatch(/USING INDEX tracking_numbers_did_unique/);
    expect(detail).not.toMatch(/SCAN/);

    const account = runOnSqlite(db, createAccount({ name: 'A' }));
    const row = runOnSqlite(db, createTrackingNumber({ accountId: account.id, did: '+15551234567', destination: '+15559876543' }));
    expect(findByDid(db, '+15551234567')).toEqual(row);
    expect(findByDid(db, '+15551234567')?.enabled).toBe(true);
    expect(findByDid(db, '+15550000000')).toBeUndefined();

    // A second database gets its own prepared statement, not the first one's.
    const other = openDatabase(':memory:');
    expect(findByDid(other, '+15551234567')).toBeUndefined();
    other.$client.close();
  });

  it('maps constraint failures to domain errors', () => {
    const account = runOnSqlite(db, createAccount({ name: 'A' }));
    runOnSqlite(db, createTrackingNumber({ accountId: account.id, did: '+15551234567', destination: '+15559876543' }));
    const dup = () => runOnSqlite(db, createTrackingNumber({ accountId: account.id, did: '+15551234567', destination: '+1555' }));
    expect(dup).toThrow(CallrouteError);
    expect(dup).toThrow(expect.objectContaining({ code: 'CR_ERR_DUPLICATE_DID', details: { field: 'did' } }));
    const fk = () => runOnSqlite(db, createTrackingNumber({ accountId: 99, did: '+15551230000', destination: '+15559876543' }));
    expect(fk).toThrow(expect.objectContaining({ code: 'CR_ERR_VALIDATION', details: { field: 'accountId' } }));
    expect(runOnSqlite(db, updateTrackingNumber(12345, { label: 'x' }))).toBeUndefined();
  });
});

describe('callQueries', () => {
  it('round-trips cursors and rejects forged ones', () => {
    expect(decodeCallCursor(encodeCallCursor({ arrivedAt: 1_772_366_400_000, id: 42 }))).toEqual({
      arrivedAt: 1_772_366_400_000,
      id: 42,
    });
    for (const bad of ['', 'abc', Buffer.from('v1:1:x').toString('base64url'), Buffer.from('v2:1:2').toString('base64url')]) {
      expect(() => decodeCallCursor(bad)).toThrow(expect.objectContaining({ code: 'CR_ERR_VALIDATION' }));
    }
  });

  it('uses the (account_id, arrived_at) index for an account page', () => {
    const detail = plan(
      db
        .select()
        .from(calls)
        .where(and(eq(calls.accountId, 1), lt(calls.arrivedAt, 10)))
        .orderBy(desc(calls.arrivedAt), desc(calls.id))
        .limit(51),
    );
    expect(detail).toMatch(/calls_account_arrived_idx/);
  });

  it('clamps the limit to 1..500', () => {
    expect((runOnSqlite(db, listCalls({ limit: 0 }))).calls).toEqual([]);
    expect((runOnSqlite(db, listCalls({ limit: 10_000 }))).nextCursor).toBeNull();
  });
});

describe('callRecordRepository (prepared statements)', () => {
  const arrival = (n: number, extra: Partial<CallArrival> = {}): CallArrival => ({
    accountId: null, trackingNumberId: null, did: '+15551230000', callerNumber: '+15559876543', callerName: null,
    source: 'google', medium: null, campaign: null, destination: '+15550001111', arrivedAt: 1_000 * n,
    inboundChannelId: `in-${n}`, outboundChannelId: null, bridgeId: null, ...extra,
  });

  it('writes every field of each call, nulls and booleans as given, and finishes a row once', () => {
    const records = createCallRecordRepository(db);
    const ids = [null, true, false].map((firstTimeCaller, i) => records.insertArrival(arrival(i + 1, { firstTimeCaller, landingPage: i === 1 ? 'https://a.example/' : undefined })));
    expect(ids.map((id) => records.get(id)?.firstTimeCaller)).toEqual([null, true, false]);
    expect(records.get(ids[1]!)).toMatchObject({ landingPage: 'https://a.example/', dialplanHandOff: false, finished: false, source: 'google' });
    expect(records.get(ids[0]!)).toMatchObject({ landingPage: null, visitId: null });

    records.markAnswered(ids[0]!, 1_500, { outboundChannelId: 'out-1', destination: 'sip:desk@127.0.0.1' });
    records.finish(ids[0]!, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: 1_500, endedAt: 4_000, route: { step: 'a', answeredDestination: 'desk', tried: [{ step: 'a', target: 'desk', result: 'answered' }] } });
    records.finish(ids[0]!, { disposition: 'failed', sipCode: 503, hangupCause: 34, endedBy: 'system', answeredAt: null, endedAt: 9_000 });
    expect(records.findByInboundChannel('in-1')).toMatchObject({
      finished: true, disposition: 'answered', outboundChannelId: 'out-1', ringSeconds: 0.5, talkSeconds: 2.5, reconciled: false, routeStep: 'a',
      destinationsTried: JSON.stringify([{ step: 'a', target: 'desk', result: 'answered' }]),
    });
    records.finish(ids[2]!, { disposition: 'no-answer', sipCode: 480, hangupCause: 19, endedBy: 'destination', answeredAt: null, endedAt: 5_000, reconciled: true });
    expect(records.get(ids[2]!)).toMatchObject({ ringSeconds: 2, talkSeconds: 0, reconciled: true, routeStep: null });

    const refused = records.insertRefused(arrival(9, { dialplanHandOff: true, firstTimeCaller: true }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 9_250 });
    expect(records.get(refused)).toMatchObject({ finished: true, endedBy: 'router', answeredAt: null, ringSeconds: 0.25, talkSeconds: 0, dialplanHandOff: true, firstTimeCaller: true });
    expect(records.findByInboundChannel('nope')).toBeUndefined();
  });
});
