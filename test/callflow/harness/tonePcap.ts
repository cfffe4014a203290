/**
 * Writes a pcap that sipp plays with `<exec play_pcap_audio="..."/>`: a sine tone as G.711 A-law
 * (RTP payload type 8), 20 ms per packet (160 bytes), 50 packets a second, increasing sequence
 * numbers and timestamps. Laid out like sipp's own /usr/share/sip-tester/g711a.pcap (classic pcap,
 * Ethernet / IPv4 / UDP / RTP); sipp paces by the pcap timestamps and rewrites addresses and ports.
 */
import { writeFileSync } from 'node:fs';
import { decodeUdp, isRtp, parsePcap, type UdpDatagram } from './rtpCapture.js';

export interface TonePcapOptions {
  frequencyHz: number;
  seconds: number;
  /** Peak amplitude, full scale = 1. Default 0.5 (−9 dBFS RMS). */
  amplitude?: number;
}

const RATE = 8000;
const SAMPLES_PER_PACKET = 160;

/** ITU-T G.711 A-law encoding of one 16-bit linear sample. */
export function linearToAlaw(sample: number): number {
  let pcm = Math.max(-32768, Math.min(32767, Math.round(sample))) >> 3; // 13-bit
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  const segEnds = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
  let seg = segEnds.findIndex((end) => pcm <= end);
  if (seg < 0) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return (aval ^ mask) & 0xff;
}

/** ITU-T G.711 A-law decoding to a 16-bit linear sample. */
export function alawToLinear(a: number): number {
  const v = (a ^ 0x55) & 0xff;
  let t = (v & 0x0f) << 4;
  const seg = (v & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return v & 0x80 ? t : -t;
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

function frame(rtp: Buffer, ipId: number): Buffer {
  const udpLen = 8 + rtp.length;
  const eth = Buffer.alloc(14);
  eth.writeUInt16BE(0x0800, 12);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(ipId & 0xffff, 4);
  ip[8] = 64;
  ip[9] = 17;
  [127, 0, 0, 1].forEach((o, i) => {
    ip[12 + i] = o;
    ip[16 + i] = o;
  });
  ip.writeUInt16BE(ipChecksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(6000, 0);
  udp.writeUInt16BE(6002, 2);
  udp.writeUInt16BE(udpLen, 4); // checksum 0: none (sipp recomputes what it needs)
  return Buffer.concat([eth, ip, udp, rtp]);
}

/**
 * Writes the tone pcap and returns the number of RTP packets in it.
 *
 * @example writeTonePcap('/tmp/tone-1k.pcap', { frequencyHz: 1000, seconds: 8 }) // 400
 */
export function writeTonePcap(path: string, opts: TonePcapOptions): number {
  const amplitude = (opts.amplitude ?? 0.5) * 32767;
  const packets = Math.round((opts.seconds * RATE) / SAMPLES_PER_PACKET);
  const w = (2 * Math.PI * opts.frequencyHz) / RATE;
  const ssrc = 0x1c0ffee5;
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0); // microsecond timestamps
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16); // snaplen
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(global);
  const t0 = 1_700_000_000;
  for (let p = 0; p < packets; p++) {
    const rtp = Buffer.alloc(12 + SAMPLES_PER_PACKET);
    rtp[0] = 0x80;
    rtp[1] = p === 0 ? 0x88 : 0x08; // marker on the first packet, PT 8 (PCMA)
    rtp.writeUInt16BE((1000 + p) & 0xffff, 2);
    rtp.writeUInt32BE((p * SAMPLES_PER_PACKET) >>> 0, 4);
    rtp.writeUInt32BE(ssrc, 8);
    for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
      const n = p * SAMPLES_PER_PACKET + i;
      rtp[12 + i] = linearToAlaw(amplitude * Math.sin(w * n));
    }
    const data = frame(rtp, p);
    const rec = Buffer.alloc(16);
    const usec = p * 20_000;
    rec.writeUInt32LE(t0 + Math.floor(usec / 1e6), 0);
    rec.writeUInt32LE(usec % 1e6, 4);
    rec.writeUInt32LE(data.length, 8);
    rec.writeUInt32LE(data.length, 12);
    parts.push(rec, data);
  }
  writeFileSync(path, Buffer.concat(parts));
  return packets;
}

/** Linear samples (full scale 32768) of a run of PCMA RTP payloads (12-byte headers stripped, no CSRC/extension). */
export function decodePcmaRtp(rtpPackets: Buffer[]): Int16Array {
  const bodies = rtpPackets.map((p) => p.subarray(12 + 4 * ((p[0] ?? 0) & 0x0f)));
  const out = new Int16Array(bodies.reduce((n, b) => n + b.length, 0));
  let k = 0;
  for (const b of bodies) for (const a of b) out[k++] = alawToLinear(a);
  return out;
}

/**
 * The PCMA audio of the busiest RTP flow of a pcap as samples (full scale = 1): e.g. the ~7 s of speech
 * in sipp's /usr/share/sip-tester/g711a.pcap, as a speech fixture.
 */
export function pcmaSamplesFromPcap(pcap: Buffer): Float64Array {
  const rtp = parsePcap(pcap)
    .map(decodeUdp)
    .filter((u): u is UdpDatagram => u !== undefined && isRtp(u.payload) && ((u.payload[1] ?? 0) & 0x7f) === 8);
  const flows = new Map<string, Buffer[]>();
  for (const u of rtp) {
    const key = `${u.srcIp}:${u.srcPort}>${u.dstIp}:${u.dstPort}`;
    const list = flows.get(key) ?? [];
    list.push(u.payload);
    flows.set(key, list);
  }
  const busiest = [...flows.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  return Float64Array.from(decodePcmaRtp(busiest), (v) => v / 32768);
}
