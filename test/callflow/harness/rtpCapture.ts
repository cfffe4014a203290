/**
 * Captures UDP on loopback with tcpdump and counts RTP packets per flow, so a call-flow test can say
 * "the carrier's media port received audio and so did the destination's": two-way audio through Asterisk.
 *
 * The pcap parser is small and self-contained (classic libpcap format only, not pcapng: tcpdump -w
 * writes classic pcap).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PcapPacket {
  /** Seconds since the epoch (fractional). */
  ts: number;
  linkType: number;
  /** The captured bytes of the frame, from the link-layer header on. */
  data: Buffer;
}

export interface UdpDatagram {
  ts: number;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
}

export interface RtpFlow {
  srcIp: string;
  srcPort: number;
  dstIp: string;
  dstPort: number;
  packets: number;
  /** Distinct SSRCs seen in the flow. */
  ssrcs: number[];
  payloadTypes: number[];
  firstTs: number;
  lastTs: number;
}

export const LINKTYPE_NULL = 0;
export const LINKTYPE_EN10MB = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * Parses a classic pcap file (either byte order, micro- or nanosecond timestamps).
 *
 * @example parsePcap(readFileSync('capture.pcap')).length // number of frames
 */
export function parsePcap(buf: Buffer): PcapPacket[] {
  if (buf.length < 24) throw new Error(`pcap: file too short for a global header (${buf.length} bytes)`);
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nano: boolean;
  if (magicLE === 0xa1b2c3d4) [le, nano] = [true, false];
  else if (magicLE === 0xa1b23c4d) [le, nano] = [true, true];
  else if (magicLE === 0xd4c3b2a1) [le, nano] = [false, false];
  else if (magicLE === 0x4d3cb2a1) [le, nano] = [false, true];
  else throw new Error(`pcap: bad magic 0x${magicLE.toString(16)} (pcapng is not supported)`);
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const linkType = u32(20) & 0x0fffffff; // upper bits carry FCS flags
  const packets: PcapPacket[] = [];
  let off = 24;
  // A capture stopped mid-write may end with a truncated record: ignore it.
  while (off + 16 <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const inclLen = u32(off + 8);
    const start = off + 16;
    if (start + inclLen > buf.length) break;
    packets.push({ ts: sec + frac / (nano ? 1e9 : 1e6), linkType, data: buf.subarray(start, start + inclLen) });
    off = start + inclLen;
  }
  return packets;
}

/** Offset of the IP header in a frame of `linkType`, or undefined if it is not IPv4. */
function ipv4Offset(p: PcapPacket): number | undefined {
  const d = p.data;
  switch (p.linkType) {
    case LINKTYPE_EN10MB: {
      // Loopback frames carry a 14-byte Ethernet header with zero addresses.
      if (d.length < 14) return undefined;
      let off = 12;
      let type = d.readUInt16BE(off);
      while ((type === 0x8100 || type === 0x88a8) && d.length >= off + 6) {
        off += 4; // VLAN tag
        type = d.readUInt16BE(off);
      }
      return type === 0x0800 ? off + 2 : undefined;
    }
    case LINKTYPE_LINUX_SLL:
      return d.length >= 16 && d.readUInt16BE(14) === 0x0800 ? 16 : undefined;
    case LINKTYPE_LINUX_SLL2:
      return d.length >= 20 && d.readUInt16BE(0) === 0x0800 ? 20 : undefined;
    case LINKTYPE_RAW:
      return d.length >= 1 && d[0] !== undefined && d[0] >> 4 === 4 ? 0 : undefined;
    case LINKTYPE_NULL:
      // BSD loopback: 4-byte address family in host order; AF_INET = 2.
      return d.length >= 4 && (d.readUInt32LE(0) === 2 || d.readUInt32BE(0) === 2) ? 4 : undefined;
    default:
      return undefined;
  }
}

function ip4(d: Buffer, off: number): string {
  return `${d[off]}.${d[off + 1]}.${d[off + 2]}.${d[off + 3]}`;
}

/** The UDP datagram in an IPv4 frame (first fragments only), or undefined. */
export function decodeUdp(p: PcapPacket): UdpDatagram | undefined {
  const ipOff = ipv4Offset(p);
  if (ipOff === undefined) return undefined;
  const d = p.data;
  if (d.length < ipOff + 20) return undefined;
  const vihl = d[ipOff] ?? 0;
  if (vihl >> 4 !== 4) return undefined;
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20 || d[ipOff + 9] !== 17) return undefined; // protocol 17 = UDP
  if ((d.readUInt16BE(ipOff + 6) & 0x1fff) !== 0) return undefined; // a later fragment has no UDP header
  const totalLen = d.readUInt16BE(ipOff + 2);
  const udpOff = ipOff + ihl;
  if (d.length < udpOff + 8) return undefined;
  const udpLen = d.readUInt16BE(udpOff + 4);
  const end = Math.min(d.length, ipOff + totalLen, udpOff + Math.max(8, udpLen));
  return {
    ts: p.ts,
    srcIp: ip4(d, ipOff + 12),
    dstIp: ip4(d, ipOff + 16),
    srcPort: d.readUInt16BE(udpOff),
    dstPort: d.readUInt16BE(udpOff + 2),
    payload: d.subarray(udpOff + 8, end),
  };
}

/**
 * True when a UDP payload is an RTP packet: version 2, at least the 12-byte fixed header plus its
 * CSRCs, and a payload type outside 72–76 (RTCP's 200–204 seen through the RTP header layout).
 * SIP text never passes: its first byte is an ASCII letter, whose top two bits are 01, not 10.
 */
