/**
 * PostgreSQL databases for the dialect suites: one private server per test file (scripts/postgres-sandbox.ts),
 * a fresh database in it per test, migrated as the router migrates its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { openPostgres, type PgDb } from '../../src/persistence/postgres/openPostgres.js';
import { postgresStore, sqliteStore, type Store } from '../../src/persistence/store.js';
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
  let template: Promise<void> | undefined;
  beforeAll(() => {
    server = startPostgres(TEST_POSTGRES_PORT);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.$client.end().catch(() => {})));
    server?.stop();
    template = undefined;
  });
  return {
    server() {
      if (!server) throw new Error('the PostgreSQL server has not started');
      return server;
    },
    async fresh(options) {
      const s = this.server();
      // Migrated once per file, then copied: CREATE DATABASE ... TEMPLATE takes milliseconds, migrating takes a second.
      template ??= (async () => {
        s.query('create database callroute_template');
        await (await openPostgres(`postgres://postgres@127.0.0.1:${s.port}/callroute_template`)).$client.end();
      })();
      await template;
      const name = `callroute_test_${++count}`;
      s.query(`create database ${name} template callroute_template`);
      const url = `postgres://postgres@127.0.0.1:${s.port}/${name}`;
      const db = await openPostgres(url, options);
      opened.push(db);
      return Object.assign(db, { url });
    },
  };
}

/** `[dialect name, open]` pairs for describe.each: a fresh SQLite in memory, a fresh PostgreSQL database. */
export function storesOfBothDialects(databases: PostgresDatabases): Array<[string, () => Promise<Store>]> {
  return [
    ['SQLite', async () => sqliteStore(openDatabase(':memory:'))],
    ['PostgreSQL', async () => postgresStore(await databases.fresh())],
  ];
}

/**
 * Two nodes' stores on one database of each dialect: two connections to one SQLite file (removed
 * after the file's tests), two connection pools to one PostgreSQL database.
 */
export function twoNodesOfBothDialects(databases: PostgresDatabases, maxConnections = 8): Array<[string, () => Promise<[Store, Store]>]> {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return [
    [
      'SQLite',
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'callroute-two-nodes-'));
        dirs.push(dir);
        const file = join(dir, 'callroute.db');
        return [sqliteStore(openDatabase(file)), sqliteStore(openDatabase(file))];
      },
    ],
    [
      'PostgreSQL',
      async () => {
        const first = await databases.fresh({ maxConnections });
        return [postgresStore(first), postgresStore(await openPostgres(first.url, { maxConnections }))];
      },
    ],
  ];
}
