import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { DialplanChannel } from '../session/DialplanCall.js';
import { SIP_CALL_ID_VARIABLE } from '../session/identifyCall.js';

export interface DialplanAgiDeps {
  /** Loopback only: Asterisk runs on this machine. */
  host: string;
  port: number;
  /** Shared with Asterisk's dialplan: the last part of the script path (`route/<secret>`). */
  secret: string;
  logger: Logger;
  /** The routing verdict for a call (see SessionRegistry.routeFromDialplan). */
  route(channel: DialplanChannel): string;
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
 * The router's door for Asterisk's dialplan: FastAGI on loopback. Not an HTTP request (func_curl):
 * CURL() holds the channel in autoservice while it waits, and in our runs 1.8–3.8 ms passed between
 * the router's reply and the destination's INVITE, against about 1 ms after an AGI answer. AGI reads
 * its socket and the channel together, so the dialplan goes on as soon as our answer arrives.
 *
 * - `agi://host:port/route/<secret>`: answers `SET VARIABLE CR_ROUTE "<verdict>"` (a routing
 *   table entry, see routeTable.ts, or `reject~<cause>`) and closes. The setup path of calls the
 *   dialplan's own table does not route: it answers from memory and one indexed lookup, before any
 *   disk write, and as soon as the
 *   dialed number (agi_dnid, the 13th of ~20 lines Asterisk writes one by one) has arrived: our
 *   answer waits in the socket while Asterisk finishes the block, and is read the moment it has.
 * A session with a wrong secret or an unknown script is closed with nothing set (the call then
 * takes the Stasis path). Calls end, and calls refused over a cap are told, by a line in the end
 * report file, not here (createEndReportTail): no round trip for either.
 */
export function createDialplanAgiServer(deps: DialplanAgiDeps) {
  const secret = Buffer.from(deps.secret);
  const log = deps.logger;
  const authorised = (given: string | undefined): boolean => {
    if (given === undefined) return false;
    const buf = Buffer.from(given);
    return buf.length === secret.length && timingSafeEqual(buf, secret);
  };

  /**
   * `route/<secret>/<Call-ID, URI-encoded>` → ['route', true, Call-ID]; a wrong or missing secret →
   * [script, false, …]. The Call-ID part may be empty or absent (not a SIP call, an older dialplan).
   */
  const scriptOf = (env: Map<string, string>): [string, boolean, string | null] | null => {
    const path = env.get('agi_network_script');
    if (path === undefined) return null;
    const [name = '', secret, encodedCallId = ''] = path.split('/');
    let callId: string | null = null;
    try {
      callId = decodeURIComponent(encodedCallId) || null;
    } catch {
      callId = null;
    }
    return [name, authorised(secret), callId];
  };

  const refuse = (script: string): null => {
    log.warn({ script }, 'dialplan session without the right secret');
    return null;
  };

  /** The call as the dialplan describes it, once the lines it needs are in (they precede agi_dnid); undefined: not yet. */
  const channelOf = (env: Map<string, string>, complete: boolean, sipCallId: string | null): DialplanChannel | null | undefined => {
    const exten = env.get('agi_dnid');
    // No dialed number in the call's DNID: agi_extension, further down, says it.
    if ((exten === undefined || known(exten) === '') && !complete) return undefined;
    const uid = env.get('agi_uniqueid') ?? '';
    const dialed = known(exten) || (env.get('agi_extension') ?? '');
    if (!uid || !dialed) return null;
    return {
      id: uid,
      name: env.get('agi_channel') ?? '',
      dialplan: { context: 'from-carrier', exten: dialed, priority: 1 },
      caller: { number: known(env.get('agi_callerid')), name: known(env.get('agi_calleridname')) },
      ...(sipCallId ? { channelvars: { [SIP_CALL_ID_VARIABLE]: sipCallId } } : {}),
    };
  };

  const routeAnswer = (env: Map<string, string>, complete: boolean, sipCallId: string | null): string | null | undefined => {
    const channel = channelOf(env, complete, sipCallId);
    if (!channel) return channel;
    return `SET VARIABLE CR_ROUTE "${deps.route(channel)}"\n`;
  };

  /** The session's one command; undefined while more lines are needed; null: close with nothing set. */
  const answer = (env: Map<string, string>, complete: boolean): string | null | undefined => {
    const script = scriptOf(env);
    if (script === null) return complete ? null : undefined;
    const [name, ok, sipCallId] = script;
    if (!ok) return refuse(name);
    if (name === 'route') return routeAnswer(env, complete, sipCallId);
    return null;
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let buffered = '';
    let done = false;
    const timer = setTimeout(() => socket.destroy(), ENV_TIMEOUT_MS);
    socket.on('error', () => undefined);
    socket.on('close', () => clearTimeout(timer));
    // Asterisk reads our command once it has written its block; it may still be writing when we answer.
    socket.resume();
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      buffered += chunk.toString('utf8');
      const complete = buffered.includes('\n\n');
      if (!complete && buffered.length > MAX_ENV_BYTES) {
        done = true;
        socket.destroy();
        return;
      }
      let reply: string | null | undefined;
      try {
        reply = answer(parseAgiEnvironment(complete ? buffered.slice(0, buffered.indexOf('\n\n')) : buffered.slice(0, buffered.lastIndexOf('\n') + 1)), complete);
      } catch (err) {
        log.error({ err }, 'dialplan request failed');
        reply = null;
      }
      if (reply === undefined) return;
      done = true;
      clearTimeout(timer);
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