export function isRtp(payload: Buffer): boolean {
  if (payload.length < 12) return false;
  const b0 = payload[0] ?? 0;
  const b1 = payload[1] ?? 0;
  if (b0 >> 6 !== 2) return false;
  const pt = b1 & 0x7f;
  if (pt >= 72 && pt <= 76) return false;
  return payload.length >= 12 + 4 * (b0 & 0x0f);
}

/** RTP flows (per source and destination address and port) in a parsed capture, busiest first. */
export function rtpFlows(packets: PcapPacket[]): RtpFlow[] {
  const flows = new Map<string, RtpFlow>();
  for (const p of packets) {
    const u = decodeUdp(p);
    if (!u || !isRtp(u.payload)) continue;
    const key = `${u.srcIp}:${u.srcPort}>${u.dstIp}:${u.dstPort}`;
    let f = flows.get(key);
    if (!f) {
      f = { srcIp: u.srcIp, srcPort: u.srcPort, dstIp: u.dstIp, dstPort: u.dstPort, packets: 0, ssrcs: [], payloadTypes: [], firstTs: u.ts, lastTs: u.ts };
      flows.set(key, f);
    }
    f.packets += 1;
    f.lastTs = u.ts;
    const ssrc = u.payload.readUInt32BE(8);
    if (!f.ssrcs.includes(ssrc)) f.ssrcs.push(ssrc);
    const pt = (u.payload[1] ?? 0) & 0x7f;
    if (!f.payloadTypes.includes(pt)) f.payloadTypes.push(pt);
  }
  return [...flows.values()].sort((a, b) => b.packets - a.packets);
}

export interface RtpSummary {
  flows: RtpFlow[];
  /** RTP packets whose destination port is `port`. */
  packetsTo(port: number): number;
  /** RTP packets whose source port is `port`. */
  packetsFrom(port: number): number;
  /** One line per flow, for assertion messages. */
  describe(): string;
}

export function summarizeRtp(flows: RtpFlow[]): RtpSummary {
  return {
    flows,
    packetsTo: (port) => flows.filter((f) => f.dstPort === port).reduce((n, f) => n + f.packets, 0),
    packetsFrom: (port) => flows.filter((f) => f.srcPort === port).reduce((n, f) => n + f.packets, 0),
    describe: () =>
      flows.length === 0
        ? 'no RTP captured'
        : flows
            .map((f) => `${f.srcIp}:${f.srcPort} -> ${f.dstIp}:${f.dstPort}: ${f.packets} RTP packets (pt ${f.payloadTypes.join(',')}, ${(f.lastTs - f.firstTs).toFixed(2)} s)`)
            .join('\n'),
  };
}

export interface RtpCaptureOptions {
  /** Interface. Default `lo`. */
  iface?: string;
  /** Only UDP with a port in this range (either side), e.g. the sipp media ports. */
  portRange?: [number, number];
  /** Output file. Default: a new temp directory's capture.pcap. */
  file?: string;
  /** How long to wait for tcpdump to start listening. Default 5 s. */
  startTimeoutMs?: number;
}

export interface RtpCaptureResult extends RtpSummary {
  file: string;
  packetCount: number;
}

export interface RtpCapture {
  file: string;
  pid: number;
  /** Stops tcpdump (SIGINT: it flushes and exits) and parses what it wrote. */
  stop(): Promise<RtpCaptureResult>;
}

/**
 * Starts `tcpdump -i lo -U -w FILE udp [and portrange A-B]` and resolves once it is listening
 * (it says so on stderr), so no packet of the call is missed.
 */
export async function startRtpCapture(opts: RtpCaptureOptions = {}): Promise<RtpCapture> {
  const iface = opts.iface ?? 'lo';
  const file = opts.file ?? join(mkdtempSync(join(tmpdir(), 'rtp-')), 'capture.pcap');
  const filter = ['udp'];
  if (opts.portRange) filter.push('and', 'portrange', `${opts.portRange[0]}-${opts.portRange[1]}`);
  // -U: write each packet as it arrives (nothing lost in a buffer at stop). -Z root: Debian's tcpdump
  // otherwise drops to the tcpdump user, which may not write into a root-owned temp directory.
  const args = ['-i', iface, '-U', '-n', '-s', '256', '-w', file];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('-Z', 'root');
  args.push(...filter);
  const child = spawn('tcpdump', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((res) => {
    child.once('close', (code) => {
      exitCode = code;
      res();
    });
    child.once('error', (err) => {
      stderr += `\nspawn tcpdump failed: ${err.message} (apt-get install -y tcpdump)`;
      exitCode = -1;
      res();
    });
  });
  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rej(new Error(`tcpdump did not start listening within ${opts.startTimeoutMs ?? 5000} ms: ${stderr.trim()}`));
    }, opts.startTimeoutMs ?? 5_000);
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      if (/listening on/.test(stderr)) {
        clearTimeout(timer);
        res();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      rej(new Error(`tcpdump exited (${exitCode}) before listening: ${stderr.trim()}`));
    });
  });

  return {
    file,
    pid: child.pid ?? -1,
    stop: async () => {
      if (exitCode === undefined) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
      const packets = parsePcap(readFileSync(file));
      return { ...summarizeRtp(rtpFlows(packets)), file, packetCount: packets.length };
    },
  };
}
