/**
 * The router's call records on PostgreSQL as the call path asks for them (callRecordsBehind): whether a
 * channel has a record is answered from memory, for this run's calls at once (before their writes are
 * applied) and for an earlier run's from what was read before taking calls; reconciliation's read waits
 * for the writes queued before it and hands an earlier run's recordings in progress to the writer.
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createCallRecordsBehind } from '../../src/persistence/postgres/callRecordsBehind.js';
import { createWriteBehindCallRecords } from '../../src/persistence/postgres/writeBehindCallRecords.js';
import { insertRecording } from '../../src/persistence/recordingRepository.js';
import type { Store } from '../../src/persistence/store.js';
import { answeredFinish as answered, callArrival as arrival, postgresWithAccount } from '../support/callArrivals.js';
import { usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();
const silent = pino({ level: 'silent' });

const withAccount = (): Promise<Store> => postgresWithAccount(databases);

/** One run of the router's records on `store` (a writer and its view), ready. */
async function aRun(store: Store, nodeId: string, clock?: () => number) {
  const writer = createWriteBehindCallRecords({ store, nodeId, logger: silent });
  await writer.ready();
  return { writer, records: createCallRecordsBehind({ store, writer, nodeId, ...(clock ? { clock } : {}) }) };
}

describe('call records behind the call, as the call path reads them (PostgreSQL)', () => {
  it("this run's calls are known at once, answered and finished as written, and forgotten a minute after they end", async () => {
    const store = await withAccount();
    let now = 0;
    const { writer, records } = await aRun(store, 'node-a', () => now);
    const a = arrival();
    const id = records.insertArrival(a);
    // Not written yet, known already.
    expect(records.findByInboundChannel(a.inboundChannelId)).toMatchObject({ id, finished: false, nodeId: 'node-a', did: a.did, dialplanHandOff: false });
    records.markAnswered(id, 2_000, { outboundChannelId: 'node-a-leg.1', destination: '+15559870000' });
    expect(records.findByInboundChannel(a.inboundChannelId)).toMatchObject({ answeredAt: 2_000, outboundChannelId: 'node-a-leg.1' });
    records.finish(id, answered(2_000));
    expect(records.findByInboundChannel(a.inboundChannelId)).toMatchObject({ finished: true, disposition: 'answered', talkSeconds: 30 });
    const r = arrival({ dialplanHandOff: true });
    records.insertRefused(r, { disposition: 'rejected', sipCode: 503, hangupCause: 34, endedAt: 1_000 });
    expect(records.findByInboundChannel(r.inboundChannelId)).toMatchObject({ finished: true, sipCode: 503, dialplanHandOff: true });
    expect(records.findByInboundChannel('node-a-unknown.1')).toBeUndefined();
    // A minute after they ended, the next write forgets them.
    now = 61_000;
    records.insertArrival(arrival());
    expect(records.findByInboundChannel(a.inboundChannelId)).toBeUndefined();
    expect(records.findByInboundChannel(r.inboundChannelId)).toBeUndefined();
    await writer.drain();
    writer.close();
    await store.close();
  });

  it("an earlier run's records named by the end report files, and this node's unfinished ones, are known after preload; another node's are not", async () => {
    const store = await withAccount();
    const earlier = await aRun(store, 'node-a');
    const reported = arrival();
    const live = arrival();
    const otherNode = arrival();
    const old = arrival();
    earlier.records.finish(earlier.records.insertArrival(reported), answered(2_000));
    earlier.records.insertArrival(live);
    const oldId = earlier.records.insertArrival(old);
    const b = await aRun(store, 'node-b');
    b.records.insertArrival(otherNode);
    await Promise.all([earlier.writer.drain(), b.writer.drain()]);
    earlier.records.finish(oldId, answered(3_000));
    await earlier.writer.drain();

    const next = await aRun(store, 'node-a');
    await next.records.preload([reported.inboundChannelId, otherNode.inboundChannelId, 'node-a-gone.9']);
    expect(next.records.findByInboundChannel(reported.inboundChannelId)).toMatchObject({ finished: true, disposition: 'answered' });
    expect(next.records.findByInboundChannel(live.inboundChannelId)).toMatchObject({ finished: false, nodeId: 'node-a' });
    // Named in the file: known whichever node wrote it (a report is about the call, not the node).
    expect(next.records.findByInboundChannel(otherNode.inboundChannelId)).toMatchObject({ nodeId: 'node-b' });
    // Finished and not named: not read.
    expect(next.records.findByInboundChannel(old.inboundChannelId)).toBeUndefined();
    for (const run of [earlier, b, next]) run.writer.close();
    await store.close();
  });

  it("reconciliation's read waits for the writes queued before it, and hands an earlier run's recording in progress to the writer", async () => {
    const store = await withAccount();
    const earlier = await aRun(store, 'node-a');
    const leftId = earlier.records.insertArrival(arrival());
    await earlier.writer.drain();
    const recording = await store.run(insertRecording({ callId: leftId, accountId: 1, channels: 'dual', asteriskNames: ['a', 'b'], startedAt: 1_500, nodeId: 'node-a' }), { transaction: true });

    const next = await aRun(store, 'node-a');
    const ownId = next.records.insertArrival(arrival());
    const ownRecording = next.writer.insertRecording({ callId: ownId, accountId: 1, channels: 'mixed', asteriskNames: ['c'], startedAt: 1_600 });
    const unfinished = await next.records.listUnfinished();
    // Its own arrival was queued before the read: in it.
    expect(unfinished.map((c) => c.id).sort((x, y) => x - y)).toEqual([leftId, ownId].sort((x, y) => x - y));
    expect(next.writer.activeRecordingOf(leftId)).toEqual({ id: recording.id, channels: 'dual' });
    expect(next.writer.activeRecordingOf(ownId)).toEqual({ id: ownRecording, channels: 'mixed' });
    // The adopted recording's stop is written (the transcode job can name it).
    await next.writer.markRecordingStopped(recording.id, 5_000);
    expect(next.writer.activeRecordingOf(leftId)).toBeUndefined();
    for (const run of [earlier, next]) run.writer.close();
    await store.close();
  });
});
