import { hashedPhone, httpVerdict, type PlatformAdapter } from './platformAdapter.js';

/** The Graph API version the requests name. */
export const META_GRAPH_VERSION = 'v23.0';

export interface MetaSettings {
  /** The pixel (dataset) the events go to. */
  pixelId: string;
  /** A system user's access token with the pixel's permission. */
  accessToken: string;
  /** Sends to Events Manager's Test events tab instead of counting (TEST…). */
  testEventCode?: string;
}

/**
 * Meta Conversions API: POST /{pixel}/events with one server event per call: event_name (the
 * destination's conversion, e.g. Lead or Contact), event_time in seconds, event_id (so a repeat is
 * deduplicated), action_source phone_call, user_data with fbc from the visit's fbclid and, where
 * the rules allow, ph: the caller's number SHA-256 hashed (digits with country code), and
 * custom_data value and currency.
 */
export const meta: PlatformAdapter<MetaSettings> = {
  platform: 'meta',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['pixelId', 'accessToken'],
    properties: {
      pixelId: { type: 'string', pattern: '^\\d{5,20}$' },
      accessToken: { type: 'string', minLength: 1, maxLength: 1000 },
      testEventCode: { type: 'string', pattern: '^TEST\\w{1,40}$' },
    },
  },
  secretFields: ['accessToken'],
  // A call without an ad click still matches on the hashed number, when sending it is allowed.
  needsClickId: false,
  clickIdOf: (clickIds) => (clickIds.fbclid ? { param: 'fbclid', value: clickIds.fbclid } : null),
  oauth: () => null,
  buildRequest(input, s, urls) {
    const userData: Record<string, unknown> = {};
    if (input.clickIds.fbclid) userData.fbc = `fb.1.${input.clickTime ?? input.conversionTime}.${input.clickIds.fbclid}`;
    if (input.callerNumber) userData.ph = [hashedPhone(input.callerNumber)];
    const customData: Record<string, unknown> = { currency: input.currency };
    if (input.value !== null) customData.value = input.value;
    const event = {
      event_name: input.conversionName,
      event_time: Math.floor(input.conversionTime / 1000),
      event_id: `callroute-call-${input.callId}`,
      action_source: 'phone_call',
      user_data: userData,
      custom_data: customData,
    };
    const body: Record<string, unknown> = { data: [event], access_token: s.accessToken };
    if (s.testEventCode) body.test_event_code = s.testEventCode;
    return { url: `${urls.meta}/${META_GRAPH_VERSION}/${s.pixelId}/events`, headers: {}, body: JSON.stringify(body) };
  },
  verdict: httpVerdict,
  // Meta's offline event upload columns (phone hashed as for the API).
  csv: {
    preamble: [],
    header: ['event_name', 'event_time', 'phone', 'fbc', 'value', 'currency', 'action_source'],
    row: (i) => [
      i.conversionName,
      Math.floor(i.conversionTime / 1000),
      i.callerNumber ? hashedPhone(i.callerNumber) : null,
      i.clickIds.fbclid ? `fb.1.${i.clickTime ?? i.conversionTime}.${i.clickIds.fbclid}` : null,
      i.value,
      i.currency,
      'phone_call',
    ],
  },
};
