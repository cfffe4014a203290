/** The event outbox and its consumers' positions: works of ./store.ts (the consumer loop: SQLite's still). */
import { and, asc, eq, gt, gte, inArray, like, lt, sql } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import * as sqliteSchema from './schema.js';
import type { EventRow, EventType } from './schema.js';
import { affected, lock, row, rows, runOnSqlite, type Store, type Work } from './store.js';

export interface NewEvent {
  type: EventType;
  accountId: number | null;
  callId: number | null;
  occurredAt: number;
  /** Stored as JSON; its shape is `version` 1 of the type (src/events/eventView.ts). */
  payload: Record<string, unknown>;
}

/**
 * Appends one event. Run it inside the transaction of the change it describes: the outbox holds
 * exactly what was committed. Most events are written by triggers (migration 0020); this is for the
 * ones only code knows (a call routed, a call modified through the API, an endpoint disabled).
 */
export function appendEvent(e: NewEvent): Work<EventRow> {
  return function* ({ db, t }) {
    const values = { type: e.type, accountId: e.accountId, callId: e.callId, occurredAt: e.occurredAt, payload: JSON.stringify(e.payload) };
    return (yield* row(db.insert(t.events).values(values).returning()))!;
  };
}

/** Events after `afterId`, oldest first: one range read of the primary key. `accountIds`: only theirs. */
export function eventsAfter(afterId: number, limit: number, accountIds?: readonly number[]): Work<EventRow[]> {
  return function* ({ db, t }) {
    const after = gt(t.events.id, afterId);
    const where = accountIds === undefined ? after : and(after, inAccounts(t.events.accountId, accountIds));
    return yield* rows(db.select().from(t.events).where(where).orderBy(asc(t.events.id)).limit(limit));
  };
}

export function lastEventId(): Work<number> {
  return function* ({ db, t }) {
    return (yield* row(db.select({ id: sql<number | null>`max(${t.events.id})` }).from(t.events)))?.id ?? 0;
  };
}

export function findEventByUid(uid: string): Work<EventRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.events).where(eq(t.events.uid, uid)));
  };
}

/** An account's events in a time range, oldest first (redelivery of a range). */
export function accountEventsBetween(accountId: number, from: number, to: number, limit: number): Work<EventRow[]> {
  return function* ({ db, t }) {
    const e = t.events;
    return yield* rows(db.select().from(e).where(and(eq(e.accountId, accountId), gte(e.occurredAt, from), lt(e.occurredAt, to))).orderBy(asc(e.id)).limit(limit));
  };
}

/**
 * Where a consumer has read to. A consumer seen for the first time starts at the end of the stream:
 * what happened before it existed is not its to deliver.
 */
export function consumerPosition(name: string): Work<number> {
  return function* (q) {
    const { db, t } = q;
    const known = yield* row(db.select().from(t.eventConsumers).where(eq(t.eventConsumers.name, name)));
    if (known) return known.lastEventId;
    const start = yield* lastEventId()(q);
    yield* affected(db.insert(t.eventConsumers).values({ name, lastEventId: start }).onConflictDoNothing());
    return start;
  };
}

export function saveConsumerPosition(name: string, lastId: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(
      db.insert(t.eventConsumers).values({ name, lastEventId: lastId }).onConflictDoUpdate({ target: t.eventConsumers.name, set: { lastEventId: lastId } }),
    );
  };
}

/**
 * A consumer of the event stream that hands new events to `handle` a batch at a time, moving its
 * position past each batch in the same transaction as what `handle` writes. Several routers on one
 * database (nodes) each run every consumer; whichever comes second reads the position the first
 * saved, so each event is handled once. A look that finds nothing new takes no write lock.
 *
 * SQLite: `handle` runs inside one synchronous immediate transaction (it may use prepared statements
 * on `db` directly). PostgreSQL: its work runs in a transaction holding the consumer's advisory lock,
 * which is what keeps two nodes from reading the same position at once.
 */
export type EventBatchHandler =
  | { dialect: 'sqlite'; handle: (batch: EventRow[]) => void }
  | { dialect: 'postgres'; handle: (batch: EventRow[]) => Work<void> };

export function createEventConsumer(store: Store, name: string, batchSize: number, handler: EventBatchHandler): () => Promise<void> {
  if (store.dialect === 'sqlite') {
    if (handler.dialect !== 'sqlite') throw new Error('a SQLite store takes a SQLite batch handler');
    const { db } = store;
    // Prepared once: a consumer looks several times a second (the webhook dispatcher after every
    // delivery), and building the query each time was most of what a look cost.
    const positionOf = db.select({ lastEventId: sqliteSchema.eventConsumers.lastEventId }).from(sqliteSchema.eventConsumers).where(eq(sqliteSchema.eventConsumers.name, name)).prepare();
    const after = db.select().from(sqliteSchema.events).where(gt(sqliteSchema.events.id, sql.placeholder('afterId'))).orderBy(asc(sqliteSchema.events.id)).limit(sql.placeholder('limit')).prepare();
    const position = (): number => positionOf.get()?.lastEventId ?? runOnSqlite(db, consumerPosition(name));
    const oneBatch = db.$client.transaction((): number => {
      const batch = after.all({ afterId: position(), limit: batchSize });
      const last = batch[batch.length - 1];
      if (!last) return 0;
      handler.handle(batch);
      runOnSqlite(db, saveConsumerPosition(name, last.id));
      return batch.length;
    });
    return async () => {
      if (after.all({ afterId: position(), limit: 1 }).length === 0) return;
      while (oneBatch.immediate() === batchSize);
    };
  }
  if (handler.dialect !== 'postgres') throw new Error('a PostgreSQL store takes a PostgreSQL batch handler');
  const oneBatch: Work<number> = function* (q) {
    // The store turns the scope into the advisory lock's key; one scope per consumer name.
    yield* lock(`event-consumer:${name}`, 0);
    const batch = yield* eventsAfter(yield* consumerPosition(name)(q), batchSize)(q);
    const last = batch[batch.length - 1];
    if (!last) return 0;
    yield* handler.handle(batch)(q);
    yield* saveConsumerPosition(name, last.id)(q);
    return batch.length;
  };
  return async () => {
    const peek: Work<number> = function* (q) {
      return (yield* eventsAfter(yield* consumerPosition(name)(q), 1)(q)).length;
    };
    if ((await store.run(peek)) === 0) return;
    while ((await store.run(oneBatch, { transaction: true })) === batchSize);
  };
}

/**
 * Removes the call events (call.*) of these calls: their payloads hold the caller as the call was.
 * An erasure and the retention's anonymisation run it.
 */
export function deleteCallEventsOf(callIds: readonly number[]): Work<number> {
  return function* ({ db, t }) {
    let removed = 0;
    for (let i = 0; i < callIds.length; i += 500) {
      removed += yield* affected(db.delete(t.events).where(and(inArray(t.events.callId, callIds.slice(i, i + 500)), like(t.events.type, 'call.%'))));
    }
    return removed;
  };
}

/** Events older than `before` (ms), at most `limit` of them, oldest first; their deliveries go with them. */
export function deleteEventsBefore(before: number, limit: number): Work<number> {
  return function* ({ db, t }) {
    const oldest = db.select({ id: t.events.id }).from(t.events).where(lt(t.events.occurredAt, before)).orderBy(asc(t.events.id)).limit(limit);
    return yield* affected(db.delete(t.events).where(inArray(t.events.id, oldest)));
  };
}
