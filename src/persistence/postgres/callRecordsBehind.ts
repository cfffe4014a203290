/**
 * The router's call records on PostgreSQL, as the call path uses them: synchronous, like SQLite's
 * repository, while every write goes behind the call (writeBehindCallRecords) and no call waits for a
 * round trip.
 *
 * The call path also asks whether a channel already has a record (findByInboundChannel): an end
 * report read again after a restart, a call the dialplan routed seen a second time. Those answers come
 * from memory: the rows this process wrote (kept while the call is up, and a minute after it ends:
 * the end report and the arrival watcher ask within a second), and the rows an earlier run left that
 * may be asked about, read once before the router takes calls (`preload`: the channels named in the
 * end report files, and this node's unfinished calls). Reconciliation reads the database itself, once
 * every write queued before it is applied (`listUnfinished`).
 */
import { inArray } from 'drizzle-orm';
import type { CallArrival, CallFinish, CallRouting } from '../callRecordRepository.js';
import { arrivalRow, NO_OUTCOME, outcomeOf } from '../callRecordRepository.js';
import { createCallRecordStore, type CallRefusal } from '../callRecordStore.js';
import { recordingsInProgressOf } from '../recordingRepository.js';
import type { CallRow } from '../schema.js';
import { rows, type Store } from '../store.js';
import type { WriteBehindCallRecords } from './writeBehindCallRecords.js';

/** How long a finished call's row stays known in memory. */
const FINISHED_KEPT_MS = 60_000;
/** Channels asked for in one query when preloading. */
const PRELOAD_CHUNK = 500;

export interface CallRecordsBehind {
  insertArrival(a: CallArrival, routedTo?: CallRouting): number;
  routed(id: number, route: CallRouting, at: number): void;
  insertRefused(a: CallArrival, r: CallRefusal): number;
  markAnswered(id: number, answeredAt: number, leg?: { outboundChannelId: string; destination: string } | null): void;
  finish(id: number, f: CallFinish): void;
  /** The row of a call by its inbound channel, from memory (see above). */
  findByInboundChannel(channelId: string): CallRow | undefined;
  /** Reads the rows an earlier run left that the call path may ask about: call before taking calls. */
  preload(reportedChannels: readonly string[]): Promise<void>;
  /**
   * This node's unfinished calls, read once every write queued before the call is applied; the recordings an
   * earlier run left in progress on them are handed to the writer (their stop joins their call's queue).
   */
  listUnfinished(): Promise<CallRow[]>;
}

export function createCallRecordsBehind(deps: { store: Store; writer: WriteBehindCallRecords; nodeId: string; clock?: () => number }): CallRecordsBehind {
  const { store, writer, nodeId } = deps;
  const clock = deps.clock ?? Date.now;
  const byChannel = new Map<string, CallRow>();
  const channelOf = new Map<number, string>();
  /** Finished rows in the order they finished, with when: forgotten FINISHED_KEPT_MS later. */
  const finishedAt: Array<{ channel: string; row: CallRow; at: number }> = [];
  const database = createCallRecordStore(store, { nodeId });
  /** Rows of calls this run wrote (not read from the database). */
  const written = new WeakSet<CallRow>();

  const forgetOld = (now: number): void => {
    while (finishedAt.length > 0 && now - (finishedAt[0] as { at: number }).at > FINISHED_KEPT_MS) {
      const { channel, row } = finishedAt.shift() as { channel: string; row: CallRow };
      if (byChannel.get(channel) !== row) continue;
      byChannel.delete(channel);
      channelOf.delete(row.id);
    }
  };
  const know = (row: CallRow): void => {
    const now = clock();
    forgetOld(now);
    byChannel.set(row.inboundChannelId, row);
    channelOf.set(row.id, row.inboundChannelId);
    if (row.finished) finishedAt.push({ channel: row.inboundChannelId, row, at: now });
  };
  const known = (id: number): CallRow | undefined => {
    const channel = channelOf.get(id);
    return channel === undefined ? undefined : byChannel.get(channel);
  };

  return {
    insertArrival(a, routedTo) {
      const id = writer.insertArrival(a, routedTo);
      const row = newRow(id, a, nodeId);
      written.add(row);
      know(row);
      return id;
    },
    routed: (id, route, at) => writer.routed(id, route, at),
    insertRefused(a, r) {
      const id = writer.insertRefused(a, r);
      const row: CallRow = { ...newRow(id, a, nodeId), ...outcomeOf(a.arrivedAt, { ...r, endedBy: 'router', answeredAt: null }), finished: true, talkSeconds: 0 };
      written.add(row);
      know(row);
      return id;
    },
    markAnswered(id, answeredAt, leg = null) {
      writer.markAnswered(id, answeredAt, leg);
      const row = known(id);
      if (row) Object.assign(row, { answeredAt, ...(leg ?? {}) });
    },
    finish(id, f) {
      writer.finish(id, f);
      const row = known(id);
      if (!row || row.finished) return;
      Object.assign(row, { finished: true, ...outcomeOf(row.arrivedAt, f) });
      finishedAt.push({ channel: row.inboundChannelId, row, at: clock() });
    },
    findByInboundChannel: (channelId) => byChannel.get(channelId),
    async preload(reportedChannels) {
      const found = await database.listUnfinished();
      for (let i = 0; i < reportedChannels.length; i += PRELOAD_CHUNK) {
        const chunk = reportedChannels.slice(i, i + PRELOAD_CHUNK);
        found.push(...(await store.run(function* ({ db, t }) {
          return yield* rows(db.select().from(t.calls).where(inArray(t.calls.inboundChannelId, chunk)));
        })));
      }
      for (const row of found) if (!byChannel.has(row.inboundChannelId)) know(row);
    },
    async listUnfinished() {
      await writer.appliedUpTo(writer.mark());
      const unfinished = await database.listUnfinished();
      // This run's own calls: the writer knows their recordings, and a stop queued since the read must not be undone.
      const left = unfinished.filter((row) => {
        const mine = byChannel.get(row.inboundChannelId);
        return !(mine && written.has(mine));
      });
      for (const row of left) know(row);
      // A call's first recording in progress, as it started first (the one reconciliation settles).
      const adopted = new Set<number>();
      for (const recording of await store.run(recordingsInProgressOf(left.map((row) => row.id)))) {
        if (adopted.has(recording.callId)) continue;
        adopted.add(recording.callId);
        writer.adoptRecording(recording.id, recording.callId, recording.channels);
      }
      return unfinished;
    },
  };
}

/** The row an arrival writes, as the database will hold it. */
function newRow(id: number, a: CallArrival, nodeId: string): CallRow {
  return {
    ...(arrivalRow(a) as unknown as Pick<CallRow, keyof CallArrival & keyof CallRow>),
    id,
    nodeId,
    ...NO_OUTCOME,
    recordingStatus: 'none',
    recordingPauses: null,
    tags: null,
    notes: null,
    value: null,
    leadStatus: null,
  };
}
