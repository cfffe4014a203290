import { resolve } from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { packageRoot } from '../../packageRoot.js';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/** PostgreSQL's type id of bigint (int8). */
const INT8_OID = 20;
/**
 * Any number that fits ours: every integer column is bigint (milliseconds since the epoch need more
 * than 32 bits), and pg hands int8 back as a string unless told; count(*) and sums are int8 too.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Key of the advisory lock that makes routers starting together migrate one after another. */
const MIGRATION_LOCK = 7_210_421;

export interface PostgresOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

/**
 * Connects to `url` (postgres://user@host:port/db), applies pending migrations (drizzle/postgres)
 * under an advisory lock, so several nodes starting at once do not migrate over each other.
 */
export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<PgDb> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10, types });
  // An idle connection the server dropped (a restart) must not take the process down: the next
  // query gets a new connection and its own error.
  pool.on('error', () => {});
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(drizzle(client, { schema }), { migrationsFolder: resolve(packageRoot(), 'drizzle', 'postgres') });
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
  return drizzle(pool, { schema }) as PgDb;
}
