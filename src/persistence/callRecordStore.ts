/**
 * Call records on either dialect, behind one asynchronous interface. On SQLite it is the call record
 * repository itself (./callRecordRepository.ts: statements prepared once, each write synchronous,
 * resolved at once); on PostgreSQL the same writes as store works, each arrival with its routed event
 * in one transaction. Same rows, same events (the triggers of each dialect), same answers.
 */
import { and, eq, sql } from 'drizzle-orm';
import {
  arrivalRow,
  createCallRecordRepository,
  outcomeOf,
  secondsBetween,
  TAKE_OVER_REFUSED,
  type CallArrival,
  type CallFinish,
  type CallRecordRepository,
  type CallRouting,
} from './callRecordRepository.js';
import { heldBy } from './nodeScope.js';
import type { CallDisposition, CallRow } from './schema.js';
import { affected, row, rows, type Store, type Work } from './store.js';

/** What the router writes and reads of call records; every method of CallRecordRepository, awaited. */
export type CallRecordStore = {
  [K in keyof CallRecordRepository]: (...args: Parameters<CallRecordRepository[K]>) => Promise<ReturnType<CallRecordRepository[K]>>;
};

export interface CallRefusal {
  disposition: CallDisposition;
  sipCode: number;
  hangupCause: number;
  endedAt: number;
}

export function createCallRecordStore(store: Store, options: { nodeId?: string } = {}): CallRecordStore {
  if (store.dialect === 'sqlite') return resolvedAtOnce(createCallRecordRepository(store.db, options));
  const nodeId = options.nodeId ?? '';
  return {
    insertArrival: (a, routedTo) => store.run(insertArrival(a, nodeId, routedTo), { transaction: routedTo !== undefined }),
    routed: (id, route, at) => store.run(routed(id, route, at)),
    insertRefused: (a, r) => store.run(insertRefused(a, r, nodeId)),
    markAnswered: (id, answeredAt, leg = null) => store.run(markAnswered(id, answeredAt, leg)),
    finish: (id, f) => store.run(finish(id, f)),
    listUnfinished: () => store.run(unfinishedCalls(nodeId, true)),
    listUnfinishedOf: (otherNodeId) => store.run(unfinishedCalls(otherNodeId, false)),
    findByInboundChannel: (channel) => store.run(callWhere((t) => eq(t.calls.inboundChannelId, channel))),
    get: (id) => store.run(callWhere((t) => eq(t.calls.id, id))),
  };
}

function resolvedAtOnce(records: CallRecordRepository): CallRecordStore {
  const wrap =
    <A extends unknown[], R>(method: (...args: A) => R) =>
    async (...args: A): Promise<R> =>
      method.apply(records, args);
  return {
    insertArrival: wrap(records.insertArrival),
    routed: wrap(records.routed),
    insertRefused: wrap(records.insertRefused),
    markAnswered: wrap(records.markAnswered),
    finish: wrap(records.finish),
    listUnfinished: wrap(records.listUnfinished),
    listUnfinishedOf: wrap(records.listUnfinishedOf),
    findByInboundChannel: wrap(records.findByInboundChannel),
    get: wrap(records.get),
  };
}

/**
 * The arrival's row; its id (the row's own, or the refused record's a retry took over). `id`: one
 * reserved beforehand (writeBehindCallRecords), else the database gives one.
 */
export function insertArrival(a: CallArrival, nodeId: string, routedTo?: CallRouting, id?: number): Work<number> {
  return function* (q) {
    const { db, t } = q;
    const { calls } = t;
    const values = { ...arrivalRow(a), nodeId, finished: false, ...(id === undefined ? {} : { id }) };
    // One record per attempt (SIP Call-ID): a retry of a refused attempt takes its record over.
    const taken = yield* row(
      db
        .insert(calls)
        .values(values)
        .onConflictDoUpdate({ target: calls.sipCallId, set: TAKE_OVER_REFUSED, setWhere: sql`${eq(calls.finished, true)} and ${calls.answeredAt} is null` })
        .returning({ id: calls.id }),
    );
    // A live or answered call holds the Call-ID already (a duplicated INVITE): its own record, without it.
    const rowId = taken?.id ?? (yield* row(db.insert(calls).values({ ...values, sipCallId: null }).returning({ id: calls.id })))!.id;
    if (routedTo) yield* routed(rowId, routedTo, a.arrivedAt)(q);
    return rowId;
  };
}

export function routed(id: number, route: CallRouting, at: number): Work<void> {
  return function* ({ db, t }) {
    const call = yield* row(db.select().from(t.calls).where(eq(t.calls.id, id)));
    if (!call || call.accountId === null) return;
    const payload = JSON.stringify({ call, step: route.step, destinations: route.destinations });
    yield* affected(db.insert(t.events).values({ type: 'call.routed', accountId: call.accountId, callId: id, occurredAt: at, payload }));
  };
}

/** The refusal's row id (an attempt already recorded under its Call-ID: that record's). */
export function insertRefused(a: CallArrival, r: CallRefusal, nodeId: string, id?: number): Work<number> {
  return function* ({ db, t }) {
    const { calls } = t;
    const inserted = yield* row(
      db
        .insert(calls)
        .values({ ...arrivalRow(a), nodeId, ...(id === undefined ? {} : { id }), ...r, finished: true, endedBy: 'router', answeredAt: null, ringSeconds: secondsBetween(a.arrivedAt, r.endedAt), talkSeconds: 0 })
        // A refusal of an attempt already recorded (the same Call-ID) adds nothing.
        .onConflictDoNothing({ target: calls.sipCallId })
        .returning({ id: calls.id }),
    );
    if (inserted) return inserted.id;
    return (yield* row(db.select({ id: calls.id }).from(calls).where(eq(calls.sipCallId, a.sipCallId as string))))!.id;
  };
}

export function markAnswered(id: number, answeredAt: number, leg: { outboundChannelId: string; destination: string } | null): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.calls).set({ answeredAt, ...(leg ?? {}) }).where(eq(t.calls.id, id)));
  };
}

/** Writes the outcome once: a row already finished is left alone (release is idempotent). */
export function finish(id: number, f: CallFinish): Work<void> {
  return function* ({ db, t }) {
    const { calls } = t;
    const call = yield* row(db.select({ arrivedAt: calls.arrivedAt }).from(calls).where(eq(calls.id, id)));
    if (!call) return;
    const route = f.route ? { routeStep: f.route.step, answeredDestination: f.route.answeredDestination, destinationsTried: JSON.stringify(f.route.tried) } : {};
    yield* affected(db.update(calls).set({ finished: true, ...outcomeOf(call.arrivedAt, f), ...route }).where(and(eq(calls.id, id), eq(calls.finished, false))));
  };
}

/** Unfinished calls, oldest first: this node's and the nameless ones (`own`), or exactly another node's. */
function unfinishedCalls(nodeId: string, own: boolean): Work<CallRow[]> {
  return function* ({ db, t }) {
    const { calls } = t;
    const ofNode = own ? heldBy(calls.nodeId, nodeId) : eq(calls.nodeId, nodeId);
    return yield* rows(db.select().from(calls).where(and(eq(calls.finished, false), ofNode)).orderBy(calls.id));
  };
}

function callWhere(where: (t: Parameters<Work<unknown>>[0]['t']) => ReturnType<typeof eq>): Work<CallRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.calls).where(where(t)));
  };
}
