import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { BlockList } from 'node:net';
import { checkDeliveryAddress } from './webhooks/deliveryAddress.js';

/**
 * Connections kept open between POSTs to the same host (a receiver gets a call's five events in
 * seconds): a TLS handshake per delivery cost more than the delivery. A kept connection goes to an
 * address that was checked when it was opened; every POST checks the name again before it is sent.
 */
const KEEP_ALIVE = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 4, timeout: 30_000 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 4, timeout: 30_000 }),
};

/** Bytes of a response kept for the delivery log; the rest is not even read. */
export const RESPONSE_EXCERPT_BYTES = 1024;

export interface GuardedPostResult {
  /** The HTTP status; null when no response came. */
  statusCode: number | null;
  latencyMs: number;
  /** Why it failed without a status (refused address, timeout, connection error). */
  error: string | null;
  responseExcerpt: string | null;
  /** The address refused (SSRF): retrying will not help until the operator or the DNS changes it. */
  refused: boolean;
}

export interface GuardedPostOptions {
  url: string;
  /** content-type defaults to application/json. */
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowedNetworks: BlockList;
  /** How much of the answer is read (RESPONSE_EXCERPT_BYTES unless the answer itself is needed, as a token's). */
  maxResponseBytes?: number;
}

/**
 * One POST to a receiver outside callroute (a webhook endpoint, an ad platform). The host is resolved and checked once, and a new connection goes to that
 * address (a lookup that answers only it). Redirects are not followed (a 3xx is a failure: the
 * endpoint should name where it is); the response body is read up to RESPONSE_EXCERPT_BYTES (or
 * maxResponseBytes): a longer one has its connection dropped there, a shorter one leaves it open for
 * the next POST. The whole exchange has one timeout.
 */
export async function guardedPost(o: GuardedPostOptions): Promise<GuardedPostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const url = new URL(o.url);
  const target = await checkDeliveryAddress(url, o.allowedNetworks);
  if (!target.ok) return { statusCode: null, latencyMs: elapsed(), error: target.reason, responseExcerpt: null, refused: true };
  const pinned: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<GuardedPostResult>((resolve) => {
    let settled = false;
    // `keep`: the answer was read to its end, so its connection may serve the next POST to the host.
    const finish = (r: Omit<GuardedPostResult, 'latencyMs' | 'refused'>, keep = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!keep) req.destroy();
      resolve({ ...r, latencyMs: elapsed(), refused: false });
    };
    const req = send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...o.headers, 'content-length': String(Buffer.byteLength(o.body)) },
      lookup: pinned,
      agent: url.protocol === 'https:' ? KEEP_ALIVE.https : KEEP_ALIVE.http,
    });
    const timer = setTimeout(() => finish({ statusCode: null, error: `no answer within ${o.timeoutMs} ms`, responseExcerpt: null }), o.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ statusCode: null, error: err.code ?? err.message, responseExcerpt: null }));
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const cap = o.maxResponseBytes ?? RESPONSE_EXCERPT_BYTES;
      const done = (keep: boolean) => finish({ statusCode: res.statusCode ?? null, error: null, responseExcerpt: Buffer.concat(chunks).subarray(0, cap).toString('utf8') }, keep);
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= cap) done(false);
      });
      res.on('end', () => done(true));
      res.on('error', () => done(false));
    });
    req.end(o.body);
  });
}
