import { partialFailureVerdict, type PlatformAdapter } from './platformAdapter.js';

export interface MicrosoftAdsSettings {
  /** The manager customer (CustomerId header) and the ad account the goal is in (CustomerAccountId). */
  customerId: string;
  customerAccountId: string;
  developerToken: string;
  clientId: string;
  clientSecret?: string;
  refreshToken: string;
}

/**
 * Microsoft Advertising offline conversions: the Campaign Management service's
 * ApplyOfflineConversions (v13, REST), one OfflineConversion per call: MicrosoftClickId (msclkid),
 * ConversionName (an offline conversion goal's name), ConversionTime (UTC), ConversionValue and
 * ConversionCurrencyCode. Refused rows come back in PartialErrors with a 200.
 */
export const microsoftAds: PlatformAdapter<MicrosoftAdsSettings> = {
  platform: 'microsoft-ads',
  settingsSchema: {
    type: 'object',
    additionalProperties: false,
    required: ['customerId', 'customerAccountId', 'developerToken', 'clientId', 'refreshToken'],
    properties: {
      customerId: { type: 'string', pattern: '^\\d{1,20}$' },
      customerAccountId: { type: 'string', pattern: '^\\d{1,20}$' },
      developerToken: { type: 'string', minLength: 1, maxLength: 200 },
      clientId: { type: 'string', minLength: 1, maxLength: 300 },
      clientSecret: { type: 'string', minLength: 1, maxLength: 300 },
      refreshToken: { type: 'string', minLength: 1, maxLength: 4000 },
    },
  },
  secretFields: ['developerToken', 'clientSecret', 'refreshToken'],
  needsClickId: true,
  clickIdOf: (clickIds) => (clickIds.msclkid ? { param: 'msclkid', value: clickIds.msclkid } : null),
  oauth: (s, urls) => ({
    tokenUrl: `${urls['microsoft-oauth']}/common/oauth2/v2.0/token`,
    clientId: s.clientId,
    clientSecret: s.clientSecret ?? '',
    refreshToken: s.refreshToken,
    scope: 'https://ads.microsoft.com/msads.manage offline_access',
  }),
  buildRequest(input, s, urls, accessToken) {
    const conversion: Record<string, unknown> = {
      MicrosoftClickId: input.clickIds.msclkid ?? null,
      ConversionName: input.conversionName,
      ConversionTime: new Date(input.conversionTime).toISOString(),
      ConversionCurrencyCode: input.currency,
    };
    if (input.value !== null) conversion.ConversionValue = input.value;
    return {
      url: `${urls['microsoft-ads']}/CampaignManagement/v13/OfflineConversions/Apply`,
      headers: { authorization: `Bearer ${accessToken ?? ''}`, DeveloperToken: s.developerToken, CustomerId: s.customerId, CustomerAccountId: s.customerAccountId },
      body: JSON.stringify({ OfflineConversions: [conversion] }),
    };
  },
  verdict: (status, body) =>
    partialFailureVerdict(status, body, (parsed: { PartialErrors?: Array<{ Message?: string }> | null }) => {
      const first = parsed.PartialErrors?.[0];
      return first ? (first.Message ?? 'partial error') : null;
    }),
  // Microsoft Advertising's offline conversion upload template, times in UTC.
  csv: {
    preamble: ['Parameters:TimeZone=+0000'],
    header: ['Microsoft Click ID', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency Code'],
    row: (i) => [i.clickIds.msclkid ?? null, i.conversionName, new Date(i.conversionTime).toISOString().slice(0, 19).replace('T', ' '), i.value, i.currency],
  },
};
