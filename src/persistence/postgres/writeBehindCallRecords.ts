/**
 * Call record writes on PostgreSQL that no caller waits for, and that an outage does not lose.
 *
 * On SQLite a call's record write is a synchronous local statement (microseconds); on PostgreSQL it
 * is a network round trip, and during a server restart there is no answer at all. Neither may hold a
 * call up (design: never a round trip the caller waits on). So the writes of each call go into its
 * own queue and are applied in order (arrival, routed, answered, outcome), while the call goes on:
 *
 * - a record's id is known at once, taken from a block of ids reserved ahead from the calls' identity
 *   sequence, so later writes (and the call's log lines) can name it before its arrival is written;
 * - a write that fails for a transient reason (the server restarting, a connection cut) is applied
 *   again after a pause doubling from `retryMs` to `maxRetryMs`, for as long as the router runs, and
 *   the call's later writes wait behind it; a write the server refuses for another reason (a bug) is
 *   logged and dropped, and the queue goes on;
 * - calls' queues run side by side (bounded by the pool's connections).
 *
 * When a carrier's retry takes a refused record over (the same SIP Call-ID), the row keeps the
 * refused record's id: the later writes of that call are applied to it.
 */
import type { Logger } from 'pino';
import { eq, sql } from 'drizzle-orm';
import { backoffDelay } from '../../backoffDelay.js';
import { CallrouteError } from '../../errors.js';
import type { CallArrival, CallFinish, CallRouting } from '../callRecordRepository.js';
import { finish, insertArrival, insertRefused, markAnswered, routed, type CallRefusal } from '../callRecordStore.js';
import { arrivalAttribution, callAttributionAt } from '../attributionRepository.js';
import { insertRecording, markRecordingMissing, markRecordingStopped, type NewRecording } from '../recordingRepository.js';
import type { RecordingChannels } from '../schema.js';
import { raw, row, type Store, type Work } from '../store.js';
import { isTransientPostgresError } from './postgresErrors.js';

export interface WriteBehindOptions {
  store: Store;
  nodeId: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Ids reserved at a time; a new block is fetched when half is used (default 512). */
  idBlock?: number;
  /** First pause before a failed write is applied again (default 200 ms), doubling up to maxRetryMs (5 s), jittered. */
  retryMs?: number;
  maxRetryMs?: number;
  /**
   * Attribute arrivals as they are written (the visit holding the number, the first-time flag) instead
   * of before: the call path then asks the database nothing. Set it when the session is given no
   * `attribute` of its own (the router on PostgreSQL).
   */
  attributeArrivals?: boolean;
}

