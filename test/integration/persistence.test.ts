import { and, desc, eq, lt } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/persistence/accountRepository.js';
import { decodeCallCursor, encodeCallCursor, listCalls } from '../../src/persistence/callQueries.js';
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

    const account = createAccount(db, { name: 'A' });
    const row = createTrackingNumber(db, { accountId: account.id, did: '+15551234567', destination: '+15559876543' });
    expect(findByDid(db, '+15551234567')).toEqual(row);
    expect(findByDid(db, '+15551234567')?.enabled).toBe(true);
    expect(findByDid(db, '+15550000000')).toBeUndefined();

    // A second database gets its own prepared statement, not the first one's.
    const other = openDatabase(':memory:');
    expect(findByDid(other, '+15551234567')).toBeUndefined();
    other.$client.close();
  });

  it('maps constraint failures to domain errors', () => {
    const account = createAccount(db, { name: 'A' });
    createTrackingNumber(db, { accountId: account.id, did: '+15551234567', destination: '+15559876543' });
    const dup = () => createTrackingNumber(db, { accountId: account.id, did: '+15551234567', destination: '+1555' });
    expect(dup).toThrow(CallrouteError);
    expect(dup).toThrow(expect.objectContaining({ code: 'CR_ERR_DUPLICATE_DID', details: { field: 'did' } }));
    const fk = () => createTrackingNumber(db, { accountId: 99, did: '+15551230000', destination: '+15559876543' });
    expect(fk).toThrow(expect.objectContaining({ code: 'CR_ERR_VALIDATION', details: { field: 'accountId' } }));
    expect(updateTrackingNumber(db, 12345, { label: 'x' })).toBeUndefined();
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
    expect(listCalls(db, { limit: 0 }).calls).toEqual([]);
    expect(listCalls(db, { limit: 10_000 }).nextCursor).toBeNull();
  });
});
