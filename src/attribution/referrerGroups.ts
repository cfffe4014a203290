/** Referrer groups a source rule can name (`referrer_group`), and the names the default classification gives. */
export const REFERRER_GROUPS = ['search', 'social'] as const;
export type ReferrerGroup = (typeof REFERRER_GROUPS)[number];

interface KnownReferrer {
  /** Matches the lower-case host (without a leading `www.`). */
  host: RegExp;
  name: string;
  group: ReferrerGroup;
}

// Country domains (google.co.uk, yandex.ru) are why these are patterns rather than a host list.
const KNOWN: readonly KnownReferrer[] = [
  { host: /(^|\.)google(\.[a-z]{2,3}){1,2}$/, name: 'google', group: 'search' },
  { host: /(^|\.)bing\.com$/, name: 'bing', group: 'search' },
  { host: /(^|\.)yahoo(\.[a-z]{2,3}){1,2}$/, name: 'yahoo', group: 'search' },
  { host: /(^|\.)duckduckgo\.com$/, name: 'duckduckgo', group: 'search' },
  { host: /(^|\.)baidu\.com$/, name: 'baidu', group: 'search' },
  { host: /(^|\.)yandex(\.[a-z]{2,3}){1,2}$/, name: 'yandex', group: 'search' },
  { host: /(^|\.)ecosia\.org$/, name: 'ecosia', group: 'search' },
  { host: /^search\.brave\.com$/, name: 'brave', group: 'search' },
  { host: /(^|\.)startpage\.com$/, name: 'startpage', group: 'search' },
  { host: /(^|\.)qwant\.com$/, name: 'qwant', group: 'search' },
  { host: /(^|\.)naver\.com$/, name: 'naver', group: 'search' },
  { host: /(^|\.)seznam\.cz$/, name: 'seznam', group: 'search' },
  { host: /^search\.aol\.com$/, name: 'aol', group: 'search' },
  { host: /(^|\.)(facebook\.com|fb\.com|fb\.me)$/, name: 'facebook', group: 'social' },
  { host: /(^|\.)instagram\.com$/, name: 'instagram', group: 'social' },
  { host: /^(t\.co|twitter\.com|x\.com|mobile\.twitter\.com)$/, name: 'twitter', group: 'social' },
  { host: /(^|\.)(linkedin\.com|lnkd\.in)$/, name: 'linkedin', group: 'social' },
  { host: /(^|\.)pinterest(\.[a-z]{2,3}){1,2}$/, name: 'pinterest', group: 'social' },
  { host: /(^|\.)reddit\.com$/, name: 'reddit', group: 'social' },
  { host: /(^|\.)(youtube\.com|youtu\.be)$/, name: 'youtube', group: 'social' },
  { host: /(^|\.)tiktok\.com$/, name: 'tiktok', group: 'social' },
  { host: /(^|\.)threads\.net$/, name: 'threads', group: 'social' },
  { host: /(^|\.)snapchat\.com$/, name: 'snapchat', group: 'social' },
  { host: /(^|\.)vk\.com$/, name: 'vk', group: 'social' },
];

/**
 * The well-known search engine or social network a referrer host belongs to.
 *
 * @example knownReferrer('www.google.co.uk') // { name: 'google', group: 'search' }
 */
export function knownReferrer(host: string): { name: string; group: ReferrerGroup } | undefined {
  const h = host.toLowerCase().replace(/^www\./, '');
  const hit = KNOWN.find((k) => k.host.test(h));
  return hit ? { name: hit.name, group: hit.group } : undefined;
}
