import { createHmac } from 'node:crypto';

/**
 * The secret the dialplan sends with its routing requests, derived from the ARI password (already
 * shared by the router and Asterisk): hex, so it is safe inside a dialplan line, and not the ARI
 * password itself, which would otherwise sit in extensions.conf.
 */
export function dialplanHookSecret(ariPassword: string): string {
  return createHmac('sha256', ariPassword).update('callroute dialplan hook').digest('hex');
}
