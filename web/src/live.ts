import type { Call } from './api.js';

export type LiveMessage = { kind: 'snapshot'; calls: Call[] } | { kind: 'call'; type: string; call: Call } | { kind: 'recording'; type: string; callId: number };

/**
 * The live feed (GET /v1/live, server-sent events with the session cookie): calls in progress, then
 * each change. EventSource reconnects by itself and sends Last-Event-ID, so nothing is missed.
 */
export function openLiveFeed(accountId: number | null, onMessage: (m: LiveMessage) => void): () => void {
  const source = new EventSource(accountId === null ? '/v1/live' : `/v1/live?accountId=${accountId}`);
  source.addEventListener('snapshot', (e) => onMessage({ kind: 'snapshot', calls: (JSON.parse((e as MessageEvent<string>).data) as { calls: Call[] }).calls }));
  for (const type of ['call.arrived', 'call.routed', 'call.answered', 'call.ended', 'call.modified']) {
    source.addEventListener(type, (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as { data: { call: Call } };
      onMessage({ kind: 'call', type, call: event.data.call });
    });
  }
  for (const type of ['recording.ready', 'recording.deleted', 'recording.expired']) {
    source.addEventListener(type, (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as { data: { recording: { callId: number } } };
      onMessage({ kind: 'recording', type, callId: event.data.recording.callId });
    });
  }
  return () => source.close();
}
