import type { ConversionPlatform } from '../../persistence/schema.js';
import { ga4 } from './ga4.js';
import { googleAds } from './googleAds.js';
import { meta } from './meta.js';
import { microsoftAds } from './microsoftAds.js';
import type { PlatformAdapter } from './platformAdapter.js';

/** Every platform callroute sends conversions to, by name. */
export const PLATFORM_ADAPTERS: Readonly<Record<ConversionPlatform, PlatformAdapter<never>>> = {
  'google-ads': googleAds as PlatformAdapter<never>,
  ga4: ga4 as PlatformAdapter<never>,
  meta: meta as PlatformAdapter<never>,
  'microsoft-ads': microsoftAds as PlatformAdapter<never>,
};
