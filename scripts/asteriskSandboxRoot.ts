/**
 * The Asterisk sandbox's root filesystems: the base provisioned once (debootstrap + apt from Debian
 * sid, cached under CALLROUTE_SANDBOX_CACHE), and each instance's own copy of it. Starting and
 * stopping an instance is scripts/asterisk-sandbox.ts.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  appendFileSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Log = (message: string) => void;

const REPO_ROOT = findRepoRoot();
const STAMP = '.callroute-sandbox';
const PACKAGES = ['asterisk', 'asterisk-modules'];
// The mirror's sid Release file is past its Valid-Until date: apt refuses it without this flag.
const APT_FLAGS = ['-o', 'Acquire::Check-Valid-Until=false'];

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i += 1) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** Where the cached base and this repo's instances live. */
export function sandboxPaths(env: Record<string, string | undefined> = process.env): {
  cacheDir: string;
  baseRoot: string;
  instancesDir: string;
} {
  const cacheDir = resolve(env.CALLROUTE_SANDBOX_CACHE || '/var/lib/callroute');
  return {
    cacheDir,
    baseRoot: join(cacheDir, 'rootfs'),
    instancesDir: resolve(env.CALLROUTE_SANDBOX_INSTANCES || join(REPO_ROOT, '.sandbox', 'instances')),
  };
}

function mirror(): string {
  return process.env.CALLROUTE_DEBIAN_MIRROR || 'http://deb.debian.org/debian';
}

export const noop: Log = () => {};

export function requireRoot(what: string): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${what} needs root (debootstrap and chroot): run it as root, e.g. sudo npx tsx scripts/asterisk-sandbox.ts provision`);
  }
}

function onPath(cmd: string): boolean {
  const dirs = (process.env.PATH || '/usr/sbin:/usr/bin:/sbin:/bin').split(':');
  return [...dirs, '/usr/sbin', '/sbin'].some((d) => existsSync(join(d, cmd)));
}

/** Runs a command with its output appended to `logFile`; rejects with the log's tail on failure. */
function run(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  appendFileSync(logFile, `\n$ ${cmd} ${args.join(' ')}\n`);
  return new Promise((resolveRun, reject) => {
    const fd = openSync(logFile, 'a');
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolveRun();
      else reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (${signal ?? `exit ${code}`}):\n${tail(logFile, 25)}`));
    });
  });
}

export function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

async function checkMirror(url: string): Promise<void> {
  try {
    const res = await fetch(`${url}/dists/sid/Release`, { method: 'HEAD', signal: AbortSignal.timeout(15_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new Error(
      `cannot reach Debian's package mirror ${url} (${(err as Error).message}${cause ? `: ${cause}` : ''}); ` +
        'provisioning the Asterisk sandbox needs network access once (set CALLROUTE_DEBIAN_MIRROR for another mirror)',
    );
  }
}

/**
 * Makes sure the cached Debian sid root filesystem with Asterisk exists; provisions it (~35 s, ~440 MB)
 * the first time. Returns its path. Safe to call concurrently: the finished tree is renamed into place.
 */
export async function ensureSandbox(log: Log = noop): Promise<string> {
  const { cacheDir, baseRoot } = sandboxPaths();
  if (existsSync(join(baseRoot, STAMP))) return baseRoot;
  requireRoot('provisioning the Asterisk sandbox');
  if (!onPath('debootstrap')) {
    throw new Error('debootstrap is not installed: apt-get install debootstrap (scripts/setup.sh installs everything needed)');
  }
  if (!onPath('chroot')) throw new Error('chroot (coreutils) is not on PATH');
  const url = mirror();
  await checkMirror(url);

  mkdirSync(cacheDir, { recursive: true });
  const partial = join(cacheDir, `rootfs.partial-${process.pid}`);
  const logFile = join(cacheDir, 'provision.log');
  writeFileSync(logFile, `provisioning ${baseRoot} at ${new Date().toISOString()}\n`);
  rmSync(partial, { recursive: true, force: true });
  const started = Date.now();
  try {
    log(`provisioning Debian sid with Asterisk into ${baseRoot} (about 35 s, log: ${logFile})`);
    await run('debootstrap', ['--variant=minbase', 'sid', partial, url], logFile);
    // Keep package scripts from starting services inside the chroot while installing.
    writeFileSync(join(partial, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' };
    await run('chroot', [partial, 'apt-get', ...APT_FLAGS, 'update'], logFile, aptEnv);
    await run(
      'chroot',
      [partial, 'apt-get', ...APT_FLAGS, 'install', '-y', '--no-install-recommends', ...PACKAGES],
      logFile,
      aptEnv,
    );
    await run('chroot', [partial, 'apt-get', 'clean'], logFile, aptEnv);
    if (!existsSync(join(partial, 'usr/sbin/asterisk'))) throw new Error(`no /usr/sbin/asterisk after apt-get install:\n${tail(logFile, 25)}`);
    writeFileSync(join(partial, STAMP), `provisioned ${new Date().toISOString()} from ${url}\n`);
    if (existsSync(join(baseRoot, STAMP))) {
      rmSync(partial, { recursive: true, force: true }); // another process finished first
    } else {
      rmSync(baseRoot, { recursive: true, force: true });
      renameSync(partial, baseRoot);
    }
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`provisioning the Asterisk sandbox failed: ${(err as Error).message}`);
  }
  log(`sandbox ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return baseRoot;
}

export function instanceDir(instance: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(instance)) throw new Error(`bad instance name "${instance}"`);
  return join(sandboxPaths().instancesDir, instance);
}

/** The instance's own copy of the base (made once with cp -a). Returns its root filesystem. */
export async function ensureInstance(instance: string, log: Log): Promise<string> {
  const dir = instanceDir(instance);
  const root = join(dir, 'rootfs');
  if (existsSync(join(root, STAMP))) return root;
  const base = await ensureSandbox(log);
  mkdirSync(dir, { recursive: true });
  const partial = join(dir, `rootfs.partial-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  log(`copying the sandbox into instance ${instance}`);
  const logFile = join(dir, 'copy.log');
  writeFileSync(logFile, '');
  await run('cp', ['-a', base, partial], logFile);
  rmSync(root, { recursive: true, force: true });
  renameSync(partial, root);
  return root;
}

export function passwdIds(root: string, user: string): { uid: number; gid: number } {
  const line = readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  const parts = line?.split(':');
  if (!parts || parts.length < 4) throw new Error(`no ${user} user in ${root}/etc/passwd`);
  return { uid: Number(parts[2]), gid: Number(parts[3]) };
}

/**
 * Our sounds (the default recording announcement) into the directory the router plays from
 * (`ASTERISK_SOUNDS_DIR`); uploaded announcements are written there by the API.
 */
export function installSounds(root: string, uid: number, gid: number): void {
  const dir = join(root, 'var/lib/asterisk/sounds/callroute');
  mkdirSync(dir, { recursive: true });
  chownSync(dir, uid, gid);
  const assets = join(REPO_ROOT, 'assets/sounds');
  if (!existsSync(assets)) return;
  for (const f of readdirSync(assets)) copyFileSync(join(assets, f), join(dir, f));
}

