import type { Logger } from 'pino';
import { isChannelGone } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient } from '../ari/types.js';
import type { SessionRegistry } from './createSessionRegistry.js';
import { HANDOFF_CONTEXT } from './dialplanHandOff.js';

export interface DialplanArrivalWatcherDeps {
  ari: Pick<AriClient, 'state' | 'channels'>;
  registry: Pick<SessionRegistry, 'ownsChannel' | 'arrivedInDialplan'>;
  logger: Logger;
  /** How often Asterisk's channel list is read. Default 1 s. */
  intervalMs?: number;
}

/** The caller's channel of a call the dialplan runs: in `callroute-direct`, past its first step. */
function isRoutedByDialplan(channel: AriChannel): boolean {
  return channel.dialplan.context === HANDOFF_CONTEXT && channel.dialplan.exten.startsWith('cr~') && channel.dialplan.app_name !== undefined && channel.dialplan.app_name !== '';
}

/**
 * Calls the dialplan routes from its own table reach the router only at their end (the hangup
 * handler's report). So that a call in progress has its record (customers see it, a restart
 * resumes it), the router reads Asterisk's channel list once a second and writes the arrival of
 * each call it has not heard of. Off the call path: no call waits for it, and a call that ends
 * between two reads is recorded from its end report alone.
 */
export function createDialplanArrivalWatcher(deps: DialplanArrivalWatcherDeps) {
  const { ari, registry, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  const look = async (): Promise<void> => {
    if (running || ari.state !== 'connected') return;
    running = true;
    try {
      const fresh = (await ari.channels.list()).filter((c) => isRoutedByDialplan(c) && !registry.ownsChannel(c.id));
      for (const channel of fresh) {
        try {
          const dialed = await ari.channels.getVariable(channel.id, 'CALLERID(dnid)');
          if (dialed !== '') registry.arrivedInDialplan(channel, dialed);
        } catch (err) {
          if (!isChannelGone(err)) logger.warn({ err, channel: channel.id }, 'reading a routed call failed');
        }
      }
    } catch (err) {
      logger.debug({ err }, 'listing channels failed');
    } finally {
      running = false;
    }
  };

  return {
    start(): void {
      timer = setInterval(() => void look(), deps.intervalMs ?? 1000);
      timer.unref();
    },
    /** One look now (tests, and right after a reconnect). */
    look,
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
