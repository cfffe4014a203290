/**
 * Direct reads and writes for tests that run on both dialects: a whole table, or one row put in,
 * through the store (the SQLite schema's types, either dialect's table).
 */
import { asc, type Column } from 'drizzle-orm';
import type * as schema from '../../src/persistence/schema.js';
import { affected, row, rows, type Store } from '../../src/persistence/store.js';

type Tables = typeof schema;
type TableName = { [K in keyof Tables]: Tables[K] extends { $inferSelect: unknown; $inferInsert: unknown } ? K : never }[keyof Tables];

/**
 * Every row of a table, by id where it has one (PostgreSQL keeps no order of its own: an updated row
 * moves), else in the database's order.
 */
export function allRows<K extends TableName>(store: Store, table: K): Promise<Tables[K]['$inferSelect'][]> {
  return store.run(function* ({ db, t }) {
    const from = t[table] as unknown as Record<string, Column>;
    const all = db.select().from(from as never);
    return (yield* rows('id' in from ? all.orderBy(asc(from.id!)) : all)) as Tables[K]['$inferSelect'][];
  });
}

/** Inserts one row; the row as stored. */
export function insertRow<K extends TableName>(store: Store, table: K, values: Tables[K]['$inferInsert']): Promise<Tables[K]['$inferSelect']> {
  return store.run(function* ({ db, t }) {
    return (yield* row(db.insert(t[table] as never).values(values as never).returning())) as unknown as Tables[K]['$inferSelect'];
  });
}

/** Sets columns of every row of a table (a test that means to change what a route would not). */
export function updateAll<K extends TableName>(store: Store, table: K, set: Partial<Tables[K]['$inferInsert']>): Promise<number> {
  return store.run(function* ({ db, t }) {
    return yield* affected(db.update(t[table] as never).set(set as never));
  });
}
