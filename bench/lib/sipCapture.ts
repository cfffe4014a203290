/**
 * SIP timing from a tcpdump capture on loopback, not from sipp's own response times: the kernel's
 * timestamps of the carrier's INVITE, the INVITE Asterisk sends the destination, and the 200s.
 */
import { startTcpdump } from './tcpdump.js';
import { decodeUdp, parsePcap } from '../../test/callflow/harness/rtpCapture.js';

export interface SipPacket {
  ts: number;
  srcPort: number;
  dstPort: number;
  /** Request method, or undefined for a response. */
  method?: string;
  status?: number;
  callId: string;
  cseqMethod: string;
  fromUser: string;
  toTag: boolean;
}

export interface SipCapture {
  stop(): Promise<{ file: string; packets: SipPacket[]; dropped: number | null }>;
}

/** Starts tcpdump on `lo` for UDP to or from `port` (Asterisk's SIP port); resolves once it listens. */
export async function startSipCapture(file: string, port = 5060): Promise<SipCapture> {
  const capture = await startTcpdump(file, ['udp', 'port', String(port)]);
  return {
    async stop() {
      const { bytes, stderr } = await capture.stop();
      const dropped = /(\d+) packets? dropped by kernel/.exec(stderr)?.[1];
      return { file, packets: parseSip(bytes), dropped: dropped === undefined ? null : Number(dropped) };
    },
  };
}

function header(text: string, name: string, short?: string): string {
  const re = new RegExp(`^(?:${name}${short ? `|${short}` : ''})\\s*:\\s*(.*)$`, 'im');
  return re.exec(text)?.[1]?.trim() ?? '';
}

/** SIP messages in a pcap (one message per datagram, UDP). */
export function parseSip(pcap: Buffer): SipPacket[] {
  const out: SipPacket[] = [];
  for (const p of parsePcap(pcap)) {
    const udp = decodeUdp(p);
    if (!udp) continue;
    const text = udp.payload.toString('latin1');
    const firstLine = text.slice(0, text.indexOf('\r\n'));
    const resp = /^SIP\/2\.0 (\d{3})/.exec(firstLine);
    const req = /^([A-Z]+) \S+ SIP\/2\.0$/.exec(firstLine);
    if (!resp && !req) continue;
    const cseq = header(text, 'CSeq');
    const from = header(text, 'From', 'f');
    const to = header(text, 'To', 't');
    out.push({
      ts: udp.ts,
      srcPort: udp.srcPort,
      dstPort: udp.dstPort,
      method: req?.[1],
      status: resp ? Number(resp[1]) : undefined,
      callId: header(text, 'Call-ID', 'i'),
      cseqMethod: cseq.split(/\s+/)[1] ?? '',
      fromUser: /sips?:([^@;>]+)@/.exec(from)?.[1] ?? '',
      toTag: /;\s*tag=/i.test(to),
    });
  }
  return out;
}

export interface CallTiming {
  key: string;
  carrierInviteAt: number;
  destinationInviteAt?: number;
  destinationOkAt?: number;
  callerOkAt?: number;
  /** First final response the carrier got. */
  finalStatus?: number;
  /** The carrier's BYE (it hangs up after its hold time). */
  carrierByeAt?: number;
}

/**
 * Pairs each carrier call (INVITE from `carrierPort`) with the destination call (INVITE to
 * `destinationPort`) by caller number, which the bench scenario makes unique per call.
 */
export function callTimings(packets: readonly SipPacket[], carrierPort: number, destinationPort: number, asteriskPort = 5060): CallTiming[] {
  const key = (user: string): string => user.replace(/^\+?1999555/, '').replace(/^\+/, '');
  const byKey = new Map<string, CallTiming>();
  const carrierCall = new Map<string, CallTiming>();
  const destinationCall = new Map<string, CallTiming>();
  for (const m of packets) {
    if (m.method === 'INVITE' && !m.toTag && m.srcPort === carrierPort && m.dstPort === asteriskPort) {
      if (carrierCall.has(m.callId)) continue; // retransmission
      const t: CallTiming = { key: key(m.fromUser), carrierInviteAt: m.ts };
      byKey.set(t.key, t);
      carrierCall.set(m.callId, t);
    } else if (m.method === 'INVITE' && !m.toTag && m.srcPort === asteriskPort && m.dstPort === destinationPort) {
      const t = byKey.get(key(m.fromUser));
      if (!t || t.destinationInviteAt !== undefined) continue;
      t.destinationInviteAt = m.ts;
      destinationCall.set(m.callId, t);
    } else if (m.method === 'BYE' && m.srcPort === carrierPort && m.dstPort === asteriskPort) {
      const t = carrierCall.get(m.callId);
      if (t && t.carrierByeAt === undefined) t.carrierByeAt = m.ts;
    } else if (m.status !== undefined && m.cseqMethod === 'INVITE') {
      if (m.srcPort === destinationPort && m.dstPort === asteriskPort && m.status === 200) {
        const t = destinationCall.get(m.callId);
        if (t && t.destinationOkAt === undefined) t.destinationOkAt = m.ts;
      } else if (m.srcPort === asteriskPort && m.dstPort === carrierPort && m.status >= 200) {
        const t = carrierCall.get(m.callId);
        if (t && t.finalStatus === undefined) {
          t.finalStatus = m.status;
          if (m.status === 200) t.callerOkAt = m.ts;
        }
      }
    }
  }
  return [...carrierCall.values()];
}
