/**
 * `npm run bench [-- --quick] [-- --only pdd,cpu,capacity,overload,webhooks,sqlite,transcode,signin] [-- --overload-cap N]`
 * (`--overload-cap`: the cap the overload phase uses when capacity did not run in the same invocation)
 *
 * The router against Asterisk's own dialplan doing the same job (MixMonitor + Dial), on one real
 * Asterisk (sandbox instance `bench`) in one run, with sipp as carrier and destination on loopback in
 * a private network namespace (this script re-executes itself under `unshare -n`). Prints a table
 * and writes JSON to bench/results/. Stops by itself: every phase is bounded, and a time budget
 * cuts the capacity ramp short (said so in the result) rather than overrun.
 */
import { spawnSync } from 'node:child_process';
import { setPriority } from 'node:os';
import { resolve } from 'node:path';

// The bench's parts: settings.ts (flags, the plan, fixed ports), rig.ts (the Asterisk, router and
// destination phone it drives), runLoad.ts (one sipp load run, measured), integrity.ts (records and
// recordings checked after a run), phases/ (one file per phase), renderTable.ts (the markdown
// table), benchMain.ts (the order of the phases, the JSON written). They are loaded only once this
// process runs in the namespace: loading them makes the work directory and reads the machine.

const REPO = resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);

// Not yet in a private network namespace: run this script again in one.
if (process.env.CALLROUTE_BENCH_NETNS !== '1') {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    process.stderr.write('bench: needs root (unshare -n, chroot for Asterisk, tcpdump)\n');
    process.exit(2);
  }
  const r = spawnSync(
    'unshare',
    ['-n', 'sh', '-c', 'ip link set lo up && { ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; } && exec "$@"', 'sh', process.execPath, '--import', 'tsx', import.meta.filename, ...argv],
    { stdio: 'inherit', cwd: REPO, env: { ...process.env, CALLROUTE_BENCH_NETNS: '1' } },
  );
  process.exit(r.status ?? 1);
}

// The box may be shared (other people's builds and tests): everything the bench starts (Asterisk,
// the router, sipp, tcpdump) inherits this priority, the same for both designs.
try {
  setPriority(-10);
} catch {
  // not permitted: run at normal priority
}

await import('./benchMain.js');
