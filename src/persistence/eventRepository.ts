import { and, asc, eq, gt, gte, inArray, like, lt, sql } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import { eventConsumers, events, type EventRow, type EventType } from './schema.js';

export interface NewEvent {
  type: EventType;
  accountId: number | null;
  callId: number | null;
  occurredAt: number;
  /** Stored as JSON; its shape is `version` 1 of the type (src/events/eventView.ts). */
  payload: Record<string, unknown>;
}

/**
 * Appends one event. Call it inside the transaction of the change it describes: the outbox holds
 * exactly what was committed. Most events are written by triggers (migration 0020); this is for the
 * ones only code knows (a call routed, a call modified through the API, an endpoint disabled).
 */
export function appendEvent(db: Db, e: NewEvent): EventRow {
  return db
    .insert(events)
    .values({ type: e.type, accountId: e.accountId, callId: e.callId, occurredAt: e.occurredAt, payload: JSON.stringify(e.payload) })
    .returning()
    .get();
}

/** The consumers' read of the stream, prepared once per database: they poll it several times a second. */
const afterStatements = new WeakMap<Db, { all: (p: { afterId: number; limit: number }) => EventRow[] }>();

/** Events after `afterId`, oldest first: one range read of the primary key. `accountIds`: only theirs. */
export function eventsAfter(db: Db, afterId: number, limit: number, accountIds?: readonly number[]): EventRow[] {
  if (accountIds !== undefined) {
    return db.select().from(events).where(and(gt(events.id, afterId), inAccounts(events.accountId, accountIds))).orderBy(asc(events.id)).limit(limit).all();
  }
  let statement = afterStatements.get(db);
  if (!statement) {
    statement = db
      .select()
      .from(events)
      .where(gt(events.id, sql.placeholder('afterId')))
      .orderBy(asc(events.id))
      .limit(sql.placeholder('limit'))
      .prepare();
    afterStatements.set(db, statement);
  }
  return statement.all({ afterId, limit });
}

export function lastEventId(db: Db): number {
  const last = db.$client.prepare('SELECT max(id) AS id FROM events').get() as { id: number | null };
  return last.id ?? 0;
}

export function findEventByUid(db: Db, uid: string): EventRow | undefined {
  return db.select().from(events).where(eq(events.uid, uid)).get();
}

/** An account's events in a time range, oldest first (redelivery of a range). */
export function accountEventsBetween(db: Db, accountId: number, from: number, to: number, limit: number): EventRow[] {
  return db
    .select()
    .from(events)
    .where(and(eq(events.accountId, accountId), gte(events.occurredAt, from), lt(events.occurredAt, to)))
    .orderBy(asc(events.id))
    .limit(limit)
    .all();
}

/**
 * Where a consumer has read to. A consumer seen for the first time starts at the end of the stream:
 * what happened before it existed is not its to deliver.
 */
export function consumerPosition(db: Db, name: string): number {
  const row = db.select().from(eventConsumers).where(eq(eventConsumers.name, name)).get();
  if (row) return row.lastEventId;
  const start = lastEventId(db);
  db.insert(eventConsumers).values({ name, lastEventId: start }).onConflictDoNothing().run();
  return start;
}

export function saveConsumerPosition(db: Db, name: string, lastId: number): void {
  db.insert(eventConsumers)
    .values({ name, lastEventId: lastId })
    .onConflictDoUpdate({ target: eventConsumers.name, set: { lastEventId: lastId } })
    .run();
}

/**
 * A consumer of the event stream that hands new events to `handle` a batch at a time, moving its
 * position past each batch in the same immediate transaction as what `handle` writes. Several routers
 * on one database (nodes) each run every consumer; whichever comes second reads the position the
 * first saved, so each event is handled once. A look that finds nothing new takes no write lock.
 */
export function createEventConsumer(db: Db, name: string, batchSize: number, handle: (batch: EventRow[]) => void): () => void {
  const oneBatch = db.$client.transaction((): number => {
    const batch = eventsAfter(db, consumerPosition(db, name), batchSize);
    const last = batch[batch.length - 1];
    if (!last) return 0;
    handle(batch);
    saveConsumerPosition(db, name, last.id);
    return batch.length;
  });
  return () => {
    if (eventsAfter(db, consumerPosition(db, name), 1).length === 0) return;
    while (oneBatch.immediate() === batchSize);
  };
}

/**
 * Removes the call events (call.*) of these calls: their payloads hold the caller as the call was.
 * An erasure and the retention's anonymisation call it.
 */
export function deleteCallEventsOf(db: Db, callIds: readonly number[]): number {
  let removed = 0;
  for (let i = 0; i < callIds.length; i += 500) {
    removed += db.delete(events).where(and(inArray(events.callId, callIds.slice(i, i + 500)), like(events.type, 'call.%'))).run().changes;
  }
  return removed;
}

/** Events older than `before` (ms), at most `limit` of them, oldest first; their deliveries go with them. */
export function deleteEventsBefore(db: Db, before: number, limit: number): number {
  return db.$client
    .prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE occurred_at < ? ORDER BY id LIMIT ?)')
    .run(before, limit).changes;
}
