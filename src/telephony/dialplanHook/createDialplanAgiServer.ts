import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { parseDialplanEndReport, type DialplanChannel, type DialplanEndReport } from '../session/DialplanCall.js';

export interface DialplanAgiDeps {
  /** Loopback only: Asterisk runs on this machine. */
  host: string;
  port: number;
  /** Shared with Asterisk's dialplan: the first AGI argument. */
  secret: string;
  logger: Logger;
  /** The routing verdict for a call (see SessionRegistry.routeFromDialplan). */
  route(channel: DialplanChannel): string;
  /** A handed-off call ended; false when no such call is known. */
  ended(channelId: string, report: DialplanEndReport): boolean;
}

/** Asterisk sends a block of `agi_*: value` lines ending with an empty line; nothing of ours is longer. */
const MAX_ENV_BYTES = 8192;
/** A connection that has not sent its block by then is not Asterisk's. */
const ENV_TIMEOUT_MS = 5_000;

/** The `agi_*` variables Asterisk sends when a FastAGI session starts. */
export function parseAgiEnvironment(block: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of block.split('\n')) {
    const m = /^(agi_[a-z0-9_]+): ?(.*)$/.exec(line.replace(/\r$/, ''));
    if (m) env.set(m[1] as string, m[2] as string);
  }
  return env;
}

/** AGI prints an absent caller ID as `unknown`. */
const known = (v: string | undefined): string => (v === undefined || v === 'unknown' ? '' : v);

/**
 * The router's door for Asterisk's dialplan: FastAGI on loopback. FastAGI, not an HTTP request
 * (func_curl), because CURL() holds the channel in autoservice and leaving autoservice sleeps in
 * 1 ms steps: the bench measured 1.5–2 ms more before the destination's INVITE. AGI reads its
 * socket and the channel together, so the dialplan goes on the moment our answer arrives.
 *
 * - `agi://host:port/route,<secret>`: answers `SET VARIABLE CR_ROUTE "<verdict>"` (a
 *   `callroute-direct` extension, `reject~<cause>` or `stasis`) and closes. Every call's setup
 *   path: it answers from memory and one indexed lookup, before any disk write.
 * - `agi://host:port/ended,<secret>,<report>` (hangup handler; report as form fields): completes a
 *   handed-off call's record and answers `SET VARIABLE CR_ENDED "ok"`; without that answer the
 *   dialplan keeps the report in AstDB.
 * A session with a wrong secret or an unknown script is closed with nothing set (the call then
 * takes the Stasis path; a report is kept).
 */
export function createDialplanAgiServer(deps: DialplanAgiDeps) {
  const secret = Buffer.from(deps.secret);
  const log = deps.logger;
  const authorised = (given: string | undefined): boolean => {
    if (given === undefined) return false;
    const buf = Buffer.from(given);
    return buf.length === secret.length && timingSafeEqual(buf, secret);
  };

  const answer = (env: Map<string, string>): string | null => {
    if (!authorised(env.get('agi_arg_1'))) {
      log.warn({ script: env.get('agi_network_script') }, 'dialplan session without the right secret');
      return null;
    }
    const uid = env.get('agi_uniqueid') ?? '';
    switch (env.get('agi_network_script')) {
      case 'route': {
        const exten = env.get('agi_extension') ?? '';
        if (!uid || !exten) return null;
        const verdict = deps.route({
          id: uid,
          name: env.get('agi_channel') ?? '',
          dialplan: { context: env.get('agi_context') ?? 'from-carrier', exten, priority: 1 },
          caller: { number: known(env.get('agi_callerid')), name: known(env.get('agi_calleridname')) },
        });
        return `SET VARIABLE CR_ROUTE "${verdict}"\n`;
      }
      case 'ended': {
        if (!uid) return null;
        if (!deps.ended(uid, parseDialplanEndReport(new URLSearchParams(env.get('agi_arg_2') ?? '')))) {
          log.warn({ channel: uid }, 'end report for a call the router does not know');
        }
        return 'SET VARIABLE CR_ENDED "ok"\n';
      }
      default:
        return null;
    }
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    let done = false;
    const timer = setTimeout(() => socket.destroy(), ENV_TIMEOUT_MS);
    socket.on('error', () => undefined);
    socket.on('close', () => clearTimeout(timer));
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n\n');
      if (end < 0) {
        if (buffered.length > MAX_ENV_BYTES) socket.destroy();
        return;
      }
      done = true;
      clearTimeout(timer);
      let reply: string | null = null;
      try {
        reply = answer(parseAgiEnvironment(buffered.slice(0, end)));
      } catch (err) {
        log.error({ err }, 'dialplan request failed');
      }
      // One command, then our end of the socket closes: Asterisk runs it, sees the end, and goes on
      // with the dialplan. No second round trip.
      if (reply) socket.end(reply);
      else socket.end();
    });
  });

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
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
