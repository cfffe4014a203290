/**
 * Router not connected → the dialplan fallback keeps calls flowing. Stasis() returns at once with
 * STASISSTATUS=FAILED when no app is registered, so these need only the Asterisk sandbox and sipp: no router.
 *
 * Runs inside a private network namespace (scripts/test.sh: `unshare -n`), where fixed ports cannot
 * collide with anything on the host.
 */
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/loadConfig.js';
import { startAsterisk, type AsteriskHandle } from '../../scripts/asterisk-sandbox.js';
import { expectNoChannelsOrBridges } from './harness/asteriskState.js';
import { startRtpCapture, type RtpCapture } from './harness/rtpCapture.js';
import {
  describeSipp,
  receivedInviteFinalCodes,
  receivedInviteUsers,
  startSipp,
  type SippHandle,
} from './harness/sipp.js';

// Another instance name lets a second checkout's suite run beside this one (one chroot per Asterisk).
const INSTANCE = process.env.CALLFLOW_ASTERISK_INSTANCE || 'test';
const DID = '+15551230000';
const CALLER = '+15559876543';
const FALLBACK_DESTINATION = '+15550001111';
// sipp media ports outside Asterisk's RTP range (10000-20000), so a flow's ports say who sent it.
const CARRIER_MEDIA = 30000;
const DESTINATION_MEDIA = 30100;
const SIPP_TIMEOUT_MS = 20_000;

const baseEnv = {
  ARI_PASSWORD: 'test-secret',
  CALLROUTE_ADMIN_TOKEN: 'x'.repeat(32),
};

/** Refuses to run on the host's network: SIP 5060 and sipp's fixed ports would hit whatever runs there. */
function assertPrivateNetns(): void {
  let links: string;
  try {
    links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  } catch (err) {
    throw new Error(`cannot list network links (ip -o link): ${(err as Error).message}`);
  }
  const names = links
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(':')[1]?.trim().split('@')[0] ?? '?');
  if (names.length !== 1 || names[0] !== 'lo') {
    throw new Error(
      `call-flow tests must run in a private network namespace with only lo (found: ${names.join(', ')}). ` +
        "Run them through scripts/test.sh, or: unshare -n bash -c 'ip link set lo up; npx vitest run test/callflow'",
    );
  }
  if (!/<[^>]*\bUP\b[^>]*>/.test(links)) {
    throw new Error("loopback is down in this network namespace: run 'ip link set lo up' first");
  }
}

describe('router not connected: dialplan fallback', () => {
  let asterisk: AsteriskHandle | undefined;
  let config: Config;
  const running: SippHandle[] = [];
  let capture: RtpCapture | undefined;

  async function useAsterisk(env: Record<string, string>): Promise<Config> {
    if (asterisk) await asterisk.stop();
    asterisk = undefined;
    config = loadConfig({ ...baseEnv, ...env });
    asterisk = await startAsterisk(config, { instance: INSTANCE });
    return config;
  }

  function sipp(opts: Parameters<typeof startSipp>[0]): SippHandle {
    const handle = startSipp(opts);
    running.push(handle);
    return handle;
  }

  function carrier(scenario: string, holdMs?: number): SippHandle {
    return sipp({
      scenario,
      role: 'uac',
      localPort: 5070,
      mediaPort: CARRIER_MEDIA,
      controlPort: 8891,
      remote: `${config.sip.bindHost}:${config.sip.port}`,
      dialed: DID,
      caller: CALLER,
      holdMs,
      timeoutMs: SIPP_TIMEOUT_MS,
    });
  }

  function destination(scenario: string): SippHandle {
    return sipp({
      scenario,
      role: 'uas',
      localPort: 5080,
      mediaPort: DESTINATION_MEDIA,
      controlPort: 8892,
      timeoutMs: SIPP_TIMEOUT_MS,
    });
  }

  beforeAll(() => {
    assertPrivateNetns();
  });

  afterEach(async () => {
    for (const h of running.splice(0)) {
      h.kill();
      await h.done;
    }
    if (capture) await capture.stop().catch(() => undefined);
    capture = undefined;
  });

  afterAll(async () => {
    await asterisk?.stop();
  });

  it('FALLBACK_MODE=reject: the carrier gets 503 and no INVITE reaches a destination', async () => {
    await useAsterisk({ FALLBACK_MODE: 'reject', FALLBACK_SIP_CODE: '503' });
    const dest = destination('destination-answers');
    const call = carrier('carrier-call-expect-503');

    const c = await call.done;
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(receivedInviteFinalCodes(c.messages ?? ''), describeSipp('carrier', c)).toEqual([503]);

    // The carrier has its 503: had Asterisk dialed out, the INVITE would have reached sipp before it.
    dest.kill();
    const d = await dest.done;
    expect(receivedInviteUsers(d.messages ?? ''), describeSipp('destination', d)).toEqual([]);

    await expectNoChannelsOrBridges(config);
  }, 60_000);

  it('FALLBACK_MODE=dial: the fallback destination answers and audio flows both ways through Asterisk', async () => {
    await useAsterisk({ FALLBACK_MODE: 'dial', FALLBACK_DESTINATION, FALLBACK_RING_TIMEOUT: '10' });
    capture = await startRtpCapture({ portRange: [CARRIER_MEDIA, DESTINATION_MEDIA + 99] });
    const dest = destination('destination-answers');
    const call = carrier('carrier-call-answered-hangs-up', 3_000);

    const [c, d] = await Promise.all([call.done, dest.done]);
    const diagnosis = `${describeSipp('carrier', c)}\n${describeSipp('destination', d)}`;
    expect(c.exitCode, diagnosis).toBe(0);
    expect(d.exitCode, diagnosis).toBe(0);
    expect(receivedInviteUsers(d.messages ?? ''), diagnosis).toEqual([FALLBACK_DESTINATION]);
    expect(receivedInviteFinalCodes(c.messages ?? ''), diagnosis).toEqual([200]);

    const rtp = await capture.stop();
    capture = undefined;
    const flows = rtp.describe();
    // g711a.pcap sends 30 ms packets: ~3 s is ~90 each way; 50 proves sustained audio, not a stray packet.
    expect(rtp.packetsTo(CARRIER_MEDIA), `carrier heard the destination?\n${flows}`).toBeGreaterThanOrEqual(50);
    expect(rtp.packetsTo(DESTINATION_MEDIA), `destination heard the carrier?\n${flows}`).toBeGreaterThanOrEqual(50);
    // Media is anchored in Asterisk (direct_media = no): the sipps never talk to each other directly.
    const direct = rtp.flows.filter(
      (f) => [CARRIER_MEDIA, DESTINATION_MEDIA].includes(f.srcPort) && [CARRIER_MEDIA, DESTINATION_MEDIA].includes(f.dstPort),
    );
    expect(direct, `RTP bypassed Asterisk\n${flows}`).toEqual([]);

    await expectNoChannelsOrBridges(config);
  }, 60_000);
});
