import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseDialplanEndReport, type DialplanChannel, type DialplanEndReport } from '../session/DialplanCall.js';

export interface DialplanHookDeps {
  /** Loopback only: Asterisk runs on this machine. */
  host: string;
  port: number;
  /** Shared with Asterisk's dialplan (sent as the `X-Callroute-Secret` header). */
  secret: string;
  logger: Logger;
  /** The routing verdict for a call (see SessionRegistry.routeFromDialplan). */
  route(channel: DialplanChannel): string;
  /** A handed-off call ended; false when no such call is known. */
  ended(channelId: string, report: DialplanEndReport): boolean;
}

export const DIALPLAN_SECRET_HEADER = 'x-callroute-secret';
/** Every field the dialplan sends is short; anything longer is not from our dialplan. */
const MAX_BODY_BYTES = 4096;

/**
 * The router's door for Asterisk's dialplan (func_curl), on loopback:
 * - `GET /dialplan/route?uid=&channel=&exten=&caller=&name=` answers, as plain text, where the
 *   call goes: a `callroute-direct` extension, `reject~<cause>` or `stasis`. This is every call's
 *   setup path, so it answers from memory and one indexed lookup, before any disk write.
 * - `POST /dialplan/ended` (form fields uid, channel, dialstatus, answered_ms, source, cause)
 *   completes a handed-off call's record; it answers `ok`, else the dialplan keeps the report.
 * A request without the shared secret gets 401; a malformed one 400 naming the field.
 */
export function createDialplanHookServer(deps: DialplanHookDeps) {
  const secret = Buffer.from(deps.secret);
  const log = deps.logger;

  const authorised = (req: http.IncomingMessage): boolean => {
    const given = req.headers[DIALPLAN_SECRET_HEADER];
    if (typeof given !== 'string') return false;
    const buf = Buffer.from(given);
    return buf.length === secret.length && timingSafeEqual(buf, secret);
  };
  const send = (res: http.ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };

  const route = (res: http.ServerResponse, q: URLSearchParams): void => {
    for (const field of ['uid', 'exten']) {
      if (!q.get(field)) return send(res, 400, `missing ${field}`);
    }
    const channel: DialplanChannel = {
      id: q.get('uid') as string,
      name: q.get('channel') ?? '',
      dialplan: { context: 'from-carrier', exten: q.get('exten') as string, priority: 1 },
      caller: { number: q.get('caller') ?? '', name: q.get('name') ?? '' },
    };
    send(res, 200, deps.route(channel));
  };

  const ended = (res: http.ServerResponse, q: URLSearchParams): void => {
    const uid = q.get('uid');
    if (!uid) return send(res, 400, 'missing uid');
    const known = deps.ended(uid, parseDialplanEndReport(q));
    if (!known) log.warn({ channel: uid }, 'end report for a call the router does not know');
    // "ok" either way: the dialplan keeps a report it could not deliver (AstDB) for reconciliation,
    // and one about an unknown call has nowhere to go.
    send(res, 200, 'ok');
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dialplan');
    if (!authorised(req)) return send(res, 401, 'missing or wrong secret');
    if (req.method === 'GET' && url.pathname === '/dialplan/route') return route(res, url.searchParams);
    if (req.method === 'POST' && url.pathname === '/dialplan/ended') {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          send(res, 413, 'body too large');
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        if (!res.headersSent) ended(res, new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      });
      return;
    }
    send(res, 404, 'not found');
  });
  // The dialplan's requests come one per call on a fresh connection; nothing needs to linger.
  server.keepAliveTimeout = 1_000;

  return {
    /** Resolves with the bound port. */
    listen(): Promise<number> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(deps.port, deps.host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close(): Promise<void> {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
