import { googleDateTime, partialFailureVerdict, type PlatformAdapter } from './platformAdapter.js';

/** The Google Ads API version the requests name (its REST path). */
export const GOOGLE_ADS_API_VERSION = 'v26';
/** Google's click ids: gclid, and gbraid / wbraid for clicks from iOS apps and web-to-app. */
const GOOGLE_CLICK_IDS = ['gclid', 'gbraid', 'wbraid'] as const;

export interface GoogleAdsSettings {
  /** The Google Ads customer the conversion action belongs to: ten digits, no dashes. */
  customerId: string;
  /** The manager account the OAuth user signs in through, when there is one (login-customer-id). */
  loginCustomerId?: string;
  developerToken: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

/**
 * Google Ads offline click conversions: ConversionUploadService.UploadClickConversions over REST,
 * one ClickConversion per call (gclid / gbraid / wbraid, conversionAction, conversionDateTime,
 * conversionValue, currencyCode, orderId so Google drops a duplicate), with partialFailure so a bad
 * row is reported rather than failing the request. The conversion name is the conversion action's id.
 */
export const googleAds: PlatformAdapter<GoogleAdsSettings> = {
  platform: 'google-ads',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['customerId', 'developerToken', 'clientId', 'clientSecret', 'refreshToken'],
    properties: {
      customerId: { type: 'string', pattern: '^\\d{10}$' },
      loginCustomerId: { type: 'string', pattern: '^\\d{10}$' },
      developerToken: { type: 'string', minLength: 1, maxLength: 200 },
      clientId: { type: 'string', minLength: 1, maxLength: 300 },
      clientSecret: { type: 'string', minLength: 1, maxLength: 300 },
      refreshToken: { type: 'string', minLength: 1, maxLength: 1000 },
    },
  },
  secretFields: ['developerToken', 'clientSecret', 'refreshToken'],
  needsClickId: true,
  clickIdOf(clickIds) {
    for (const param of GOOGLE_CLICK_IDS) {
      const value = clickIds[param];
      if (value) return { param, value };
    }
    return null;
  },
  oauth: (s, urls) => ({ tokenUrl: `${urls['google-oauth']}/token`, clientId: s.clientId, clientSecret: s.clientSecret, refreshToken: s.refreshToken }),
  buildRequest(input, s, urls, accessToken) {
    const click = this.clickIdOf(input.clickIds);
    const conversion: Record<string, unknown> = {
      conversionAction: `customers/${s.customerId}/conversionActions/${input.conversionName}`,
      conversionDateTime: googleDateTime(input.conversionTime),
      currencyCode: input.currency,
      orderId: `callroute-call-${input.callId}`,
    };
    if (click) conversion[click.param] = click.value;
    if (input.value !== null) conversion.conversionValue = input.value;
    const headers: Record<string, string> = { authorization: `Bearer ${accessToken ?? ''}`, 'developer-token': s.developerToken };
    if (s.loginCustomerId) headers['login-customer-id'] = s.loginCustomerId;
    return {
      url: `${urls['google-ads']}/${GOOGLE_ADS_API_VERSION}/customers/${s.customerId}:uploadClickConversions`,
      headers,
      body: JSON.stringify({ conversions: [conversion], partialFailure: true }),
    };
  },
  // With partialFailure a refused row still answers 200, its error in partialFailureError.
  verdict: (status, body) =>
    partialFailureVerdict(status, body, (parsed: { partialFailureError?: { message?: string } }) =>
      parsed.partialFailureError ? (parsed.partialFailureError.message ?? 'partial failure') : null,
    ),
  // Google Ads' click-conversion upload template (Conversions > Uploads), times in UTC.
  csv: {
    preamble: ['Parameters:TimeZone=+0000'],
    header: ['Google Click ID', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency'],
    row: (i) => [i.clickIds.gclid ?? null, i.conversionName, new Date(i.conversionTime).toISOString().slice(0, 19).replace('T', ' '), i.value, i.currency],
  },
};