export interface WriteBehindCallRecords {
  /** Reserves the first block of ids: call before taking calls. */
  ready(): Promise<void>;
  /** The new record's id, at once; the arrival (and its routed event) is written behind. */
  insertArrival(a: CallArrival, routedTo?: CallRouting): number;
  routed(id: number, route: CallRouting, at: number): void;
  /** A refused call's record (written finished), its id at once. */
  insertRefused(a: CallArrival, r: CallRefusal): number;
  markAnswered(id: number, answeredAt: number, leg?: { outboundChannelId: string; destination: string } | null): void;
  finish(id: number, f: CallFinish): void;
  /**
   * A recording's row, its id at once (reserved from the recordings' sequence); written behind, after
   * its call's earlier writes (the row names the call).
   */
  insertRecording(r: NewRecording): number;
  /** Asterisk stopped it; resolves once that is written (the transcode job, queued then, names the row). */
  markRecordingStopped(id: number, stoppedAt: number): Promise<void>;
  markRecordingMissing(id: number, reason: string): void;
  /** The recording this process started (or adopted) for the call and has not seen stop, if any. */
  activeRecordingOf(callId: number): { id: number; channels: RecordingChannels } | undefined;
  /** A recording an earlier run started and did not see stop (read at reconciliation): its stop joins its call's queue. */
  adoptRecording(id: number, callId: number, channels: RecordingChannels): void;
  /** A mark of the writes queued so far: `appliedThrough(mark)` says when they are all applied. */
  mark(): number;
  appliedThrough(mark: number): boolean;
  /** Resolves once the writes queued up to `mark` are applied (later ones are not waited for: under load there are always some). */
  appliedUpTo(mark: number): Promise<void>;
  /** Writes not yet applied (queued or being retried). */
  readonly pending: number;
  /** Resolves once every write queued so far is applied (or dropped as a bug). */
  drain(): Promise<void>;
  /** Stops retrying: what is still queued is given up (and logged). */
  close(): void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The arrival with its attribution (arrivalAttribution: the visit's source, medium and campaign when a
 * visit holds the number, else the number's, which the arrival carries), as the session would have
 * given it; a restricted caller's call, or one of no number, is not attributed.
 */
function attributed(a: CallArrival, id: number): Work<CallArrival> {
  return function* (q) {
    if (a.trackingNumberId === null || a.accountId === null || a.restricted) return a;
    const number = yield* row(q.db.select({ poolId: q.t.trackingNumbers.poolId }).from(q.t.trackingNumbers).where(eq(q.t.trackingNumbers.id, a.trackingNumberId)));
    const attribution = yield* callAttributionAt({ trackingNumberId: a.trackingNumberId, poolId: number?.poolId ?? null, accountId: a.accountId, callerNumber: a.callerNumber, now: a.arrivedAt }, id)(q);
    return { ...a, ...arrivalAttribution(attribution, a) };
  };
}

export function createWriteBehindCallRecords(options: WriteBehindOptions): WriteBehindCallRecords {
  const { store, nodeId, logger } = options;
  const idBlock = options.idBlock ?? 512;
  const retryMs = options.retryMs ?? 200;
  const maxRetryMs = options.maxRetryMs ?? 5_000;
  const callIds = createIdBlock('calls');
  const recordingIds = createIdBlock('recordings');
  /** Recordings started here and not yet stopped: their call, for the queue their writes join. */
  const activeRecordings = new Map<number, { callId: number; channels: RecordingChannels }>();
  /** Per call (by the id the caller holds): the tail of its queue. */
  const queues = new Map<number, Promise<void>>();
  /** A call whose arrival took a refused record over: the row its later writes go to. */
  const rowOf = new Map<number, number>();
  let pending = 0;
  let closed = false;
  /** Every write queued, numbered in queue order; the ones not yet applied (insertion order: the oldest first). */
  let lastSeq = 0;
  const unapplied = new Set<number>();

  /**
   * Ids reserved ahead from a table's identity sequence, so a row's id is known before it is written;
   * a new block is fetched when half is used.
   */
  function createIdBlock(table: 'calls' | 'recordings') {
    const ids: number[] = [];
    let reserving: Promise<void> | undefined;
    const reserve = (): Promise<void> =>
      (reserving ??= apply(`reserving ${table} ids`, function* () {
        const block = yield* raw<{ id: number }>(sql`select nextval(pg_get_serial_sequence(${table}, 'id')) as id from generate_series(1, ${idBlock})`);
        ids.push(...block.map((r) => Number(r.id)));
      })
        .then(() => undefined)
        .finally(() => {
          reserving = undefined;
        }));
    return {
      reserve,
      next(): number {
        if (ids.length <= idBlock / 2) void reserve();
        const id = ids.shift();
        if (id === undefined) throw new CallrouteError('CR_ERR_DATABASE_UNAVAILABLE', `no ${table} id left of the ${idBlock} reserved: the database has been unreachable`);
        return id;
      },
    };
  }

  /**
   * Runs one work until it is applied, retrying transient failures; a bug is logged and dropped.
   * `transaction`: only for works of more than one write (an arrival with its routed event): the
   * others are one statement, or a read and a guarded update that is the same applied twice, and a
   * transaction would cost them two more round trips.
   */
  async function apply<T>(what: string, work: Work<T>, extra: Record<string, unknown> = {}, transaction = false): Promise<T | undefined> {
    let failures = 0;
    for (;;) {
      try {
        const result = await store.run(work, { transaction });
        if (failures > 0) logger.info({ ...extra, write: what }, 'call record write applied after the database came back');
        return result;
      } catch (err) {
        if (!isTransientPostgresError(err)) {
          logger.error({ err, ...extra, write: what }, 'call record write refused by the database; dropped');
          return undefined;
        }
        if (closed) {
          logger.error({ err, ...extra, write: what }, 'call record write given up at shutdown');
          return undefined;
        }
        if (failures === 0) logger.warn({ err, ...extra, write: what }, 'database unreachable; the call record write waits and is tried again');
        // Jittered: the queues of every router that lost the database do not all come back at once.
        await sleep(backoffDelay(failures, { initialMs: retryMs, maxMs: maxRetryMs }));
        failures += 1;
      }
    }
  }

  const appliedThrough = (mark: number): boolean => {
    // Sets iterate in insertion order: the first is the oldest write not yet applied.
    const oldest = unapplied.values().next();
    return oldest.done === true || oldest.value > mark;
  };

  /** Queues `work` behind the call's earlier writes. */
  const enqueue = (callId: number, what: string, work: (rowId: number) => Work<unknown>, transaction = false): Promise<void> => {
    pending += 1;
    const seq = (lastSeq += 1);
    unapplied.add(seq);
    const tail = (queues.get(callId) ?? Promise.resolve())
      .then(() => apply(what, work(rowOf.get(callId) ?? callId), { callId }, transaction))
      .then(() => undefined)
      .finally(() => {
        pending -= 1;
        unapplied.delete(seq);
        if (queues.get(callId) !== tail) return;
        queues.delete(callId);
        // The outcome is a call's last write: whose row it went to need not be remembered longer.
        if (what === 'outcome') rowOf.delete(callId);
      });
    queues.set(callId, tail);
    return tail;
  };

  /** A record's first write, under a reserved id; the row it lands in (a refused record taken over) noted. */
  const firstWrite = (what: string, write: (id: number) => Work<number>, transaction: boolean): number => {
    const id = callIds.next();
    void enqueue(
      id,
      what,
      () =>
        function* (q) {
          const rowId = yield* write(id)(q);
          if (rowId !== id) rowOf.set(id, rowId);
        },
      transaction,
    );
    return id;
  };

  return {
    async ready() {
      await Promise.all([callIds.reserve(), recordingIds.reserve()]);
    },
    insertArrival: (a, routedTo) =>
      firstWrite(
        'arrival',
        (id) =>
          function* (q) {
            const arrival = options.attributeArrivals ? yield* attributed(a, id)(q) : a;
            return yield* insertArrival(arrival, nodeId, routedTo, id)(q);
          },
        routedTo !== undefined || options.attributeArrivals === true,
      ),
    routed(id, route, at) {
      void enqueue(id, 'routed', (rowId) => routed(rowId, route, at));
    },
    insertRefused: (a, r) => firstWrite('refusal', (id) => insertRefused(a, r, nodeId, id), false),
    markAnswered(id, answeredAt, leg = null) {
      void enqueue(id, 'answered', (rowId) => markAnswered(rowId, answeredAt, leg));
    },
    finish(id, f) {
      void enqueue(id, 'outcome', (rowId) => finish(rowId, f));
    },
    insertRecording(r) {
      const id = recordingIds.next();
      activeRecordings.set(id, { callId: r.callId, channels: r.channels });
      void enqueue(r.callId, 'recording started', (callRow) => insertRecording({ ...r, nodeId, callId: callRow }, id), true);
      return id;
    },
    markRecordingStopped(id, stoppedAt) {
      const active = activeRecordings.get(id);
      activeRecordings.delete(id);
      return enqueue(active?.callId ?? -id, 'recording stopped', () => markRecordingStopped(id, stoppedAt), true);
    },
    markRecordingMissing(id, reason) {
      const active = activeRecordings.get(id);
      activeRecordings.delete(id);
      void enqueue(active?.callId ?? -id, 'recording missing', () => markRecordingMissing(id, reason), true);
    },
    activeRecordingOf(callId) {
      for (const [id, r] of activeRecordings) if (r.callId === callId) return { id, channels: r.channels };
      return undefined;
    },
    adoptRecording(id, callId, channels) {
      if (!activeRecordings.has(id)) activeRecordings.set(id, { callId, channels });
    },
    mark: () => lastSeq,
    appliedThrough,
    async appliedUpTo(mark) {
      while (!appliedThrough(mark)) await Promise.race([...queues.values()]);
    },
    get pending() {
      return pending;
    },
    async drain() {
      while (queues.size > 0) await Promise.all([...queues.values()]);
    },
    close() {
      closed = true;
    },
  };
}
