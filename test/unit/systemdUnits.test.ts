import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loadConfig.js';
import { ASTERISK_UNIT, DEFAULT_UNIT_OPTIONS, renderSystemdUnits, ROUTER_UNIT } from '../../scripts/renderSystemdUnits.js';

const env = { CALLROUTE_ADMIN_TOKEN: 'a'.repeat(32), ARI_PASSWORD: 'ari-secret', CALLROUTE_DB_PATH: '/var/lib/callroute/calls.db', RECORDINGS_DIR: '/var/lib/callroute/recordings', PRIVACY_EXPORTS_DIR: '/var/lib/callroute/exports', PRIVACY_ERASURE_LIST: '/var/lib/callroute/erasures.jsonl' };

describe('the systemd units production runs', () => {
  it('both restart always; the router comes after Asterisk without being bound to it, as its own user in the asterisk group', () => {
    const units = renderSystemdUnits(loadConfig(env));
    const asterisk = units.get(ASTERISK_UNIT) ?? '';
    const router = units.get(ROUTER_UNIT) ?? '';
    for (const unit of [asterisk, router]) {
      expect(unit).toContain('Restart=always\n');
      expect(unit).toContain('NoNewPrivileges=yes\n');
      expect(unit).toContain('ProtectHome=yes\n');
    }
    // Root for real-time priority (highpriority), then Asterisk drops to its own user.
    expect(asterisk).not.toMatch(/^User=/m);
    expect(asterisk).toContain('ExecStart=/usr/sbin/asterisk -f -n -U asterisk -G asterisk -C /etc/asterisk/asterisk.conf\n');
    expect(router).toContain(`After=${ASTERISK_UNIT} network-online.target\n`);
    expect(router).toContain(`Wants=${ASTERISK_UNIT}\n`);
    // An Asterisk restart must not stop the router: no Requires/BindsTo/PartOf.
    expect(router).not.toMatch(/^(Requires|BindsTo|PartOf)=/m);
    expect(router).toContain('User=callroute\nGroup=callroute\nSupplementaryGroups=asterisk\n');
    expect(router).toContain('ExecStart=/usr/bin/node --enable-source-maps /opt/callroute/dist/src/main.js\n');
    expect(router).toContain('Environment=CALLROUTE_CONFIG_FILE=/etc/callroute/callroute.env\n');
    // Rendered from the configuration: it may write its database, its recordings, its privacy exports and Asterisk's spool and sounds, nothing else.
    expect(router).toContain('ProtectSystem=strict\n');
    expect(router).toContain('ReadWritePaths=-/var/lib/callroute -/var/lib/callroute/recordings -/var/lib/callroute/exports -/var/spool/asterisk -/var/spool/asterisk/recording -/var/lib/asterisk/sounds/callroute\n');
    expect(router).not.toContain('ari-secret');
  });

  it('systemd-analyze verify accepts both units', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callroute-units-'));
    // verify checks that each ExecStart binary exists: this machine has node, and no Asterisk outside the sandbox.
    const units = renderSystemdUnits(loadConfig(env), { ...DEFAULT_UNIT_OPTIONS, nodeBinary: process.execPath, asteriskBinary: '/bin/true' });
    for (const [name, text] of units) writeFileSync(join(dir, name), text);
    const out = execFileSync('systemd-analyze', ['verify', join(dir, ASTERISK_UNIT), join(dir, ROUTER_UNIT)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out.trim()).toBe('');
  });
});
