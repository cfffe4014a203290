/**
 * A real Asterisk 22 for development and tests on a Debian 12 host without Docker: Debian 12 has no
 * asterisk package, so we run Debian sid's in a chroot (no mounts needed; Asterisk only opens
 * /dev/null and /dev/urandom, which debootstrap creates).
 *
 * - The base root filesystem is provisioned once (debootstrap + apt) and cached under
 *   CALLROUTE_SANDBOX_CACHE (default /var/lib/callroute): a second run costs nothing.
 * - Each running Asterisk gets its own copy of the base (an "instance", e.g. `dev`, `test`), kept in
 *   the repo's `.sandbox/instances/` so that worktrees never share one: two Asterisks in one root
 *   share /var/run/asterisk/asterisk.ctl.
 *
 * The root filesystems are made by asteriskSandboxRoot.ts; this file renders an instance's configuration,
 * starts and stops its Asterisk, and is the CLI.
 *
 * CLI: npx tsx scripts/asterisk-sandbox.ts provision | start | stop | status [--instance NAME]
 */
import { spawn, execFile } from 'node:child_process';
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../src/config/loadConfig.js';
import { flagValue } from './cliArgs.js';
import { writeAsteriskConfig } from './renderAsteriskConfig.js';
import { ensureInstance, ensureSandbox, installSounds, instanceDir, noop, passwdIds, requireRoot, tail, type Log } from './asteriskSandboxRoot.js';

export { ensureSandbox, installSounds, sandboxPaths, type Log } from './asteriskSandboxRoot.js';

export interface AsteriskHandle {
  /** Asterisk's own PID (changes on restart). */
  readonly pid: number;
  /** The instance's root filesystem (chroot). */
  readonly rootDir: string;
  /** SIGTERM, then SIGKILL after a few seconds; resolves once the process is gone. */
  stop(): Promise<void>;
  /** Stops, re-renders the configuration and starts again; resolves when ARI answers. */
  restart(): Promise<void>;
  /** Runs an Asterisk CLI command (`asterisk -rx`) and returns its output. */
  cli(command: string): Promise<string>;
}

export interface StartOptions {
  /** Instance name: one chroot per running Asterisk. Default `dev`. */
  instance?: string;
  log?: Log;
  /** How long to wait for ARI to answer. Default 15 s. */
  readyTimeoutMs?: number;
  /** Benchmarks only: render the dialplan baseline too (see renderAsteriskConfig's RenderOptions). */
  bench?: boolean;
  /**
   * Files written into the root (path as Asterisk sees it → content) after its configuration,
   * owned by root and readable by Asterisk's group only: a TLS certificate and key, for instance.
   */
  files?: Readonly<Record<string, string>>;
}

/** Fresh /etc/asterisk (our files only), hosts file, run/spool/log directories owned by asterisk. */
function prepareRoot(root: string, config: Config, bench = false): void {
  const { uid, gid } = passwdIds(root, 'asterisk');
  const etc = join(root, 'etc/asterisk');
  // The packaged files warn (users.conf) or open ports (manager.conf): Asterisk gets ours only.
  rmSync(etc, { recursive: true, force: true });
  writeAsteriskConfig(config, etc, { bench });
  chownSync(etc, 0, gid);
  for (const f of readdirSync(etc)) chownSync(join(etc, f), 0, gid);
  // debootstrap writes no /etc/hosts: Asterisk would resolve its own hostname over DNS at start.
  const name = hostname();
  writeFileSync(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost ${name}\n::1\tlocalhost ip6-localhost ip6-loopback ${name}\n`);
  for (const d of ['run/asterisk', 'var/spool/asterisk', 'var/spool/asterisk/recording', 'var/log/asterisk', 'var/lib/asterisk']) {
    const p = join(root, d);
    mkdirSync(p, { recursive: true });
    chownSync(p, uid, gid);
  }
  installSounds(root, uid, gid);
  for (const f of ['asterisk.ctl', 'asterisk.pid']) rmSync(join(root, 'run/asterisk', f), { force: true });
  const messages = join(root, 'var/log/asterisk/messages.log');
  if (existsSync(messages)) renameSync(messages, `${messages}.1`);
}

function writeRootFiles(root: string, files: Readonly<Record<string, string>>): void {
  const { gid } = passwdIds(root, 'asterisk');
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, content, { mode: 0o640 });
    chownSync(target, 0, gid);
  }
}

/**
 * Errors that leave Asterisk up but useless: ARI answers while the SIP transport failed to bind
 * (port taken) or a module we list declined to load (the traps in modules.conf).
 */
function startupErrors(messagesLog: string): string[] {
  let text = '';
  try {
    text = readFileSync(messagesLog, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => /\bERROR\[/.test(l) && /could not be started|Unable to bind|declined to load|Failed to resolve dependencies|Could not create an object/i.test(l));
}

function booted(messagesLog: string): boolean {
  try {
    return readFileSync(messagesLog, 'utf8').includes('Asterisk Ready.');
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (!/^\d+ \(.*\) Z/.test(stat)) return true;
    // A zombie is gone for our purposes once its last thread is: the main thread of an exiting
    // Asterisk turns zombie while its other threads still hold the process's sockets (the next
    // instance then found 5060 and 8088 taken, on a loaded machine).
    return readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

/** PIDs of processes whose root directory is `root` (an Asterisk left over from a crashed run). */
function processesInRoot(root: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/root`) === root) out.push(Number(entry));
    } catch {
      // gone, or not ours to inspect
    }
  }
  return out;
}

