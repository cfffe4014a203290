/**
 * Where the router's post-dial delay goes: a capture of ARI (HTTP + websocket on Asterisk's HTTP
 * port) and of the dialplan's routing requests to the router (its hook port) next to the SIP
 * capture, laid out per call from the carrier's INVITE to the destination's. Each step is a REST
 * request line, its response, an event frame Asterisk pushed, or a hook connection, request or reply.
 */
import { startTcpdump } from './tcpdump.js';
import { parsePcap, type PcapPacket } from '../../test/callflow/harness/rtpCapture.js';
import { median, round } from './stats.js';

export interface TcpSegment {
  ts: number;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** TCP SYN without ACK: a connection being opened. */
  syn: boolean;
}

/** The TCP payload of an Ethernet/IPv4 frame (tcpdump on lo), or undefined. */
export function decodeTcp(p: PcapPacket): TcpSegment | undefined {
  const d = p.data;
  const ipOff = p.linkType === 1 ? 14 : p.linkType === 113 ? 16 : p.linkType === 276 ? 20 : p.linkType === 101 ? 0 : -1;
  if (ipOff < 0 || d.length < ipOff + 20 || (d[ipOff] ?? 0) >> 4 !== 4 || d[ipOff + 9] !== 6) return undefined;
  const ihl = ((d[ipOff] ?? 0) & 0x0f) * 4;
  const total = d.readUInt16BE(ipOff + 2);
  const tcpOff = ipOff + ihl;
  if (d.length < tcpOff + 20) return undefined;
  const dataOff = (((d[tcpOff + 12] ?? 0) >> 4) & 0x0f) * 4;
  return {
    ts: p.ts,
    srcPort: d.readUInt16BE(tcpOff),
    dstPort: d.readUInt16BE(tcpOff + 2),
    payload: d.subarray(tcpOff + dataOff, Math.min(d.length, ipOff + total)),
    syn: ((d[tcpOff + 13] ?? 0) & 0x12) === 0x02,
  };
}

export interface AriStep {
  ts: number;
  what: string;
}

/** REST request lines, response status lines and event types, in capture order. */
export function ariSteps(pcap: Buffer, ariPort: number, hookPort?: number): AriStep[] {
  const out: AriStep[] = [];
  for (const p of parsePcap(pcap)) {
    const seg = decodeTcp(p);
    if (!seg) continue;
    if (hookPort !== undefined && seg.dstPort === hookPort && seg.syn) out.push({ ts: seg.ts, what: '⇢ hook connect' });
    if (seg.payload.length === 0) continue;
    const text = seg.payload.toString('latin1');
    if (hookPort !== undefined && seg.dstPort === hookPort) {
      // FastAGI: Asterisk writes its agi_* block (often a line per segment), ended by an empty line.
      if (text.startsWith('agi_network:')) out.push({ ts: seg.ts, what: '⇢ agi block starts' });
      if (text.includes('\n\n')) out.push({ ts: seg.ts, what: '⇢ agi block complete' });
      if (text.startsWith('200 result')) out.push({ ts: seg.ts, what: '⇢ agi verdict applied' });
      continue;
    }
    if (hookPort !== undefined && seg.srcPort === hookPort) {
      if (text.startsWith('SET VARIABLE')) out.push({ ts: seg.ts, what: '⇠ router verdict' });
      continue;
    }
    if (seg.dstPort === ariPort) {
      const m = /^(GET|POST|PUT|DELETE) (\/ari\/[^ ?]*)/.exec(text);
      if (m) out.push({ ts: seg.ts, what: `→ ${m[1]} ${normalizePath(m[2] as string)}` });
    } else if (seg.srcPort === ariPort) {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status) out.push({ ts: seg.ts, what: `← HTTP ${status[1]}` });
      for (const ev of text.matchAll(/"type"\s*:\s*"([A-Za-z]+)"/g)) out.push({ ts: seg.ts, what: `⇐ event ${ev[1]}` });
    }
  }
  return out;
}

function normalizePath(path: string): string {
  return path
    .replace(/\/channels\/[^/]+/, (s) => (s === '/channels/create' ? s : '/channels/{id}'))
    .replace(/\/bridges\/[^/]+/, '/bridges/{id}')
    .replace(/\/recordings\/live\/[^/]+/, '/recordings/live/{name}');
}

export interface StepTiming {
  step: string;
  /** ms after the carrier's INVITE, median over calls. */
  medianMs: number;
  calls: number;
}

/**
 * For calls placed one at a time: the ARI steps between each carrier INVITE and its destination
 * INVITE, by position, with their median offset.
 */
