/**
 * One repository code for both dialects. A repository operation is written once, as a generator of
 * the queries it needs (`Work`): it builds each query with drizzle's query builder and hands it over
 * with `yield*` (`rows`, `row`, `affected`, `raw`, `lock`), getting the result back. The store runs
 * the work:
 *
 * - SQLite (better-sqlite3) drives it synchronously, each query executed the moment it is yielded, in
 *   one synchronous transaction when asked: nothing can interleave with it and no call waits for an
 *   event-loop turn, as the repositories were before (design: keep SQLite transactions synchronous);
 * - PostgreSQL (pg) drives it asynchronously, awaiting each query, in a transaction on one pooled
 *   connection when asked.
 *
 * Works compose: a work may `yield*` another, which then runs inside the same transaction.
 *
 * A query that fails is thrown into the work at its `yield*`, so a work may catch it to answer with a
 * domain error (a duplicate number). It should not carry on with other queries after one failed: a
 * failed statement ends a PostgreSQL transaction.
 *
 * The queries are typed with the SQLite schema and builder, and built on the PostgreSQL ones when
 * the store is PostgreSQL: drizzle's two builders take the same calls for what works use (select,
 * insert, update, delete, where, joins, order, limit, returning, upserts) and give rows of the same
 * JavaScript types (numbers, booleans, strings). What differs between the dialects (a function, a lock,
 * a case-insensitive match) a work asks its store for (`q.dialect`, `lock`), never its callers.
 * test/integration/postgresSchema.test.ts keeps the two schemas column for column alike.
 */
import { sql, type SQL } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import type { Db } from './openDatabase.js';
import * as sqliteSchema from './schema.js';
import type { PgDb } from './postgres/openPostgres.js';
import * as pgSchema from './postgres/schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** What a work builds its queries with: the builder (or the open transaction) and the tables. */
export interface QueryContext {
  dialect: Dialect;
  db: Db;
  t: typeof sqliteSchema;
}

/** One step a work hands to its store. */
export type Step =
  | { kind: 'rows'; query: unknown }
  | { kind: 'row'; query: unknown }
  | { kind: 'affected'; query: unknown }
  | { kind: 'raw'; query: SQL }
  | { kind: 'lock'; scope: string; id: number };

export type Work<T> = (q: QueryContext) => Generator<Step, T, unknown>;

/** Every row of a select (or of a write's `returning()`). */
export function* rows<Q extends { all(): unknown[] }>(query: Q): Generator<Step, ReturnType<Q['all']>, unknown> {
  return (yield { kind: 'rows', query }) as ReturnType<Q['all']>;
}

/** The first row, or undefined (add `.limit(1)` to a select that could match many). */
export function* row<Q extends { get(): unknown }>(query: Q): Generator<Step, ReturnType<Q['get']>, unknown> {
  return (yield { kind: 'row', query }) as ReturnType<Q['get']>;
}

/** Runs a write; how many rows it changed. */
export function* affected(query: { run(): unknown }): Generator<Step, number, unknown> {
  return (yield { kind: 'affected', query }) as number;
}

/** Rows of raw SQL (the work writes it for `q.dialect`). Columns come back as the database names them. */
export function* raw<T>(query: SQL): Generator<Step, T[], unknown> {
  return (yield { kind: 'raw', query }) as T[];
}

/**
 * Holds `scope`/`id` until the transaction ends, so read-then-write work on one thing (assigning a
 * pool's numbers) is done by one node at a time. SQLite needs nothing: an immediate transaction holds
 * the whole file. PostgreSQL takes a transaction-level advisory lock.
 */
export function* lock(scope: string, id: number): Generator<Step, void, unknown> {
  yield { kind: 'lock', scope, id };
}

export interface RunOptions {
  /** Run the work as one transaction. */
  transaction?: boolean;
  /**
   * Fail at once instead of waiting for a lock another process holds (SQLite: no busy wait, which would
   * hold the event loop for the busy timeout). For periodic work that simply tries again at its next turn.
   */
  noWait?: boolean;
}

interface StoreRunner {
  run<T>(work: Work<T>, options?: RunOptions): Promise<T>;
  close(): Promise<void>;
}

/**
 * A database of either dialect. Most repositories are works any store runs; the few that must be
 * faster than building a query per call (a call's record, on SQLite: statements prepared once) look
 * at the dialect and use the driver directly.
 */
