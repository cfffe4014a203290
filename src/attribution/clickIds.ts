/** UTM parameters kept from a landing page (stored as the visit's `utm` JSON). */
export const UTM_PARAMS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_id'] as const;

/**
 * Ad-platform click ids, in the order the default classification tries them, with the source and
 * medium a click id implies when the landing page has no utm_source.
 */
export const CLICK_IDS: readonly { param: string; source: string; medium: string }[] = [
  { param: 'gclid', source: 'google', medium: 'cpc' },
  { param: 'gbraid', source: 'google', medium: 'cpc' },
  { param: 'wbraid', source: 'google', medium: 'cpc' },
  { param: 'dclid', source: 'google', medium: 'display' },
  { param: 'msclkid', source: 'bing', medium: 'cpc' },
  { param: 'fbclid', source: 'facebook', medium: 'social' },
  { param: 'ttclid', source: 'tiktok', medium: 'paid-social' },
  { param: 'twclid', source: 'twitter', medium: 'paid-social' },
  { param: 'li_fat_id', source: 'linkedin', medium: 'paid-social' },
  { param: 'epik', source: 'pinterest', medium: 'paid-social' },
  { param: 'ScCid', source: 'snapchat', medium: 'paid-social' },
  { param: 'rdt_cid', source: 'reddit', medium: 'paid-social' },
  { param: 'yclid', source: 'yandex', medium: 'cpc' },
];
