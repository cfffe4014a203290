/**
 * The systemd units production runs, rendered from the same configuration as the router and the
 * Asterisk files (docs/operations.md "Running against a production Asterisk"):
 *
 *   npx tsx scripts/renderSystemdUnits.ts --out /etc/systemd/system [--install-dir /opt/callroute]
 *
 * Asterisk and the router are separate services, both `Restart=always`. The router is ordered
 * after Asterisk and wants it, but is not bound to it: an Asterisk restart must not stop the
 * router (it reconnects by itself), and a router restart must not touch Asterisk (calls keep
 * talking; new ones fall back in the dialplan meanwhile). The router runs as its own user, in
 * Asterisk's group for the recording spool, the end report file and the sounds directory, with
 * write access to nothing else but its database and recordings.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../src/config/loadConfig.js';
import { END_REPORT_FILE } from '../src/telephony/dialplanHook/routeTable.js';
import { flagValue } from './cliArgs.js';

export const ASTERISK_UNIT = 'callroute-asterisk.service';
export const ROUTER_UNIT = 'callroute-router.service';

export interface UnitOptions {
  /** Where the built router lives (`npm ci && npm run build` there). */
  installDir: string;
  /** The KEY=VALUE file the router reads (CALLROUTE_CONFIG_FILE). */
  configFile: string;
  nodeBinary: string;
  asteriskBinary: string;
  routerUser: string;
  asteriskUser: string;
}

export const DEFAULT_UNIT_OPTIONS: UnitOptions = {
  installDir: '/opt/callroute',
  configFile: '/etc/callroute/callroute.env',
  nodeBinary: '/usr/bin/node',
  asteriskBinary: '/usr/sbin/asterisk',
  routerUser: 'callroute',
  asteriskUser: 'asterisk',
};

/** Sandboxing both services share: no new privileges, no kernel knobs, a private /tmp. */
const HARDENING = [
  'NoNewPrivileges=yes',
  'PrivateTmp=yes',
  'PrivateDevices=yes',
  'ProtectHome=yes',
  'ProtectKernelTunables=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'ProtectControlGroups=yes',
  'ProtectClock=yes',
  'ProtectHostname=yes',
  'RestrictNamespaces=yes',
  'RestrictSUIDSGID=yes',
  'LockPersonality=yes',
  'SystemCallArchitectures=native',
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
];

/** Started at boot, as any service. */
const INSTALL = ['', '[Install]', 'WantedBy=multi-user.target', ''];

/** The Asterisk paths the router writes, seen through ASTERISK_FS_ROOT. */
function asteriskPathsForRouter(config: Config): string[] {
  const root = config.recordings.asteriskRoot;
  return [dirname(END_REPORT_FILE), '/var/spool/asterisk/recording', '/var/lib/asterisk/sounds/callroute'].map((p) => join(root, p));
}

export function renderSystemdUnits(config: Config, opts: UnitOptions = DEFAULT_UNIT_OPTIONS): Map<string, string> {
  const asterisk = [
    '# Rendered by scripts/renderSystemdUnits.ts from the callroute configuration.',
    '[Unit]',
    'Description=Asterisk for callroute (SIP trunks, media, the dialplan that routes from its table)',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    // Started as root: asterisk.conf's highpriority (real-time scheduling ahead of the router and
    // transcodes) needs it, and Asterisk drops to its runuser/rungroup right after (-U/-G say so here too).
    // -f: stay in the foreground for systemd; -n: no colour codes in the journal.
    `ExecStart=${opts.asteriskBinary} -f -n -U ${opts.asteriskUser} -G ${opts.asteriskUser} -C /etc/asterisk/asterisk.conf`,
    `ExecReload=${opts.asteriskBinary} -rx "core reload"`,
    'Restart=always',
    'RestartSec=2',
    'LimitNOFILE=65536',
    'UMask=0007',
    // Asterisk writes its own state, spool (recordings, the end report file), logs and run dir.
    'ProtectSystem=full',
    'RuntimeDirectory=asterisk',
    'RuntimeDirectoryPreserve=yes',
    ...HARDENING,
    ...INSTALL,
  ].join('\n');

  const writable = [
    dirname(resolve(opts.installDir, config.dbPath)),
    resolve(opts.installDir, config.recordings.dir),
    // Privacy exports: ZIP archives written for a download link, removed when it expires.
    resolve(opts.installDir, config.privacy.exportsDir),
    // The erasure list (appended to by every erasure).
    dirname(resolve(opts.installDir, config.privacy.erasureList)),
    ...asteriskPathsForRouter(config),
  ].filter((path, i, all) => all.indexOf(path) === i);
  const router = [
    '# Rendered by scripts/renderSystemdUnits.ts from the callroute configuration.',
    '[Unit]',
    'Description=callroute router and admin API',
    // Ordered after Asterisk and wanting it, never bound to it: either restarts without the other.
    `Wants=${ASTERISK_UNIT}`,
    `After=${ASTERISK_UNIT} network-online.target`,
    '',
    '[Service]',
    'Type=simple',
    `User=${opts.routerUser}`,
    `Group=${opts.routerUser}`,
    `SupplementaryGroups=${opts.asteriskUser}`,
    `WorkingDirectory=${opts.installDir}`,
    `Environment=CALLROUTE_CONFIG_FILE=${opts.configFile}`,
    'Environment=NODE_ENV=production',
    `ExecStart=${opts.nodeBinary} --enable-source-maps ${join(opts.installDir, 'dist/src/main.js')}`,
    'Restart=always',
    'RestartSec=1',
    // SIGTERM: the router drains and leaves bridged calls up in Asterisk.
    'KillSignal=SIGTERM',
    'TimeoutStopSec=30',
    'UMask=0027',
    'ProtectSystem=strict',
    // `-`: a path not made yet (no recording so far) does not stop the service from starting.
    `ReadWritePaths=${writable.map((p) => `-${p}`).join(' ')}`,
    'CapabilityBoundingSet=',
    'AmbientCapabilities=',
    'RestrictRealtime=yes',
    // No MemoryDenyWriteExecute: V8's JIT needs writable, executable pages.
    ...HARDENING,
    ...INSTALL,
  ].join('\n');

  return new Map([
    [ASTERISK_UNIT, asterisk],
    [ROUTER_UNIT, router],
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const out = flagValue(argv, '--out');
  const opts: UnitOptions = {
    ...DEFAULT_UNIT_OPTIONS,
    installDir: flagValue(argv, '--install-dir') ?? DEFAULT_UNIT_OPTIONS.installDir,
    configFile: process.env.CALLROUTE_CONFIG_FILE ?? DEFAULT_UNIT_OPTIONS.configFile,
  };
  const units = renderSystemdUnits(loadConfig(), opts);
  for (const [name, text] of units) {
    if (out) {
      mkdirSync(out, { recursive: true });
      writeFileSync(join(out, name), text);
      console.log(`wrote ${join(out, name)}`);
    } else {
      process.stdout.write(`# --- ${name}\n${text}\n`);
    }
  }
}
