/**
 * A private PostgreSQL server for tests and the bench, from Debian's package, the way the Asterisk sandbox is: its
 * own data directory (initdb) and socket directory under the system temp dir, a loopback port of its
 * own, trust authentication for the one local user, stopped and removed at the end. Nothing of the
 * package's own cluster is used. PostgreSQL refuses to run as root, so as root (CI) it runs as the
 * package's `postgres` user.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** Runs one SQL statement with psql; its output, trimmed (unaligned, tuples only). */
  query(sql: string): string;
  /** Shuts the server down (fast: connections are cut), keeping its data: an outage. */
  halt(): void;
  /** Starts it again on the same data, port and settings. */
  resume(): void;
  stop(): void;
}

/** The newest installed server's bin directory (/usr/lib/postgresql/<major>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a)) : [];
  const major = majors.find((m) => existsSync(join(root, m, 'bin', 'postgres')));
  if (!major) throw new Error("PostgreSQL is not installed: install Debian's postgresql package (scripts/setup.sh does)");
  return join(root, major, 'bin');
}

export interface PostgresServerOptions {
  /**
   * Durable as a production server's commits are not: fsync on (so the bench measures real writes),
   * synchronous_commit off (a commit does not wait for its WAL flush — what SQLite's WAL with
   * synchronous=NORMAL does). Off (tests): no fsync at all.
   */
  durable?: boolean;
}

export function startPostgres(port: number, settings: PostgresServerOptions = {}): PostgresServer {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'callroute-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const run = (file: string, args: string[]): string => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', file, ...args]] : [file, args];
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '-N']);
  // Loopback only, its own port and socket directory; for tests fsync off: a test cluster, not durable data.
  const durability = settings.durable ? '-c synchronous_commit=off' : '-c fsync=off -c synchronous_commit=off -c full_page_writes=off';
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 ${durability}`;
  const start = (): void => void run(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const halt = (): void => void run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const psql = join(bin, 'psql');
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    query: (sql) => run(psql, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql]).trim(),
    halt,
    resume: start,
    stop() {
      try {
        halt();
      } catch {
        // Already halted.
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
