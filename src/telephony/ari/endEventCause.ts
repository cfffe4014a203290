import type { AriEvent } from './types.js';

/**
 * The Q.850 cause an ARI event says a channel ended with, or null when it says none. A soft
 * ChannelHangupRequest carries Asterisk's soft-hangup reason in `cause` instead (1: the channel
 * driver asked, as for an RTP timeout; 32: an explicit hangup), not a Q.850 cause: the
 * ChannelDestroyed that follows has the real one (44 for an RTP timeout; call-flow tests).
 *
 * @example endEventCause({ type: 'ChannelHangupRequest', cause: 1, soft: true, ... }) // null
 */
export function endEventCause(event: AriEvent): number | null {
  if (event.type === 'ChannelDestroyed') return event.cause;
  if (event.type === 'ChannelHangupRequest' && event.soft !== true) return event.cause ?? null;
  return null;
}
