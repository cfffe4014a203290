import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/loadConfig.js';
import { startAsterisk, type AsteriskHandle } from '../../scripts/asterisk-sandbox.js';

// Runs inside `unshare -n` (scripts/test.sh): a private network namespace with only lo, as root.
const config = loadConfig({
  ARI_PASSWORD: 'sandbox-test-secret',
  CALLROUTE_ADMIN_TOKEN: 'sandbox-test-admin-token-0123456789',
  CALLROUTE_DB_PATH: ':memory:',
});
const auth = `Basic ${Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64')}`;

interface Socket {
  netid: string;
  address: string;
  port: number;
}

/** Listening/bound sockets of one process, from `ss -lntupH` (columns: netid state rq sq local peer process). */
async function socketsOf(pid: number): Promise<Socket[]> {
  const { stdout } = await promisify(execFile)('ss', ['-lntupH']);
  return stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${pid},`))
    .map((line) => {
      const [netid = '', , , , local = ''] = line.trim().split(/\s+/);
      const colon = local.lastIndexOf(':');
      return { netid, address: local.slice(0, colon), port: Number(local.slice(colon + 1)) };
    });
}

describe('Asterisk sandbox', () => {
  let asterisk: AsteriskHandle;

  beforeAll(async () => {
    asterisk = await startAsterisk(config, { instance: 'test' });
  });

  afterAll(async () => {
    await asterisk?.stop();
  });

  it('answers ARI with our credentials and refuses others', async () => {
    const info = await fetch(`${config.ari.url}/ari/asterisk/info`, { headers: { authorization: auth } });
    expect(info.status).toBe(200);
    const body = (await info.json()) as { system: { version: string } };
    expect(body.system.version).toMatch(/^22\./);

    const wrong = await fetch(`${config.ari.url}/ari/asterisk/info`, {
      headers: { authorization: `Basic ${Buffer.from(`${config.ari.username}:wrong`).toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    await wrong.arrayBuffer();
  });

  it('starts with no channels', async () => {
    const res = await fetch(`${config.ari.url}/ari/channels`, { headers: { authorization: auth } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it('listens on loopback only', async () => {
    const sockets = await socketsOf(asterisk.pid);
    const loopback = (a: string) => a === '127.0.0.1' || a === '[::1]';
    // pjproject's DNS resolver always opens two idle UDP client sockets on the wildcard address
    // (one IPv4, one IPv6); no setting removes them. Anything else must be on loopback.
    const wildcard = sockets.filter((s) => !loopback(s.address));
    expect(wildcard.every((s) => s.netid === 'udp' && (s.address === '0.0.0.0' || s.address === '[::]') && s.port !== config.sip.port)).toBe(true);
    expect(wildcard.length).toBeLessThanOrEqual(2);
    expect(sockets).toContainEqual({ netid: 'tcp', address: config.ari.host, port: config.ari.port });
    expect(sockets).toContainEqual({ netid: 'udp', address: config.sip.bindHost, port: config.sip.port });
  });

  it('loaded the SIP and ARI modules and only our configuration', async () => {
    const modules = await asterisk.cli('module show like pjsip');
    expect(modules).toMatch(/chan_pjsip\.so\s.*Running/);
    expect(modules).toMatch(/res_pjsip_authenticator_digest\.so\s.*Running/);
    const endpoints = await asterisk.cli('pjsip show endpoints');
    expect(endpoints).toMatch(/Endpoint:\s+carrier/);
    expect(endpoints).toMatch(/Endpoint:\s+destinations/);
    expect(existsSync(join(asterisk.rootDir, 'etc/asterisk/users.conf'))).toBe(false);
    expect(readFileSync(join(asterisk.rootDir, 'etc/hosts'), 'utf8')).toMatch(/^127\.0\.0\.1\s/m);
  });

  it('stops by PID', async () => {
    const pid = asterisk.pid;
    await asterisk.stop();
    // Gone, or at most a zombie waiting to be reaped.
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
    const down = await fetch(`${config.ari.url}/ari/asterisk/info`, { headers: { authorization: auth } }).then(
      (r) => r.status,
      () => 'refused',
    );
    expect(down).toBe('refused');
  });
});