async function waitUntil(check: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** SIGTERM (Asterisk stops cleanly in ~0.8 s), SIGKILL after `graceMs`. */
async function terminate(pid: number, graceMs = 5_000): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitUntil(() => !alive(pid), graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  if (!(await waitUntil(() => !alive(pid), 3_000))) throw new Error(`Asterisk (pid ${pid}) did not exit after SIGKILL`);
}

function authHeader(config: Config): string {
  return `Basic ${Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64')}`;
}

async function ariStatus(config: Config, path: string): Promise<number | undefined> {
  try {
    const res = await fetch(`${config.ari.url}/ari${path}`, {
      headers: { authorization: authHeader(config) },
      signal: AbortSignal.timeout(1_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return undefined;
  }
}

/** Polls GET /ari/applications/<app> until 200: the router's websocket is registered and calls can arrive. */
export async function waitForApp(config: Config, timeoutMs: number): Promise<void> {
  const path = `/applications/${encodeURIComponent(config.ari.app)}`;
  const deadline = Date.now() + timeoutMs;
  let last: number | undefined;
  while (Date.now() < deadline) {
    last = await ariStatus(config, path);
    if (last === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`ARI application "${config.ari.app}" not registered after ${timeoutMs} ms (last status ${last ?? 'no answer'})`);
}

function pidFile(instance: string): string {
  return join(instanceDir(instance), 'asterisk.pid');
}

function readPid(instance: string): number | undefined {
  try {
    const pid = Number(readFileSync(pidFile(instance), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops whatever Asterisk runs in the instance (by PID file, and any process left in its root). */
export async function stopInstance(instance = 'dev'): Promise<boolean> {
  const root = join(instanceDir(instance), 'rootfs');
  // By root directory rather than by PID file alone: a PID in a stale file may belong to anything now.
  const pids = existsSync(root) ? processesInRoot(root) : [];
  for (const pid of pids) await terminate(pid);
  rmSync(pidFile(instance), { force: true });
  return pids.length > 0;
}

/**
 * Renders our configuration into the instance's /etc/asterisk, starts Asterisk in its chroot and
 * resolves once ARI answers (GET /ari/asterisk/info). Fails with the tail of Asterisk's log otherwise.
 */
export async function startAsterisk(config: Config, opts: StartOptions = {}): Promise<AsteriskHandle> {
  const instance = opts.instance ?? 'dev';
  const log = opts.log ?? noop;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 15_000;
  requireRoot('running the Asterisk sandbox');
  const root = await ensureInstance(instance, log);
  const dir = instanceDir(instance);
  const outFile = join(dir, 'asterisk.out');

  let pid = 0;

  const launch = async (): Promise<void> => {
    await stopInstance(instance); // one Asterisk per root, even after a crashed run
    prepareRoot(root, config, opts.bench === true);
    writeRootFiles(root, opts.files ?? {});
    const out = openSync(outFile, 'w');
    // setsid: its own session, so the Asterisk outlives a CLI `start` and no terminal signal reaches it.
    // Our child is no process-group leader, so setsid execs instead of forking: the PID is Asterisk's.
    const proc = spawn('setsid', ['chroot', root, '/usr/sbin/asterisk', '-f', '-n', '-U', 'asterisk', '-G', 'asterisk'], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const spawned = await new Promise<number>((res, rej) => {
      proc.once('spawn', () => res(proc.pid ?? 0));
      proc.once('error', (err) => rej(new Error(`cannot start Asterisk: ${err.message}`)));
    });
    proc.unref();
    pid = spawned;
    writeFileSync(pidFile(instance), `${pid}\n`);
    let exited: string | undefined;
    proc.once('exit', (code, signal) => {
      exited = signal ?? `exit code ${code}`;
    });

    const messagesLog = join(root, 'var/log/asterisk/messages.log');
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline && exited === undefined) {
      // "Asterisk Ready." comes after every module loaded: only then are load errors all written.
      if (booted(messagesLog) && (await ariStatus(config, '/asterisk/info')) === 200) {
        const broken = startupErrors(messagesLog);
        if (broken.length === 0) {
          log(`asterisk ${instance} up (pid ${pid})`);
          return;
        }
        await terminate(pid);
        rmSync(pidFile(instance), { force: true });
        throw new Error(`Asterisk started with broken configuration:\n${broken.join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const why = exited !== undefined ? `Asterisk exited (${exited})` : `ARI did not answer at ${config.ari.url} within ${readyTimeoutMs} ms`;
    if (exited === undefined) await terminate(pid);
    rmSync(pidFile(instance), { force: true });
    throw new Error(
      `${why}.\n--- ${root}/var/log/asterisk/messages.log (tail)\n${tail(join(root, 'var/log/asterisk/messages.log'), 30)}` +
        `\n--- ${outFile} (tail)\n${tail(outFile, 15)}`,
    );
  };

  const stop = async (): Promise<void> => {
    if (pid !== 0) await terminate(pid);
    rmSync(pidFile(instance), { force: true });
  };

  await launch();
  return {
    get pid() {
      return pid;
    },
    rootDir: root,
    stop,
    restart: async () => {
      await stop();
      await launch();
    },
    cli: (command: string) => asteriskCli(root, command),
  };
}

/** `asterisk -rx` inside the chroot; talks to the instance's control socket. */
export function asteriskCli(root: string, command: string): Promise<string> {
  return new Promise((res, rej) => {
    execFile('chroot', [root, '/usr/sbin/asterisk', '-rx', command], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) rej(new Error(`asterisk -rx "${command}": ${err.message} ${stderr}`.trim()));
      // Every asterisk process started in a namespace without ethernet says so first: not output.
      else res(stdout.replace(/^No ethernet interface found for seeding global EID\..*\n/m, ''));
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const instance = flagValue(rest, '--instance') ?? 'dev';
  const say: Log = (m) => process.stdout.write(`${m}\n`);
  switch (command) {
    case 'provision': {
      const root = await ensureSandbox(say);
      say(`sandbox: ${root}`);
      return 0;
    }
    case 'start': {
      const config = loadConfig(process.env);
      const handle = await startAsterisk(config, { instance, log: say });
      say(`asterisk ${instance} running, pid ${handle.pid}, ARI ${config.ari.url}, SIP ${config.sip.bindHost}:${config.sip.port}`);
      say(`stop it with: npx tsx scripts/asterisk-sandbox.ts stop${instance === 'dev' ? '' : ` --instance ${instance}`}`);
      return 0;
    }
    case 'stop': {
      const stopped = await stopInstance(instance);
      say(stopped ? `asterisk ${instance} stopped` : `asterisk ${instance} was not running`);
      return 0;
    }
    case 'status': {
      const pid = readPid(instance);
      if (pid === undefined || !alive(pid)) {
        say(`asterisk ${instance}: not running`);
        return 3;
      }
      say(`asterisk ${instance}: running, pid ${pid}, root ${join(instanceDir(instance), 'rootfs')}`);
      return 0;
    }
    default:
      process.stderr.write('usage: npx tsx scripts/asterisk-sandbox.ts provision|start|stop|status [--instance NAME]\n');
      return 2;
  }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      process.stderr.write(`asterisk-sandbox: ${err.message}\n`);
      process.exit(1);
    },
  );
}