export function timelineBetween(steps: readonly AriStep[], windows: ReadonlyArray<{ from: number; to: number }>): StepTiming[] {
  const byIndex = new Map<string, number[]>();
  const order: string[] = [];
  for (const w of windows) {
    const seen = new Map<string, number>();
    for (const s of steps) {
      if (s.ts < w.from || s.ts > w.to + 0.0005) continue;
      const n = (seen.get(s.what) ?? 0) + 1;
      seen.set(s.what, n);
      const key = n > 1 ? `${s.what} #${n}` : s.what;
      if (!byIndex.has(key)) {
        byIndex.set(key, []);
        order.push(key);
      }
      byIndex.get(key)?.push((s.ts - w.from) * 1000);
    }
  }
  return order
    .map((step) => ({ step, medianMs: round(median(byIndex.get(step) ?? []), 2) ?? 0, calls: byIndex.get(step)?.length ?? 0 }))
    .sort((a, b) => a.medianMs - b.medianMs);
}

/** tcpdump of the ARI port (and the router's dialplan hook port); stop() returns the capture's bytes. */
export async function startAriCapture(file: string, ariPort: number, hookPort?: number): Promise<{ stop(): Promise<Buffer> }> {
  const filter = hookPort === undefined ? ['tcp', 'port', String(ariPort)] : ['tcp', 'and', '(', 'port', String(ariPort), 'or', 'port', String(hookPort), ')'];
  const capture = await startTcpdump(file, filter);
  return { stop: async () => (await capture.stop()).bytes };
}

export interface AriLoadProfile {
  requests: number;
  events: number;
  eventsByType: Record<string, number>;
  /** Asterisk's time per request (request on the wire → its response on the same connection), ms. */
  serviceMs: Record<string, { n: number; p50: number | null; p95: number | null }>;
  /** The router's time per routing request (AGI block complete → its verdict on the wire), ms. */
  hookServiceMs?: { n: number; p50: number | null; p95: number | null; p99: number | null };
}

/**
 * REST requests and events on the wire, and how long Asterisk took to answer each kind of request.
 * Node's http agent sends one request at a time per connection, so a response answers the last
 * request sent on its connection.
 */
export function ariLoadProfile(pcap: Buffer, ariPort: number, hookPort?: number): AriLoadProfile {
  const pending = new Map<number, { ts: number; what: string }>();
  const hookPending = new Map<number, number>();
  const hookTimes: number[] = [];
  const times = new Map<string, number[]>();
  const eventsByType: Record<string, number> = {};
  let requests = 0;
  let events = 0;
  for (const p of parsePcap(pcap)) {
    const seg = decodeTcp(p);
    if (!seg || seg.payload.length === 0) continue;
    const text = seg.payload.toString('latin1');
    if (hookPort !== undefined && seg.dstPort === hookPort) {
      if (text.includes('\n\n') && !text.startsWith('200')) hookPending.set(seg.srcPort, seg.ts);
      continue;
    }
    if (hookPort !== undefined && seg.srcPort === hookPort) {
      const sent = hookPending.get(seg.dstPort);
      if (sent !== undefined && text.startsWith('SET VARIABLE CR_ROUTE')) {
        hookPending.delete(seg.dstPort);
        hookTimes.push((seg.ts - sent) * 1000);
      }
      continue;
    }
    if (seg.dstPort === ariPort) {
      const m = /^(GET|POST|PUT|DELETE) (\/ari\/[^ ?]*)/.exec(text);
      if (!m) continue;
      requests += 1;
      pending.set(seg.srcPort, { ts: seg.ts, what: `${m[1]} ${normalizePath(m[2] as string)}` });
    } else if (seg.srcPort === ariPort) {
      if (/^HTTP\/1\.1 \d{3}/.test(text)) {
        const req = pending.get(seg.dstPort);
        if (req) {
          pending.delete(seg.dstPort);
          const list = times.get(req.what) ?? [];
          list.push((seg.ts - req.ts) * 1000);
          times.set(req.what, list);
        }
      }
      for (const ev of text.matchAll(/"type"\s*:\s*"([A-Za-z]+)"/g)) {
        events += 1;
        eventsByType[ev[1] as string] = (eventsByType[ev[1] as string] ?? 0) + 1;
      }
    }
  }
  const serviceMs: AriLoadProfile['serviceMs'] = {};
  for (const [what, list] of times) {
    const sorted = [...list].sort((a, b) => a - b);
    const at = (q: number): number | null => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? null, 2);
    serviceMs[what] = { n: list.length, p50: at(0.5), p95: at(0.95) };
  }
  const hookSorted = [...hookTimes].sort((a, b) => a - b);
  const hq = (q: number): number | null => round(hookSorted[Math.min(hookSorted.length - 1, Math.max(0, Math.ceil(q * hookSorted.length) - 1))] ?? null, 2);
  const hookServiceMs = hookTimes.length > 0 ? { n: hookTimes.length, p50: hq(0.5), p95: hq(0.95), p99: hq(0.99) } : undefined;
  return { requests, events, eventsByType, serviceMs, ...(hookServiceMs ? { hookServiceMs } : {}) };
}
