/**
 * Several nodes on one database (issue 21's node identity): each node reconciles only its own calls,
 * transcodes and purges only the recordings its disk holds (the lease: nodeLease.test.ts).
 */
import { runOnSqlite, sqliteStore } from '../../src/persistence/store.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createCallRecordRepository, type CallArrival } from '../../src/persistence/callRecordRepository.js';
import { openDatabase, type Db } from '../../src/persistence/openDatabase.js';
import { expiredRecordings } from '../../src/persistence/recordingQueries.js';
import {
  claimNextMediaJob,
  enqueueMediaJob,
  insertRecording,
  listProcessingRecordingsWithoutJob,
  markRecordingStopped,
  requeueRunningMediaJobs,
} from '../../src/persistence/recordingRepository.js';

const silent = pino({ level: 'silent' });
const ADMIN = 'node-identity-admin-token-0123456789';
let channel = 0;
const arrival = (over: Partial<CallArrival> = {}): CallArrival => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: null, medium: null, campaign: null,
  destination: '+15559870000', arrivedAt: 1_000, inboundChannelId: `node-${++channel}.1`, outboundChannelId: null, bridgeId: null, ...over,
});

function setup(): Db {
  const db = openDatabase(':memory:');
  db.$client.exec("INSERT INTO accounts (name, created_at, updated_at, recording_retention_days) VALUES ('a', 1, 1, 1)");
  return db;
}

describe('node identity', () => {
  it('gives each node its own unfinished calls to reconcile (and the ones from before nodes had names)', () => {
    const db = setup();
    const a = createCallRecordRepository(db, { nodeId: 'node-a' });
    const b = createCallRecordRepository(db, { nodeId: 'node-b' });
    const legacy = createCallRecordRepository(db).insertArrival(arrival());
    const ofA = a.insertArrival(arrival());
    const ofB = b.insertArrival(arrival());
    b.insertRefused(arrival(), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_001 });
    expect(a.listUnfinished().map((r) => r.id)).toEqual([legacy, ofA]);
    expect(b.listUnfinished().map((r) => r.id)).toEqual([legacy, ofB]);
    expect(a.get(ofA)?.nodeId).toBe('node-a');
    expect(b.listUnfinishedOf('node-a').map((r) => r.id)).toEqual([ofA]);
  });

  it('transcodes and purges only the recordings a node’s disk holds', () => {
    const db = setup();
    const a = createCallRecordRepository(db, { nodeId: 'node-a' });
    const b = createCallRecordRepository(db, { nodeId: 'node-b' });
    const rec = (records: typeof a, nodeId: string) => {
      const callId = records.insertArrival(arrival());
      const r = runOnSqlite(db, insertRecording({ callId, accountId: 1, channels: 'mixed', asteriskNames: ['x'], startedAt: 1_000, nodeId }), { transaction: true });
      runOnSqlite(db, markRecordingStopped(r.id, 2_000), { transaction: true });
      return r.id;
    };
    const onA = rec(a, 'node-a');
    const onB = rec(b, 'node-b');
    expect(runOnSqlite(db, listProcessingRecordingsWithoutJob('node-a'))).toEqual([onA]);
    runOnSqlite(db, enqueueMediaJob(onA, 3_000), { transaction: true });
    runOnSqlite(db, enqueueMediaJob(onB, 3_000), { transaction: true });
    expect((runOnSqlite(db, claimNextMediaJob(4_000, 0, 'node-b'), { transaction: true }))?.recordingId).toBe(onB);
    expect(runOnSqlite(db, claimNextMediaJob(4_000, 0, 'node-b'), { transaction: true })).toBeUndefined();
    // node-a restarting puts only its own running jobs back in the queue.
    expect((runOnSqlite(db, claimNextMediaJob(4_000, 0, 'node-a'), { transaction: true }))?.recordingId).toBe(onA);
    expect(runOnSqlite(db, requeueRunningMediaJobs(5_000, 'node-a'))).toBe(1);
    // Past the account's one-day retention, each node is given its own recordings to purge.
    const later = 3 * 86_400_000;
    expect((runOnSqlite(db, expiredRecordings(later, 'node-a'))).map((c) => c.recording.id)).toEqual([onA]);
    expect((runOnSqlite(db, expiredRecordings(later, 'node-b'))).map((c) => c.recording.id)).toEqual([onB]);
  });
});

