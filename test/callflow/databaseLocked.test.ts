/**
 * Fault: another process holds the SQLite file's write lock for 5 s (a backup, a long report, an
 * operator's sqlite3 shell) while calls come in. Calls still connect, for the dialplan and for the
 * router over ARI, and no record is lost: each is written, finished and exact once the lock goes.
 */
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { startCallflowStack, useStackHooks, type CallRecordDto, type CallflowStack } from './harness/callflowStack.js';

const HTTP_PORT = 8086;
const LOCK_MS = 5_000;
/** Longer than the database's 5 s busy timeout: writes fail (SQLITE_BUSY) until it ends. */
const LONG_LOCK_MS = 12_000;
/** Routed and recorded by the dialplan. */
const DIALPLAN_DID = '+15551280000';
/** Two-channel recording: run by the router over ARI. */
const ARI_DID = '+15551280001';

let stack: CallflowStack;

describe('fault: the SQLite file is write-locked by another process for 5 s', () => {
  beforeAll(async () => {
    stack = await startCallflowStack({ instance: 'dblocked', httpPort: HTTP_PORT });
    await stack.addNumbers([
      { did: DIALPLAN_DID, recordingEnabled: true },
      { did: ARI_DID, recordingEnabled: true, recordingChannels: 'dual' },
    ]);
  }, 120_000);

  useStackHooks(() => stack);

  for (const [kind, did, handedOff] of [
    ['the dialplan runs', DIALPLAN_DID, true],
    ['the router runs over ARI', ARI_DID, false],
  ] as const) {
    it(`a call ${kind} during the lock connects, and its record is written and finished once the lock goes`, async () => {
      const before = await stack.newestCallId();
      const locker = new Database(stack.env.CALLROUTE_DB_PATH as string, { timeout: 1000 });
      locker.exec('BEGIN IMMEDIATE');
      const lockedAt = Date.now();
      const release = setTimeout(() => {
        locker.exec('COMMIT');
        locker.close();
      }, LOCK_MS);
      try {
        await stack.answeredCall(did, 3_000);
      } finally {
        await new Promise((r) => setTimeout(r, Math.max(0, LOCK_MS - (Date.now() - lockedAt)) + 100));
        clearTimeout(release);
        if (locker.open) {
          locker.exec('COMMIT');
          locker.close();
        }
      }
      const record = await stack.finishedCall<CallRecordDto>(before, 20_000);
      expect(record).toMatchObject({ id: before + 1, did, disposition: 'answered', endedBy: 'caller', dialplanHandOff: handedOff });
      expect(record.talkSeconds).toBeGreaterThan(2);
      expect((await stack.finishedRecordings(record.id)).map((r) => r.status)).toEqual(['ready']);
    }, 60_000);
  }

  it('a call the dialplan runs that ends while the file stays locked past the busy timeout (12 s): its end report is written once the lock goes, not skipped', async () => {
    const before = await stack.newestCallId();
    const locker = new Database(stack.env.CALLROUTE_DB_PATH as string, { timeout: 1000 });
    locker.exec('BEGIN IMMEDIATE');
    const lockedAt = Date.now();
    try {
      await stack.answeredCall(DIALPLAN_DID, 2_000);
      // The call is over; its arrival and end wait in the end report tail while the lock lasts.
      await new Promise((r) => setTimeout(r, Math.max(0, LONG_LOCK_MS - (Date.now() - lockedAt))));
    } finally {
      locker.exec('COMMIT');
      locker.close();
    }
    const record = await stack.finishedCall<CallRecordDto>(before, 30_000);
    expect(record).toMatchObject({ id: before + 1, did: DIALPLAN_DID, disposition: 'answered', endedBy: 'caller', dialplanHandOff: true });
    expect(record.talkSeconds).toBeGreaterThan(1.5);
    // The node's name is in Asterisk's channel id (systemname) and on the record.
    const full = await stack.api.call<{ nodeId: string; inboundChannelId: string }>('GET', `/v1/calls/${record.id}`);
    expect(full.body.nodeId).toBe('node-dblocked');
    expect(full.body.inboundChannelId).toMatch(/^node-dblocked-\d+\.\d+$/);
  }, 90_000);
});
