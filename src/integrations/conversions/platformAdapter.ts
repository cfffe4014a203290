import { createHash } from 'node:crypto';
import type { ConversionPlatform } from '../../persistence/schema.js';

/** A qualified call, as every adapter needs it. */
export interface ConversionInput {
  callId: number;
  /** The click ids of the call's visit (gclid, gbraid, wbraid, msclkid, fbclid…). */
  clickIds: Readonly<Record<string, string>>;
  /** E.164, when the rules allow sending it (hashed) and the platform takes it. */
  callerNumber: string | null;
  /** When the conversion happened: the call's end (ms). */
  conversionTime: number;
  /** When the visit began (ms): Meta's fbc carries the click's time. */
  clickTime: number | null;
  /** A stable id of the visitor's browser for platforms that key on one (GA4's client_id). */
  clientId: string | null;
  value: number | null;
  currency: string;
  conversionName: string;
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

export interface PlatformRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** Where each platform (and its OAuth token service) is reached: the public hosts, or stand-ins (tests, proxies). */
export type PlatformUrls = Readonly<Record<ConversionPlatform | 'google-oauth' | 'microsoft-oauth', string>>;

export const PUBLIC_PLATFORM_URLS: PlatformUrls = {
  'google-ads': 'https://googleads.googleapis.com',
  ga4: 'https://www.google-analytics.com',
  meta: 'https://graph.facebook.com',
  'microsoft-ads': 'https://campaign.api.bingads.microsoft.com',
  'google-oauth': 'https://oauth2.googleapis.com',
  'microsoft-oauth': 'https://login.microsoftonline.com',
};

export interface OAuthRefresh {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  scope?: string;
}

/** What the platform answered: 2xx is not always success (Google's and Microsoft's partial failures). */
export type PlatformVerdict = { ok: true } | { ok: false; retry: boolean; reason: string };

/**
 * One ad platform: the settings it needs (a JSON schema the API checks), which click id it credits,
 * the documented request it takes, how to read its answer, and its upload file's columns.
 */
export interface PlatformAdapter<S = Record<string, string>> {
  platform: ConversionPlatform;
  settingsSchema: { type: 'object'; required: readonly string[]; properties: Record<string, unknown>; additionalProperties: false };
  /** Settings fields never shown back by the API. */
  secretFields: readonly string[];
  /** The click id credited, or null when the call has none the platform takes (then it is not a conversion here). */
  clickIdOf(clickIds: Readonly<Record<string, string>>): { param: string; value: string } | null;
  /** Whether a call without a click id can still be sent (Meta matches on the hashed number). */
  needsClickId: boolean;
  oauth(settings: S, urls: PlatformUrls): OAuthRefresh | null;
  buildRequest(input: ConversionInput, settings: S, urls: PlatformUrls, accessToken: string | null): PlatformRequest;
  verdict(status: number, body: string): PlatformVerdict;
  csv: { preamble: string[]; header: string[]; row(input: ConversionInput): Array<string | number | null> };
}

/** Digits of an E.164 number, SHA-256 in hex: what Meta (and Google's enhanced conversions) match on. */
export function hashedPhone(e164: string): string {
  return createHash('sha256').update(e164.replace(/\D/g, '')).digest('hex');
}

/** `yyyy-mm-dd hh:mm:ss+00:00`: the conversion time format Google Ads takes (UTC here). */
export function googleDateTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}+00:00`;
}

/** 2xx is accepted; 408, 429 and 5xx are worth retrying; any other answer will not change by itself. */
export function httpVerdict(status: number, body: string): PlatformVerdict {
  if (status >= 200 && status < 300) return { ok: true };
  const retry = status === 408 || status === 429 || status >= 500;
  return { ok: false, retry, reason: `HTTP ${status}: ${body.slice(0, 200)}` };
}

/**
 * Platforms whose batch endpoints answer 200 with the rows they refused inside (Google's
 * partialFailureError, Microsoft's PartialErrors): an HTTP verdict first, then `refusal` reads the
 * JSON answer and names the refusal, or null when there is none.
 */
export function partialFailureVerdict(status: number, body: string, refusal: (parsed: never) => string | null): PlatformVerdict {
  const http = httpVerdict(status, body);
  if (!http.ok) return http;
  try {
    const reason = refusal(JSON.parse(body) as never);
    if (reason !== null) return { ok: false, retry: false, reason: `refused: ${reason}` };
  } catch {
    // Not JSON: a 2xx is taken at its word.
  }
  return { ok: true };
}
