/**
 * The tone pcap really plays through sipp: a UAC with play_pcap_audio of our file calls a UAS
 * (sipp, playing sipp's own speech pcap back), tcpdump captures both directions, and each direction's
 * RTP payload decodes to what was sent. Runs in the private network namespace npm test provides.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeSamples } from '../callflow/harness/audioAnalysis.js';
import { requirePrivateNetwork } from '../callflow/harness/requirePrivateNetwork.js';
import { decodeUdp, isRtp, parsePcap } from '../callflow/harness/rtpCapture.js';
import { startRtpCapture } from '../callflow/harness/rtpCapture.js';
import { SCENARIO_DIR, describeSipp, startSipp } from '../callflow/harness/sipp.js';
import { decodePcmaRtp, writeTonePcap } from '../callflow/harness/tonePcap.js';

const UAC_MEDIA = 17000;
const UAS_MEDIA = 17010;
let work: string;

beforeAll(() => {
  requirePrivateNetwork();
  work = mkdtempSync(join(tmpdir(), 'tone-pcap-sipp-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('writeTonePcap with sipp', () => {
  it('sipp plays the tone pcap as PCMA RTP that decodes to the tone', async () => {
    const pcap = join(work, 'tone-1k.pcap');
    writeTonePcap(pcap, { frequencyHz: 1000, seconds: 3 });
    const uacScenario = join(work, 'uac-plays-tone.xml');
    writeFileSync(
      uacScenario,
      readFileSync(join(SCENARIO_DIR, 'carrier-call-answered-hangs-up.xml'), 'utf8').replace('/usr/share/sip-tester/g711a.pcap', pcap),
    );
    const capture = await startRtpCapture({ portRange: [UAC_MEDIA, UAS_MEDIA + 10], file: join(work, 'cap.pcap') });
    const uas = startSipp({ scenario: 'destination-answers', role: 'uas', localPort: 5191, mediaPort: UAS_MEDIA, controlPort: 8991, timeoutMs: 20_000 });
    const uac = startSipp({ scenario: uacScenario, role: 'uac', remote: '127.0.0.1:5191', localPort: 5190, mediaPort: UAC_MEDIA, controlPort: 8990, holdMs: 4000, timeoutMs: 20_000 });
    const uacResult = await uac.done;
    const uasResult = await uas.done;
    await capture.stop();
    expect(uacResult.exitCode, describeSipp('uac', uacResult)).toBe(0);
    expect(uasResult.exitCode, describeSipp('uas', uasResult)).toBe(0);

    const udp = parsePcap(readFileSync(join(work, 'cap.pcap')))
      .map(decodeUdp)
      .filter((u) => u !== undefined && isRtp(u.payload));
    const toUas = udp.filter((u) => u!.dstPort === UAS_MEDIA).map((u) => u!.payload);
    const toUac = udp.filter((u) => u!.dstPort === UAC_MEDIA).map((u) => u!.payload);
    // 3 s at 50 packets a second, PT 8, 160-byte payloads, consecutive sequence numbers.
    expect(toUas.length).toBe(150);
    for (const [i, p] of toUas.entries()) {
      expect(p[1]! & 0x7f).toBe(8);
      expect(p.length).toBe(172);
      if (i > 0) expect((p.readUInt16BE(2) - toUas[i - 1]!.readUInt16BE(2)) & 0xffff).toBe(1);
    }
    const tone = analyzeSamples(Float64Array.from(decodePcmaRtp(toUas), (v) => v / 32768), { frequencyHz: 1000 });
    expect(tone.toneRatio).toBeGreaterThan(0.99);
    expect(tone.durationSeconds).toBeCloseTo(3, 2);
    // The other direction is sipp's speech: no tone there.
    const speech = analyzeSamples(Float64Array.from(decodePcmaRtp(toUac), (v) => v / 32768), { frequencyHz: 1000 });
    expect(speech.speechFraction).toBeGreaterThan(0.5);
    expect(speech.toneRatio).toBeLessThan(0.05);
  });
});
