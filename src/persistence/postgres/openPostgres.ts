import { resolve } from 'node:path';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { packageRoot } from '../../packageRoot.js';
import * as schema from './schema.js';

export type PgDb = NodePgDatabase<typeof schema> & { $client: pg.Pool };

/**
 * bigint (int8) and numeric read as JavaScript numbers: every integer column is bigint (milliseconds
 * since the epoch need more than 32 bits), count(*) is int8 and sum() of a bigint is numeric, which
 * pg hands back as strings unless told (a report's sums would add up as text, a pool's times compare
 * as strings). Set on the driver's parsers for the whole process: drizzle's queries bring their own
 * parsers for dates only and fall back to these. Our values fit a double.
 */
pg.types.setTypeParser(pg.types.builtins.INT8, Number);
pg.types.setTypeParser(pg.types.builtins.NUMERIC, Number);

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
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
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
