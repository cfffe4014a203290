/**
 * What is left inside Asterisk, straight from ARI's REST interface (fetch + basic auth): a test's
 * last word is "no channels and no bridges left", independent of the router's own view.
 */
import { waitFor } from './waitFor.js';

/** The part of the callroute Config these helpers need. */
export interface AriAccess {
  ari: { url: string; username: string; password: string };
}

export interface AriChannelSummary {
  id: string;
  name: string;
  state: string;
  caller?: { number?: string };
  connected?: { number?: string };
  dialplan?: { context?: string; exten?: string; priority?: number; app_name?: string; app_data?: string };
  creationtime?: string;
}

export interface AriBridgeSummary {
  id: string;
  technology?: string;
  bridge_type?: string;
  bridge_class?: string;
  name?: string;
  channels: string[];
}

function ariBase(config: AriAccess): string {
  const url = config.ari.url.replace(/\/+$/, '');
  return url.endsWith('/ari') ? url : `${url}/ari`;
}

async function ariGet<T>(config: AriAccess, path: string): Promise<T> {
  const auth = Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64');
  const res = await fetch(`${ariBase(config)}${path}`, {
    headers: { authorization: `Basic ${auth}`, accept: 'application/json' },
    signal: AbortSignal.timeout(3_000),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`ARI GET ${path}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return JSON.parse(body) as T;
}

export function listChannels(config: AriAccess): Promise<AriChannelSummary[]> {
  return ariGet<AriChannelSummary[]>(config, '/channels');
}

export function listBridges(config: AriAccess): Promise<AriBridgeSummary[]> {
  return ariGet<AriBridgeSummary[]>(config, '/bridges');
}

function describeChannel(c: AriChannelSummary): string {
  const dp = c.dialplan ? ` at ${c.dialplan.context ?? '?'},${c.dialplan.exten ?? '?'},${c.dialplan.priority ?? '?'} ${c.dialplan.app_name ?? ''}(${c.dialplan.app_data ?? ''})` : '';
  return `channel ${c.name} (${c.id}) ${c.state}${dp}`;
}

function describeBridge(b: AriBridgeSummary): string {
  return `bridge ${b.id} ${b.bridge_type ?? ''}/${b.technology ?? ''} ${b.name ?? ''} with [${b.channels.join(', ')}]`;
}

/**
 * Polls until Asterisk has no channels and no bridges; otherwise throws listing what is left.
 * Hangup is asynchronous (BYE/200, then the channel is destroyed), hence the polling.
 */
export async function expectNoChannelsOrBridges(config: AriAccess, timeoutMs = 5_000): Promise<void> {
  let left: string[] = [];
  try {
    await waitFor(
      async () => {
        const [channels, bridges] = await Promise.all([listChannels(config), listBridges(config)]);
        left = [...channels.map(describeChannel), ...bridges.map(describeBridge)];
        return left.length === 0;
      },
      { timeoutMs, intervalMs: 100, message: 'Asterisk to have no channels and no bridges' },
    );
  } catch (err) {
    const what = left.length > 0 ? `\nleft in Asterisk:\n  ${left.join('\n  ')}` : '';
    throw new Error(`${(err as Error).message}${what}`);
  }
}
