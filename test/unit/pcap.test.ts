import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_EN10MB,
  LINKTYPE_LINUX_SLL,
  decodeUdp,
  isRtp,
  parsePcap,
  rtpFlows,
  summarizeRtp,
} from '../callflow/harness/rtpCapture.js';

function rtp(pt: number, seq: number, ssrc: number, payloadBytes = 160): Buffer {
  const b = Buffer.alloc(12 + payloadBytes, 0xd5);
  b[0] = 0x80;
  b[1] = pt;
  b.writeUInt16BE(seq, 2);
  b.writeUInt32BE(seq * 160, 4);
  b.writeUInt32BE(ssrc, 8);
  return b;
}

function rtcpSenderReport(): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200; // SR
  b.writeUInt16BE(6, 2);
  return b;
}

function ipv4(src: string, dst: string, protocol: number, payload: Buffer, fragOffset = 0): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payload.length, 2);
  h.writeUInt16BE(fragOffset, 6);
  h[8] = 64;
  h[9] = protocol;
  src.split('.').forEach((o, i) => (h[12 + i] = Number(o)));
  dst.split('.').forEach((o, i) => (h[16 + i] = Number(o)));
  return Buffer.concat([h, payload]);
}

function udp(srcPort: number, dstPort: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

function ethernet(ip: Buffer, etherType = 0x0800): Buffer {
  const h = Buffer.alloc(14); // loopback: zero MAC addresses
  h.writeUInt16BE(etherType, 12);
  return Buffer.concat([h, ip]);
}

function linuxSll(ip: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0x0800, 14);
  return Buffer.concat([h, ip]);
}

function frame(srcPort: number, dstPort: number, payload: Buffer, src = '127.0.0.1', dst = '127.0.0.1'): Buffer {
  return ethernet(ipv4(src, dst, 17, udp(srcPort, dstPort, payload)));
}

interface Rec {
  sec: number;
  frac: number;
  data: Buffer;
  origLen?: number;
}

