import { CLICK_IDS, UTM_PARAMS } from './clickIds.js';
import { knownReferrer, REFERRER_GROUPS, type ReferrerGroup } from './referrerGroups.js';

export const SOURCE_RULE_KINDS = ['param', 'referrer_host', 'referrer_group', 'direct'] as const;
export type SourceRuleKind = (typeof SOURCE_RULE_KINDS)[number];
export { REFERRER_GROUPS, type ReferrerGroup };

/** An account's source rule (the `source_rules` row, as classification needs it). */
export interface SourceRule {
  id?: number;
  kind: SourceRuleKind | string;
  /** param: the parameter name; referrer_host: the host; referrer_group: search | social | any. */
  match: string | null;
  /** param: the value required (case-insensitive); null = present with any value. */
  value: string | null;
  source: string;
  medium: string | null;
  campaign: string | null;
}

/** What a visit came with: the page it landed on and the page that sent it. */
export interface VisitFacts {
  landingPage: string | null;
  referrer: string | null;
}

/** The classified visit: where it came from, and the landing-page tags kept with it. */
export interface Touch {
  source: string;
  medium: string | null;
  campaign: string | null;
  /** utm_* parameters found on the landing page. */
  utm: Record<string, string>;
  /** Click ids (gclid, fbclid, msclkid, ...) found on the landing page. */
  clickIds: Record<string, string>;
  /** External referrer host (lower case, no `www.`); null for none or a same-site referrer. */
  referrerHost: string | null;
  /** The account rule that decided, or null when the built-in defaults did. */
  ruleId: number | null;
  /** Nothing said where the visit came from (no tags, no external referrer). */
  direct: boolean;
}

export const DIRECT_SOURCE = 'direct';
/** Longest tag value kept; longer ones are cut (they come from the visitor's URL). */
const MAX_VALUE = 200;

function parseUrl(value: string | null): URL | undefined {
  if (!value) return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'android-app:' ? url : undefined;
  } catch {
    return undefined;
  }
}

function bareHost(url: URL): string {
  return url.hostname.toLowerCase().replace(/^www\./, '');
}

function clean(value: string): string {
  return value.trim().slice(0, MAX_VALUE);
}

/** Case-insensitive parameter lookup; the first non-empty value wins. */
function param(params: URLSearchParams, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of params) {
    if (k.toLowerCase() === lower && v.trim() !== '') return clean(v);
  }
  return undefined;
}

function ruleMatches(
  rule: SourceRule,
  params: URLSearchParams,
  referrerHost: string | null,
  direct: boolean,
): boolean {
  switch (rule.kind) {
    case 'param': {
      if (!rule.match) return false;
      const v = param(params, rule.match);
      if (v === undefined) return false;
      return rule.value === null || v.toLowerCase() === rule.value.trim().toLowerCase();
    }
    case 'referrer_host':
      return referrerHost !== null && rule.match !== null && referrerHost === rule.match.toLowerCase().replace(/^www\./, '');
    case 'referrer_group': {
      if (referrerHost === null || !rule.match) return false;
      if (rule.match === 'any') return true;
      return knownReferrer(referrerHost)?.group === rule.match;
    }
    case 'direct':
      return direct;
    default:
      return false;
  }
}

/**
 * Classifies a visit into source / medium / campaign. The account's rules are tried in the order
 * given (their `position`), the first match wins; then the built-in defaults, in precedence order:
 * utm_source; a click id (gclid → google/cpc, msclkid → bing/cpc, fbclid → facebook/social, ...);
 * an external referrer (a known search engine → `<engine>/organic`, a social network →
 * `<network>/social`, any other host → `<host>/referral`); else direct. A rule's null medium or
 * campaign is filled from utm_medium / utm_campaign. A referrer on the landing page's own host is
 * internal navigation, not a source.
 *
 * @example
 * classifyVisit({ landingPage: 'https://a.example/?gclid=x', referrer: 'https://www.google.com/' }, [])
 * // { source: 'google', medium: 'cpc', campaign: null, clickIds: { gclid: 'x' }, ... }
 */
export function classifyVisit(visit: VisitFacts, rules: readonly SourceRule[]): Touch {
  const landing = parseUrl(visit.landingPage);
  const params = landing?.searchParams ?? new URLSearchParams();
  const utm: Record<string, string> = {};
  for (const name of UTM_PARAMS) {
    const v = param(params, name);
    if (v !== undefined) utm[name] = v;
  }
  const clickIds: Record<string, string> = {};
  for (const c of CLICK_IDS) {
    const v = param(params, c.param);
    if (v !== undefined) clickIds[c.param] = v;
  }
  const ref = parseUrl(visit.referrer);
  const referrerHost = ref && (!landing || bareHost(ref) !== bareHost(landing)) ? bareHost(ref) : null;
  const direct = referrerHost === null && Object.keys(utm).length === 0 && Object.keys(clickIds).length === 0;
  const base = { utm, clickIds, referrerHost, direct };

  for (const rule of rules) {
    if (ruleMatches(rule, params, referrerHost, direct)) {
      return {
        ...base,
        source: rule.source,
        medium: rule.medium ?? utm.utm_medium ?? null,
        campaign: rule.campaign ?? utm.utm_campaign ?? null,
        ruleId: rule.id ?? null,
      };
    }
  }

  const campaign = utm.utm_campaign ?? null;
  if (utm.utm_source !== undefined) {
    return { ...base, source: utm.utm_source, medium: utm.utm_medium ?? null, campaign, ruleId: null };
  }
  const click = CLICK_IDS.find((c) => clickIds[c.param] !== undefined);
  if (click) return { ...base, source: click.source, medium: utm.utm_medium ?? click.medium, campaign, ruleId: null };
  if (referrerHost !== null) {
    const known = knownReferrer(referrerHost);
    if (known) {
      return { ...base, source: known.name, medium: known.group === 'search' ? 'organic' : 'social', campaign, ruleId: null };
    }
    return { ...base, source: referrerHost, medium: 'referral', campaign, ruleId: null };
  }
  return { ...base, source: DIRECT_SOURCE, medium: null, campaign: null, ruleId: null };
}
