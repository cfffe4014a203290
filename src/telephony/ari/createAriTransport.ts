import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import { AriHttpError } from './AriHttpError.js';

export type AriHttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type AriQueryValue = string | number | boolean | undefined;

export interface AriRequestOptions {
  /** Undefined values are left out; booleans become `true`/`false` as ARI expects. */
  query?: Record<string, AriQueryValue>;
  /** Sent as JSON. */
  body?: unknown;
}

export interface AriTransport {
  /** Resolves with the parsed JSON body (undefined for an empty body); rejects with `AriHttpError`. */
  request<T>(method: AriHttpMethod, path: string, options?: AriRequestOptions): Promise<T>;
  /** Rejects everything afterwards and destroys the pooled sockets. */
  close(): void;
}

export interface AriTransportOptions {
  /** Asterisk's HTTP server, e.g. `http://127.0.0.1:8088`; requests go to `${url}/ari/...`. */
  url: string;
  username: string;
  password: string;
  logger: Logger;
  maxSockets: number;
  requestTimeoutMs: number;
  /**
   * How long an idle pooled socket is kept. Below Asterisk's `session_keep_alive` (15 s by default) so that
   * we close idle sockets before Asterisk does and rarely write a request onto a socket it is closing.
   */
  idleSocketMs?: number;
}

// Why node:http and not the global fetch: Node 20's fetch (undici) opens a new TCP connection for every
// request in flight and cannot be given a bounded dispatcher without installing the undici package. Under
// load that exceeded Asterisk's http `sessionlimit` (100 by default), Asterisk refused the connections and
// calls were lost (docs/asterisk.md, "ARI under load"). An http.Agent with keepAlive and maxSockets reuses a fixed set of
// connections and queues further requests in Node until a socket is free.
const IDEMPOTENT: ReadonlySet<AriHttpMethod> = new Set(['GET', 'PUT', 'DELETE']);

export function createAriTransport(opts: AriTransportOptions): AriTransport {
  const base = new URL(opts.url);
  const basePath = `${base.pathname.replace(/\/+$/, '')}/ari`;
  const lib = base.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({
    keepAlive: true,
    maxSockets: opts.maxSockets,
    maxFreeSockets: opts.maxSockets,
    // Sets the socket timeout; the agent destroys a *free* socket when it fires (idle expiry).
    timeout: opts.idleSocketMs ?? 10_000,
    // Reuse the most recently used socket: the ones left idle longest expire and the pool shrinks after a burst.
    scheduling: 'lifo',
  });
  const authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  let closed = false;

  function buildUrl(path: string, query: Record<string, AriQueryValue> | undefined): URL {
    const url = new URL(base.origin);
    url.pathname = basePath + path;
    if (query) {
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined) url.searchParams.set(key, String(value));
      }
    }
    return url;
  }

  function once<T>(method: AriHttpMethod, path: string, url: URL, payload: Buffer | undefined): Promise<{ value: T } | { retry: true }> {
    return new Promise((resolve, reject) => {
      let settled = false;
      let gotResponse = false;
      const headers: http.OutgoingHttpHeaders = { authorization, accept: 'application/json' };
      if (payload) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = payload.length;
      }
      const req = lib.request(url, { method, agent, headers });

      const fail = (err: AriHttpError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      // One deadline for the whole request, including the time queued for a pooled socket: a call-setup
      // request that waited longer than this is useless anyway, and the caller hangs the call up.
      const timer = setTimeout(() => {
        fail(new AriHttpError({ status: 0, method, path, timedOut: true }));
        req.destroy();
      }, opts.requestTimeoutMs);

      req.on('error', (err: NodeJS.ErrnoException) => {
        if (settled) return;
        // A keep-alive socket that the server closed while idle: the request never reached Asterisk.
        // Retry once, but only where repeating cannot do anything twice.
        if (!gotResponse && req.reusedSocket && err.code === 'ECONNRESET' && IDEMPOTENT.has(method)) {
          settled = true;
          clearTimeout(timer);
          resolve({ retry: true });
          return;
        }
        fail(new AriHttpError({ status: 0, method, path, cause: err }));
      });

      req.on('response', (res) => {
        gotResponse = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(new AriHttpError({ status: 0, method, path, cause: err })));
        res.on('close', () => {
          if (!res.complete) fail(new AriHttpError({ status: 0, method, path }));
        });
        res.on('end', () => {
          if (settled) return;
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          let parseFailed = false;
          if (text.length > 0) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parseFailed = true;
            }
          }
          if (status >= 200 && status < 300) {
            if (parseFailed) opts.logger.warn({ method, path, status }, 'ari response is not json');
            settled = true;
            clearTimeout(timer);
            resolve({ value: (parseFailed ? undefined : parsed) as T });
            return;
          }
          const ariMessage =
            parsed !== null && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string'
              ? (parsed as { message: string }).message
              : text.length > 0
                ? text.slice(0, 200)
                : undefined;
          fail(new AriHttpError({ status, method, path, ...(ariMessage === undefined ? {} : { ariMessage }) }));
        });
      });

      req.end(payload);
    });
  }

  return {
    async request<T>(method: AriHttpMethod, path: string, options: AriRequestOptions = {}): Promise<T> {
      if (closed) throw new AriHttpError({ status: 0, method, path, ariMessage: 'ARI client is closed' });
      const url = buildUrl(path, options.query);
      const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
      const first = await once<T>(method, path, url, payload);
      if ('value' in first) return first.value;
      opts.logger.debug({ method, path }, 'ari keep-alive socket was reset, retrying once');
      const second = await once<T>(method, path, url, payload);
      if ('value' in second) return second.value;
      throw new AriHttpError({ status: 0, method, path, ariMessage: 'connection reset twice' });
    },
    close(): void {
      closed = true;
      agent.destroy();
    },
  };
}
