/**
 * Router not connected → the dialplan fallback keeps calls flowing. Stasis() returns at once with
 * STASISSTATUS=FAILED when no app is registered, so these need only the Asterisk sandbox and sipp: no router.
 *
 * Runs inside a private network namespace (scripts/test.sh: `unshare -n`), where fixed ports cannot
 * collide with anything on the host.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/loadConfig.js';
import { startAsterisk, type AsteriskHandle } from '../../scripts/asterisk-sandbox.js';
import { expectNoChannelsOrBridges } from './harness/asteriskState.js';
import { startRtpCapture, type RtpCapture } from './harness/rtpCapture.js';
import {
  describeSipp,
  parseSippMessages,
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
  // sipp traces and captures of the whole file; kept (and named in failures) only if a test fails.
  const runDir = mkdtempSync(join(tmpdir(), 'callflow-fallback-'));
  let traceCount = 0;
  let failures = 0;

  let runningEnv = '';

  /** (Re)starts Asterisk only when the configuration changes: tests sharing one run back to back. */
  async function useAsterisk(env: Record<string, string>): Promise<Config> {
    const key = JSON.stringify(env);
    if (asterisk && key === runningEnv) return config;
    if (asterisk) await asterisk.stop();
    asterisk = undefined;
    config = loadConfig({ ...baseEnv, ...env });
    asterisk = await startAsterisk(config, { instance: INSTANCE });
    runningEnv = key;
    return config;
  }

  function sipp(opts: Parameters<typeof startSipp>[0]): SippHandle {
    traceCount += 1;
    const handle = startSipp({ traceDir: join(runDir, `${traceCount}-${opts.role}-${opts.scenario}`), ...opts });
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

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail') failures += 1;
    for (const h of running.splice(0)) {
      h.kill();
      await h.done;
    }
    if (capture) await capture.stop().catch(() => undefined);
    capture = undefined;
  });

  afterAll(async () => {
    await asterisk?.stop();
    if (failures === 0) rmSync(runDir, { recursive: true, force: true });
  });

  it.each([503, 404])('FALLBACK_MODE=reject, FALLBACK_SIP_CODE=%i: the carrier gets it and no INVITE reaches a destination', async (code) => {
    await useAsterisk({ FALLBACK_MODE: 'reject', FALLBACK_SIP_CODE: String(code) });
    const dest = destination('destination-answers');
    const call = carrier(`carrier-call-expect-${code}`);

    const c = await call.done;
    expect(c.exitCode, describeSipp('carrier', c)).toBe(0);
    expect(receivedInviteFinalCodes(c.messages ?? ''), describeSipp('carrier', c)).toEqual([code]);

    // The carrier has its final response: had Asterisk dialed out, the INVITE would have reached sipp before it.
    dest.kill();
    const d = await dest.done;
    expect(receivedInviteUsers(d.messages ?? ''), describeSipp('destination', d)).toEqual([]);

    await expectNoChannelsOrBridges(config);
  }, 60_000);

  describe('FALLBACK_MODE=dial', () => {
    const dialEnv = { FALLBACK_MODE: 'dial', FALLBACK_DESTINATION, FALLBACK_RING_TIMEOUT: '3' };

    /** Runs a carrier and a destination scenario to the end; both must succeed. */
    async function callFlow(carrierScenario: string, destinationScenario: string, hold: { carrierMs?: number; destinationMs?: number } = {}) {
      await useAsterisk(dialEnv);
      const dest = sipp({
        scenario: destinationScenario,
        role: 'uas',
        localPort: 5080,
        mediaPort: DESTINATION_MEDIA,
        controlPort: 8892,
        holdMs: hold.destinationMs,
        timeoutMs: SIPP_TIMEOUT_MS,
      });
      const call = carrier(carrierScenario, hold.carrierMs);
      const [c, d] = await Promise.all([call.done, dest.done]);
      const diagnosis = `${describeSipp('carrier', c)}\n${describeSipp('destination', d)}`;
      expect(c.exitCode, diagnosis).toBe(0);
      expect(d.exitCode, diagnosis).toBe(0);
      expect(receivedInviteUsers(d.messages ?? ''), diagnosis).toEqual([FALLBACK_DESTINATION]);
      return { c, d, diagnosis };
    }

    it('the fallback destination answers and audio flows both ways through Asterisk', async () => {
      await useAsterisk(dialEnv);
      capture = await startRtpCapture({ portRange: [CARRIER_MEDIA, DESTINATION_MEDIA + 99], file: join(runDir, 'dial-answered.pcap') });
      const { c, diagnosis } = await callFlow('carrier-call-answered-hangs-up', 'destination-answers', { carrierMs: 3_000 });
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

    it('the destination hangs up first: the carrier gets the BYE', async () => {
      const { c, diagnosis } = await callFlow('carrier-call-remote-hangs-up', 'destination-answers-then-hangs-up', { destinationMs: 1_500 });
      expect(receivedInviteFinalCodes(c.messages ?? ''), diagnosis).toEqual([200]);
      await expectNoChannelsOrBridges(config);
    }, 60_000);

    it('early media: the destination\'s 183 with SDP reaches the carrier before the answer', async () => {
      const { c, diagnosis } = await callFlow('carrier-call-answered-hangs-up', 'destination-answers-after-early-media', { carrierMs: 1_000 });
      const received = parseSippMessages(c.messages ?? '').filter((m) => m.direction === 'received');
      const progress = received.findIndex((m) => m.startLine.startsWith('SIP/2.0 183') && /\r?\n\r?\nv=0/.test(m.text));
      const answer = received.findIndex((m) => m.startLine.startsWith('SIP/2.0 200') && /CSeq:\s*\d+ INVITE/i.test(m.text));
      expect(progress, diagnosis).toBeGreaterThanOrEqual(0);
      expect(progress, diagnosis).toBeLessThan(answer);
      await expectNoChannelsOrBridges(config);
    }, 60_000);

    it('the destination is busy: the carrier gets 486', async () => {
      await callFlow('carrier-call-expect-486', 'destination-busy');
      await expectNoChannelsOrBridges(config);
    }, 60_000);

    it('nobody answers within FALLBACK_RING_TIMEOUT: the destination is cancelled and the carrier gets 480', async () => {
      await callFlow('carrier-call-expect-480', 'destination-rings-no-answer');
      await expectNoChannelsOrBridges(config);
    }, 60_000);

    it('the caller gives up while it rings: CANCEL reaches the destination, the carrier gets 487', async () => {
      await callFlow('carrier-call-cancel-while-ringing', 'destination-rings-no-answer', { carrierMs: 1_000 });
      await expectNoChannelsOrBridges(config);
    }, 60_000);
  });
});