function pcapFile(records: Rec[], opts: { linkType?: number; bigEndian?: boolean; nano?: boolean } = {}): Buffer {
  const be = opts.bigEndian ?? false;
  const w32 = (b: Buffer, v: number, off: number): void => {
    if (be) b.writeUInt32BE(v, off);
    else b.writeUInt32LE(v, off);
  };
  const w16 = (b: Buffer, v: number, off: number): void => {
    if (be) b.writeUInt16BE(v, off);
    else b.writeUInt16LE(v, off);
  };
  const g = Buffer.alloc(24);
  w32(g, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(g, 2, 4);
  w16(g, 4, 6);
  w32(g, 262144, 16);
  w32(g, opts.linkType ?? LINKTYPE_EN10MB, 20);
  const parts: Buffer[] = [g];
  for (const r of records) {
    const h = Buffer.alloc(16);
    w32(h, r.sec, 0);
    w32(h, r.frac, 4);
    w32(h, r.data.length, 8);
    w32(h, r.origLen ?? r.data.length, 12);
    parts.push(h, r.data);
  }
  return Buffer.concat(parts);
}

const SIP_INVITE = Buffer.from('INVITE sip:+15551230000@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070\r\n\r\n');

describe('parsePcap', () => {
  it('reads records and timestamps from a little-endian microsecond file', () => {
    const buf = pcapFile([
      { sec: 1_700_000_000, frac: 250_000, data: frame(16100, 10002, rtp(8, 1, 0x11)) },
      { sec: 1_700_000_001, frac: 0, data: frame(5070, 5060, SIP_INVITE) },
    ]);
    const packets = parsePcap(buf);
    expect(packets).toHaveLength(2);
    expect(packets[0]?.ts).toBeCloseTo(1_700_000_000.25, 6);
    expect(packets[0]?.linkType).toBe(LINKTYPE_EN10MB);
    expect(packets[1]?.data.length).toBe(14 + 20 + 8 + SIP_INVITE.length);
  });

  it('reads big-endian and nanosecond files the same way', () => {
    const data = frame(16100, 10002, rtp(8, 1, 0x11));
    const be = parsePcap(pcapFile([{ sec: 10, frac: 500_000_000, data }], { bigEndian: true, nano: true }));
    expect(be).toHaveLength(1);
    expect(be[0]?.ts).toBeCloseTo(10.5, 6);
    expect(be[0]?.data.equals(data)).toBe(true);
  });

  it('ignores a record truncated by stopping the capture mid-write', () => {
    const full = pcapFile([
      { sec: 1, frac: 0, data: frame(16100, 10002, rtp(8, 1, 0x11)) },
      { sec: 2, frac: 0, data: frame(16100, 10002, rtp(8, 2, 0x11)) },
    ]);
    expect(parsePcap(full.subarray(0, full.length - 10))).toHaveLength(1);
  });

  it('rejects what is not a classic pcap file', () => {
    expect(() => parsePcap(Buffer.alloc(10))).toThrow(/too short/);
    const pcapng = Buffer.alloc(28);
    pcapng.writeUInt32LE(0x0a0d0d0a, 0);
    expect(() => parsePcap(pcapng)).toThrow(/bad magic/);
  });
});

describe('decodeUdp', () => {
  it('finds addresses, ports and payload behind Ethernet and Linux cooked headers', () => {
    const payload = rtp(8, 7, 0x22);
    const eth = decodeUdp({ ts: 0, linkType: LINKTYPE_EN10MB, data: frame(16100, 10002, payload, '127.0.0.1', '127.0.0.2') });
    expect(eth).toMatchObject({ srcIp: '127.0.0.1', dstIp: '127.0.0.2', srcPort: 16100, dstPort: 10002 });
    expect(eth?.payload.equals(payload)).toBe(true);
    const sll = decodeUdp({ ts: 0, linkType: LINKTYPE_LINUX_SLL, data: linuxSll(ipv4('10.0.0.1', '10.0.0.2', 17, udp(1, 2, payload))) });
    expect(sll).toMatchObject({ srcIp: '10.0.0.1', srcPort: 1, dstPort: 2 });
  });

  it('skips TCP, IPv6, non-first fragments and unknown link types', () => {
    const tcp = ethernet(ipv4('127.0.0.1', '127.0.0.1', 6, Buffer.alloc(20)));
    expect(decodeUdp({ ts: 0, linkType: LINKTYPE_EN10MB, data: tcp })).toBeUndefined();
    const v6 = ethernet(Buffer.alloc(40), 0x86dd);
    expect(decodeUdp({ ts: 0, linkType: LINKTYPE_EN10MB, data: v6 })).toBeUndefined();
    const frag = ethernet(ipv4('127.0.0.1', '127.0.0.1', 17, Buffer.alloc(100), 185));
    expect(decodeUdp({ ts: 0, linkType: LINKTYPE_EN10MB, data: frag })).toBeUndefined();
    expect(decodeUdp({ ts: 0, linkType: 147, data: frame(1, 2, rtp(8, 1, 1)) })).toBeUndefined();
  });
});

describe('isRtp', () => {
  it.each([
    ['PCMA voice', rtp(8, 1, 1), true],
    ['telephone-event with marker bit', rtp(0x80 | 101, 1, 1, 4), true],
    ['RTCP sender report', rtcpSenderReport(), false],
    ['SIP request text', SIP_INVITE, false],
    ['SIP response text', Buffer.from('SIP/2.0 200 OK\r\n\r\n'), false],
    ['too short', Buffer.from([0x80, 8, 0, 1]), false],
    ['CSRC count beyond the packet', Buffer.concat([Buffer.from([0x8f, 8]), Buffer.alloc(14)]), false],
  ])('%s → %s', (_name, payload, expected) => {
    expect(isRtp(payload)).toBe(expected);
  });
});

describe('rtpFlows / summarizeRtp', () => {
  it('counts RTP per direction, ignoring SIP and RTCP on the same ports', () => {
    const records: Rec[] = [];
    let t = 0;
    const add = (data: Buffer): void => {
      records.push({ sec: 100, frac: t, data });
      t += 20_000;
    };
    add(frame(5070, 5060, SIP_INVITE));
    for (let i = 0; i < 50; i += 1) add(frame(16100, 10002, rtp(8, i, 0xaaaa))); // carrier -> Asterisk
    for (let i = 0; i < 40; i += 1) add(frame(10002, 16100, rtp(8, i, 0xbbbb))); // Asterisk -> carrier
    for (let i = 0; i < 30; i += 1) add(frame(10004, 16000, rtp(8, i, 0xcccc))); // Asterisk -> destination
    add(frame(10003, 16101, rtcpSenderReport()));
    add(frame(16000, 10004, rtp(8, 0, 0xdddd)));
    add(frame(16000, 10004, rtp(101, 1, 0xdddd, 4)));

    const summary = summarizeRtp(rtpFlows(parsePcap(pcapFile(records))));
    expect(summary.flows).toHaveLength(4);
    expect(summary.flows[0]).toMatchObject({ srcPort: 16100, dstPort: 10002, packets: 50, ssrcs: [0xaaaa], payloadTypes: [8] });
    expect(summary.packetsTo(16100)).toBe(40);
    expect(summary.packetsFrom(16100)).toBe(50);
    expect(summary.packetsTo(16000)).toBe(30);
    expect(summary.packetsFrom(16000)).toBe(2);
    expect(summary.packetsTo(16101)).toBe(0); // RTCP is not RTP
    expect(summary.packetsTo(5060)).toBe(0); // SIP is not RTP
    const last = summary.flows.find((f) => f.srcPort === 16000);
    expect(last?.payloadTypes).toEqual([8, 101]);
    expect(summary.describe()).toMatch(/127\.0\.0\.1:16100 -> 127\.0\.0\.1:10002: 50 RTP packets \(pt 8, 0\.98 s\)/);
  });

  it('says so when nothing was captured', () => {
    const summary = summarizeRtp(rtpFlows(parsePcap(pcapFile([]))));
    expect(summary.packetsTo(16000)).toBe(0);
    expect(summary.describe()).toBe('no RTP captured');
  });
});