export type Store = (StoreRunner & { dialect: 'sqlite'; db: Db }) | (StoreRunner & { dialect: 'postgres'; db: PgDb });

// ---------------------------------------------------------------- SQLite

/** Runs a work on SQLite now, synchronously: for the callers that are synchronous still. */
export function runOnSqlite<T>(db: Db, work: Work<T>, options: RunOptions = {}): T {
  const drive = (): T => {
    const q: QueryContext = { dialect: 'sqlite', db, t: sqliteSchema };
    const steps = work(q);
    let next = steps.next();
    while (!next.done) {
      let result: unknown;
      try {
        result = executeOnSqlite(db, next.value);
      } catch (err) {
        next = steps.throw(err);
        continue;
      }
      next = steps.next(result);
    }
    return next.value;
  };
  const inTransaction = (): T => (options.transaction ? db.transaction(drive, { behavior: 'immediate' }) : drive());
  if (!options.noWait) return inTransaction();
  const waited = db.$client.pragma('busy_timeout', { simple: true }) as number;
  db.$client.pragma('busy_timeout = 0');
  try {
    return inTransaction();
  } finally {
    db.$client.pragma(`busy_timeout = ${Number(waited)}`);
  }
}

function executeOnSqlite(db: Db, step: Step): unknown {
  switch (step.kind) {
    case 'rows':
      return (step.query as { all(): unknown[] }).all();
    case 'row':
      return (step.query as { get(): unknown }).get();
    case 'affected':
      return (step.query as { run(): { changes: number } }).run().changes;
    case 'raw':
      return db.all(step.query);
    case 'lock':
      return undefined;
  }
}

export function sqliteStore(db: Db): Store {
  return {
    dialect: 'sqlite',
    db,
    run: async (work, options) => runOnSqlite(db, work, options),
    close: async () => {
      db.$client.close();
    },
  };
}

// ---------------------------------------------------------------- PostgreSQL

/** A stable number for an advisory lock's scope (the first key of pg_advisory_xact_lock(int, int)). */
function scopeKey(scope: string): number {
  let h = 0;
  for (const c of scope) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
  return h;
}

async function executeOnPostgres(db: PgDb, step: Step): Promise<unknown> {
  switch (step.kind) {
    case 'rows':
      return await (step.query as PromiseLike<unknown[]>);
    case 'row':
      return (await (step.query as PromiseLike<unknown[]>))[0];
    case 'affected':
      return (await (step.query as PromiseLike<{ rowCount: number | null }>)).rowCount ?? 0;
    case 'raw':
      return (await db.execute(step.query)).rows;
    case 'lock':
      await db.execute(sql`select pg_advisory_xact_lock(${scopeKey(step.scope)}, ${step.id | 0})`);
      return undefined;
  }
}

export function postgresStore(db: PgDb): Store {
  const drive = async <T>(on: PgDb, work: Work<T>): Promise<T> => {
    const q = { dialect: 'postgres', db: on, t: pgSchema } as unknown as QueryContext;
    const steps = work(q);
    let next = steps.next();
    while (!next.done) {
      let result: unknown;
      try {
        result = await executeOnPostgres(on, next.value);
      } catch (err) {
        next = steps.throw(err);
        continue;
      }
      next = steps.next(result);
    }
    return next.value;
  };
  /**
   * One transaction on one connection of the pool. Not drizzle's db.transaction: its `begin` runs
   * outside its try, so a connection the server cut as the transaction began (a restart) was never
   * given back, and one that failed later went back to the pool broken. Here a failed connection is
   * handed back with its error, so the pool drops it and the next attempt gets a new one.
   */
  const inTransaction = async <T>(work: Work<T>): Promise<T> => {
    const client = await db.$client.connect();
    let broken: Error | undefined;
    // The server going away while the connection is checked out: an error event, not a thrown one.
    const onError = (err: Error): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('begin');
      const result = await drive(drizzle(client, { schema: pgSchema }) as unknown as PgDb, work);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch((rollbackErr: Error) => {
        broken ??= rollbackErr;
      });
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  };
  return {
    dialect: 'postgres',
    db,
    run: (work, options = {}) => (options.transaction ? inTransaction(work) : drive(db, work)),
    close: () => db.$client.end(),
  };
}
