import type { Logger } from 'pino';
import { isChannelGone } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient } from '../ari/types.js';
import type { SessionRegistry } from './createSessionRegistry.js';
import { HANDOFF_CONTEXT } from './dialplanHandOff.js';

export interface DialplanArrivalWatcherDeps {
  ari: Pick<AriClient, 'state' | 'channels' | 'endpoints'>;
  registry: Pick<SessionRegistry, 'ownsChannel' | 'arrivedInDialplan'>;
  logger: Logger;
  /** Endpoints whose channels are never carrier calls (the outbound trunk). */
  ignoreEndpoints?: readonly string[];
  /** How often Asterisk's endpoints are read. Default 1 s. */
  intervalMs?: number;
}

/** The caller's channel of a call the dialplan runs: in `callroute-direct`, past its first step. */
function isRoutedByDialplan(channel: AriChannel): boolean {
  return channel.dialplan.context === HANDOFF_CONTEXT && channel.dialplan.exten.startsWith('cr~') && (channel.dialplan.app_name ?? '') !== '';
}

/**
 * Calls the dialplan routes from its own table reach the router only at their end (the hangup
 * handler's report). So that a call in progress has its record (customers see it, a restart
 * resumes it), the router looks once a second at which channels Asterisk's endpoints carry (ids
 * only: cheap for Asterisk at any number of calls), reads each new one once, and writes the
 * arrival of a call it has not heard of. Off the call path: no call waits for it, and a call that
 * ends between two looks is recorded from its end report alone.
 */
export function createDialplanArrivalWatcher(deps: DialplanArrivalWatcherDeps) {
  const { ari, registry, logger } = deps;
  const ignored = new Set(deps.ignoreEndpoints ?? []);
  /** Channels read once and found not to be a call the dialplan routed (yet: those are read again). */
  const settled = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  const consider = async (id: string): Promise<void> => {
    try {
      const channel = await ari.channels.get(id);
      if (!isRoutedByDialplan(channel)) {
        // Still being routed (from-carrier): look again next time; anything else is not ours.
        if (channel.dialplan.context !== 'from-carrier') settled.add(id);
        return;
      }
      const dialed = await ari.channels.getVariable(id, 'CALLERID(dnid)');
      settled.add(id);
      if (dialed !== '') registry.arrivedInDialplan(channel, dialed);
    } catch (err) {
      if (isChannelGone(err)) settled.add(id);
      else logger.warn({ err, channel: id }, 'reading a routed call failed');
    }
  };

  const look = async (): Promise<void> => {
    if (running || ari.state !== 'connected') return;
    running = true;
    try {
      const present = new Set<string>();
      for (const endpoint of await ari.endpoints.list()) {
        if (ignored.has(endpoint.resource)) continue;
        for (const id of endpoint.channel_ids) present.add(id);
      }
      for (const id of settled) if (!present.has(id)) settled.delete(id);
      for (const id of present) {
        if (settled.has(id) || registry.ownsChannel(id)) continue;
        await consider(id);
      }
    } catch (err) {
      logger.debug({ err }, 'listing endpoints failed');
    } finally {
      running = false;
    }
  };

  return {
    start(): void {
      timer = setInterval(() => void look(), deps.intervalMs ?? 1000);
      timer.unref();
    },
    /** One look now (tests). */
    look,
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
