/**
 * PostgreSQL databases for the dialect suites: one private server per test file (scripts/postgres-sandbox.ts),
 * a fresh database in it per test, migrated as the router migrates its own.
 */
import { afterAll, beforeAll } from 'vitest';
import { openPostgres, type PgDb } from '../../src/persistence/postgres/openPostgres.js';
import { startPostgres, type PostgresServer } from '../../scripts/postgres-sandbox.js';

/** Not PostgreSQL's 5432: the package's own cluster may be running. Files run one at a time. */
export const TEST_POSTGRES_PORT = 55432;

export interface PostgresDatabases {
  server(): PostgresServer;
  /** A new, migrated database; closed when the file's tests are done. */
  fresh(options?: { maxConnections?: number }): Promise<PgDb & { url: string }>;
}

/** Starts the server before the file's tests and stops it (and every pool) after them. */
export function usePostgresDatabases(): PostgresDatabases {
  let server: PostgresServer | undefined;
  const opened: PgDb[] = [];
  let count = 0;
  beforeAll(() => {
    server = startPostgres(TEST_POSTGRES_PORT);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.$client.end().catch(() => {})));
    server?.stop();
  });
  return {
    server() {
      if (!server) throw new Error('the PostgreSQL server has not started');
      return server;
    },
    async fresh(options) {
      const s = this.server();
      const name = `callroute_test_${++count}`;
      s.query(`create database ${name}`);
      const url = `postgres://postgres@127.0.0.1:${s.port}/${name}`;
      const db = await openPostgres(url, options);
      opened.push(db);
      return Object.assign(db, { url });
    },
  };
}
