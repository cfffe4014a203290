/**
 * The ad-platform adapters build the requests the platforms document, field by field, and the
 * qualification rules decide as a customer would expect.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ga4 } from '../../src/integrations/conversions/ga4.js';
import { googleAds } from '../../src/integrations/conversions/googleAds.js';
import { meta } from '../../src/integrations/conversions/meta.js';
import { microsoftAds } from '../../src/integrations/conversions/microsoftAds.js';
import { PUBLIC_PLATFORM_URLS, type ConversionInput } from '../../src/integrations/conversions/platformAdapter.js';
import { DEFAULT_CONVERSION_RULES, qualifyCall } from '../../src/integrations/conversions/qualifyCall.js';

const input: ConversionInput = {
  callId: 42,
  clickIds: { gclid: 'Cj0KCQ-gclid', msclkid: 'ms-123', fbclid: 'IwAR-fb' },
  callerNumber: '+15557654321',
  conversionTime: Date.parse('2026-12-01T15:04:05.678Z'),
  clickTime: Date.parse('2026-12-01T14:00:00.000Z'),
  clientId: 'visitor-abc',
  value: 125.5,
  currency: 'USD',
  conversionName: '987654321',
  source: 'google',
  medium: 'cpc',
  campaign: 'winter',
};

describe('Google Ads UploadClickConversions', () => {
  const s = { customerId: '1234567890', loginCustomerId: '9999999999', developerToken: 'dev', clientId: 'c', clientSecret: 's', refreshToken: 'r' };
  it('posts one ClickConversion to customers/{id}:uploadClickConversions with partialFailure', () => {
    const r = googleAds.buildRequest(input, s, PUBLIC_PLATFORM_URLS, 'ya29.token');
    expect(r.url).toBe('https://googleads.googleapis.com/v26/customers/1234567890:uploadClickConversions');
    expect(r.headers).toEqual({ authorization: 'Bearer ya29.token', 'developer-token': 'dev', 'login-customer-id': '9999999999' });
    expect(JSON.parse(r.body)).toEqual({
      conversions: [
        {
          gclid: 'Cj0KCQ-gclid',
          conversionAction: 'customers/1234567890/conversionActions/987654321',
          conversionDateTime: '2026-12-01 15:04:05+00:00',
          conversionValue: 125.5,
          currencyCode: 'USD',
          orderId: 'callroute-call-42',
        },
      ],
      partialFailure: true,
    });
  });
  it('credits gbraid when there is no gclid, and reads a partial failure as a refusal', () => {
    const r = googleAds.buildRequest({ ...input, clickIds: { gbraid: 'gb-1' } }, s, PUBLIC_PLATFORM_URLS, 't');
    expect(JSON.parse(r.body).conversions[0]).toMatchObject({ gbraid: 'gb-1' });
    expect(googleAds.verdict(200, '{"partialFailureError":{"code":3,"message":"The click is too old"}}')).toEqual({ ok: false, retry: false, reason: 'refused: The click is too old' });
    expect(googleAds.verdict(200, '{"results":[{}]}')).toEqual({ ok: true });
    expect(googleAds.verdict(503, 'busy')).toMatchObject({ ok: false, retry: true });
    expect(googleAds.verdict(401, 'no')).toMatchObject({ ok: false, retry: false });
  });
  it('fills Google Ads’ click-conversion upload template', () => {
    expect(googleAds.csv.preamble).toEqual(['Parameters:TimeZone=+0000']);
    expect(googleAds.csv.header).toEqual(['Google Click ID', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency']);
    expect(googleAds.csv.row(input)).toEqual(['Cj0KCQ-gclid', '987654321', '2026-12-01 15:04:05', 125.5, 'USD']);
  });
});

describe('GA4 Measurement Protocol', () => {
  it('posts client_id, timestamp_micros and one event with value and currency to /mp/collect', () => {
    const r = ga4.buildRequest({ ...input, conversionName: 'phone_lead' }, { measurementId: 'G-ABC123', apiSecret: 'sec' }, PUBLIC_PLATFORM_URLS, null);
    expect(r.url).toBe('https://www.google-analytics.com/mp/collect?measurement_id=G-ABC123&api_secret=sec');
    expect(JSON.parse(r.body)).toEqual({
      client_id: 'visitor-abc',
      timestamp_micros: input.conversionTime * 1000,
      events: [{ name: 'phone_lead', params: { value: 125.5, currency: 'USD', call_id: '42', source: 'google', medium: 'cpc', campaign: 'winter' } }],
    });
  });
});

describe('Meta Conversions API', () => {
  it('posts a phone_call server event with fbc, the hashed number, event_id and custom_data', () => {
    const r = meta.buildRequest({ ...input, conversionName: 'Lead' }, { pixelId: '1234567890', accessToken: 'EAAB', testEventCode: 'TEST123' }, PUBLIC_PLATFORM_URLS, null);
    expect(r.url).toBe('https://graph.facebook.com/v23.0/1234567890/events');
    const body = JSON.parse(r.body);
    expect(body).toEqual({
      data: [
        {
          event_name: 'Lead',
          event_time: Math.floor(input.conversionTime / 1000),
          event_id: 'callroute-call-42',
          action_source: 'phone_call',
          user_data: { fbc: `fb.1.${input.clickTime}.IwAR-fb`, ph: [createHash('sha256').update('15557654321').digest('hex')] },
          custom_data: { value: 125.5, currency: 'USD' },
        },
      ],
      access_token: 'EAAB',
      test_event_code: 'TEST123',
    });
    // event_time in seconds (ten digits), never milliseconds.
    expect(String(body.data[0].event_time)).toHaveLength(10);
  });
  it('sends no number unless the rules allow it', () => {
    const r = meta.buildRequest({ ...input, callerNumber: null }, { pixelId: '1234567890', accessToken: 'EAAB' }, PUBLIC_PLATFORM_URLS, null);
    expect(JSON.parse(r.body).data[0].user_data).toEqual({ fbc: `fb.1.${input.clickTime}.IwAR-fb` });
  });
});

describe('Microsoft Advertising ApplyOfflineConversions', () => {
  it('posts one OfflineConversion with the msclkid, goal name, UTC time, value and currency', () => {
    const s = { customerId: '111', customerAccountId: '222', developerToken: 'dev', clientId: 'c', refreshToken: 'r' };
    const r = microsoftAds.buildRequest({ ...input, conversionName: 'Phone call' }, s, PUBLIC_PLATFORM_URLS, 'tok');
    expect(r.url).toBe('https://campaign.api.bingads.microsoft.com/CampaignManagement/v13/OfflineConversions/Apply');
    expect(r.headers).toEqual({ authorization: 'Bearer tok', DeveloperToken: 'dev', CustomerId: '111', CustomerAccountId: '222' });
    expect(JSON.parse(r.body)).toEqual({
      OfflineConversions: [{ MicrosoftClickId: 'ms-123', ConversionName: 'Phone call', ConversionTime: '2026-12-01T15:04:05.678Z', ConversionValue: 125.5, ConversionCurrencyCode: 'USD' }],
    });
    expect(microsoftAds.verdict(200, '{"PartialErrors":[{"Message":"The MicrosoftClickId is invalid."}]}')).toMatchObject({ ok: false, retry: false });
    expect(microsoftAds.verdict(200, '{"PartialErrors":null}')).toEqual({ ok: true });
    expect(microsoftAds.csv.header).toEqual(['Microsoft Click ID', 'Conversion Name', 'Conversion Time', 'Conversion Value', 'Conversion Currency Code']);
  });
});

describe('qualifyCall', () => {
  const call = { finished: true, disposition: 'answered' as const, talkSeconds: 75, firstTimeCaller: true, tags: '["Booked"]', leadStatus: 'good-lead' as const, restricted: false };
  it.each([
    [{}, {}, true],
    [{ disposition: 'no-answer' as const, talkSeconds: 0 }, {}, false],
    [{ disposition: 'no-answer' as const, talkSeconds: 0 }, { answeredOnly: false }, true],
    [{ talkSeconds: 59 }, { minTalkSeconds: 60 }, false],
    [{ talkSeconds: 60 }, { minTalkSeconds: 60 }, true],
    [{ firstTimeCaller: false }, { firstTimeCallersOnly: true }, false],
    [{}, { tag: 'booked' }, true],
    [{ tags: null }, { tag: 'booked' }, false],
    [{ leadStatus: 'not-a-lead' as const }, { leadStatus: 'good-lead' as const }, false],
    [{ restricted: true }, {}, false],
    [{ finished: false }, {}, false],
  ])('%o with rules %o → %s', (over, rules, expected) => {
    expect(qualifyCall({ ...call, ...over }, { ...DEFAULT_CONVERSION_RULES, ...rules }).qualifies).toBe(expected);
  });
});