describe('one record per SIP attempt (the carrier INVITE’s Call-ID)', () => {
  it('a retry of a refused call, on another node, takes the refused record over: one record, the retry’s outcome', () => {
    const db = setup();
    const a = createCallRecordRepository(db, { nodeId: 'node-a' });
    const b = createCallRecordRepository(db, { nodeId: 'node-b' });
    const sipCallId = 'a84b4c76e66710@pc33.carrier.example';
    const refused = a.insertRefused(arrival({ sipCallId, arrivedAt: 1_000 }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_001 });
    // The carrier's retry to the next node: same Call-ID (and From tag), a new Via branch and CSeq.
    const retried = b.insertArrival(arrival({ sipCallId, arrivedAt: 1_050, inboundChannelId: 'node-b-1800000001.7' }));
    expect(retried).toBe(refused);
    expect(b.get(retried)).toMatchObject({ finished: false, disposition: null, sipCode: null, endedAt: null, nodeId: 'node-b', inboundChannelId: 'node-b-1800000001.7', arrivedAt: 1_050 });
    b.finish(retried, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: 2_000, endedAt: 9_000 });
    expect(db.$client.prepare('SELECT count(*) AS n FROM calls WHERE sip_call_id = ?').get(sipCallId)).toEqual({ n: 1 });
    expect(b.get(retried)).toMatchObject({ disposition: 'answered', talkSeconds: 7, nodeId: 'node-b' });
  });

  it('a refusal that comes after its attempt was recorded adds nothing; a second INVITE with a live call’s Call-ID gets its own record', () => {
    const db = setup();
    const a = createCallRecordRepository(db, { nodeId: 'node-a' });
    const sipCallId = 'live-1@carrier.example';
    const live = a.insertArrival(arrival({ sipCallId }));
    expect(a.insertRefused(arrival({ sipCallId }), { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_001 })).toBe(live);
    expect(a.get(live)?.finished).toBe(false);
    const duplicate = a.insertArrival(arrival({ sipCallId }));
    expect(duplicate).not.toBe(live);
    expect(a.get(duplicate)?.sipCallId).toBeNull();
    // Without Call-IDs (not SIP, tests): every insert is its own record, as before.
    expect(a.insertArrival(arrival())).not.toBe(a.insertArrival(arrival()));
  });
});

describe('the API on one node of several', () => {
  it('purges through POST /v1/recordings/purge only the recordings its own disk holds', async () => {
    const db = setup();
    const dir = mkdtempSync(join(tmpdir(), 'node-purge-'));
    const app = buildApp({
      store: sqliteStore(db),
      logger: silent,
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 0 }),
      recordings: { dir, asteriskRoot: dir, keys: new Map(), linkSecret: 'l', linkTtlSeconds: 60, publicBaseUrl: 'http://x', ffmpegPath: null },
      nodeId: 'node-a',
    });
    const made = (nodeId: string) => {
      const records = createCallRecordRepository(db, { nodeId });
      const callId = records.insertArrival(arrival({ arrivedAt: Date.now() - 3 * 86_400_000 }));
      return (runOnSqlite(db, insertRecording({ callId, accountId: 1, channels: 'mixed', asteriskNames: [`gone-${nodeId}`], startedAt: 1_000, nodeId }), { transaction: true })).id;
    };
    const onA = made('node-a');
    const onB = made('node-b');
    const res = await app.inject({ method: 'POST', url: '/v1/recordings/purge', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ checked: 1, purged: 1 });
    const status = (id: number) => (db.$client.prepare('SELECT status FROM recordings WHERE id = ?').get(id) as { status: string }).status;
    expect(status(onA)).toBe('expired');
    expect(status(onB)).toBe('recording');
    await app.close();
  });
});
