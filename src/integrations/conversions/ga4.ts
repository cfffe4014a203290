import { httpVerdict, type PlatformAdapter } from './platformAdapter.js';

export interface Ga4Settings {
  /** The web data stream's measurement id (G-…). */
  measurementId: string;
  /** A Measurement Protocol API secret of that stream. */
  apiSecret: string;
}

/**
 * GA4 Measurement Protocol: POST /mp/collect?measurement_id&api_secret with `client_id`,
 * `timestamp_micros` and one event named as the destination's conversion (mark it a key event in
 * GA4), its params value, currency and the call's source / medium / campaign. The client id is the
 * visitor's browser id as callroute's snippet keeps it. GA4 answers 2xx to anything, so a payload
 * mistake shows only in its debug endpoint (/debug/mp/collect).
 */
export const ga4: PlatformAdapter<Ga4Settings> = {
  platform: 'ga4',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['measurementId', 'apiSecret'],
    properties: { measurementId: { type: 'string', pattern: '^G-[A-Z0-9]{4,20}$' }, apiSecret: { type: 'string', minLength: 1, maxLength: 200 } },
  },
  secretFields: ['apiSecret'],
  // GA4 keys on the browser (client_id), not on an ad click.
  needsClickId: false,
  clickIdOf: () => null,
  oauth: () => null,
  buildRequest(input, s, urls) {
    const params: Record<string, unknown> = { currency: input.currency, call_id: String(input.callId) };
    if (input.value !== null) params.value = input.value;
    if (input.source) params.source = input.source;
    if (input.medium) params.medium = input.medium;
    if (input.campaign) params.campaign = input.campaign;
    const query = new URLSearchParams({ measurement_id: s.measurementId, api_secret: s.apiSecret });
    return {
      url: `${urls.ga4}/mp/collect?${query.toString()}`,
      headers: {},
      body: JSON.stringify({ client_id: input.clientId ?? `callroute.${input.callId}`, timestamp_micros: input.conversionTime * 1000, events: [{ name: input.conversionName, params }] }),
    };
  },
  verdict: httpVerdict,
  // The columns of GA4's offline-event data import.
  csv: {
    preamble: [],
    header: ['client_id', 'event_name', 'timestamp_micros', 'value', 'currency'],
    row: (i) => [i.clientId, i.conversionName, i.conversionTime * 1000, i.value, i.currency],
  },
};
