/**
 * The tests' private PostgreSQL (issue 21's second dialect runs on it): Debian's server started on its
 * own loopback port and data directory, answering SQL, gone after stop.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_POSTGRES_PORT as PORT } from '../support/postgresDatabases.js';
import { startPostgres, type PostgresServer } from '../../scripts/postgres-sandbox.js';

let pg: PostgresServer | undefined;

beforeAll(() => {
  pg = startPostgres(PORT);
}, 90_000);

afterAll(() => {
  pg?.stop();
});

describe('the tests’ private PostgreSQL server', () => {
  it('answers SQL on its own port, listening on loopback only', () => {
    expect(pg?.query('select 1 + 1')).toBe('2');
    expect(pg?.query('show listen_addresses')).toBe('127.0.0.1');
    expect(pg?.query('show port')).toBe(String(PORT));
    expect(Number(pg?.query("select current_setting('server_version_num')"))).toBeGreaterThanOrEqual(150000);
  });

  it('keeps what a transaction writes, and its own schema', () => {
    pg?.query('create table t (id bigint generated always as identity primary key, v text not null)');
    pg?.query("insert into t (v) values ('a'), ('b')");
    expect(pg?.query('select string_agg(v, \',\' order by id) from t')).toBe('a,b');
  });
});
