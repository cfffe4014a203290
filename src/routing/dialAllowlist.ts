import { normalizeNumber } from './normalizeNumber.js';

/**
 * Toll-fraud guard: where a destination (a route plan's or a tracking number's) may go. Checked when
 * a plan or number is saved, so a refused destination is never stored and never dialed.
 *
 * Rules, in order:
 * 1. Premium-rate numbers (PREMIUM_RATE_PREFIXES) are refused, whatever the allowlist says.
 * 2. An E.164 number must start with an allowed `prefix` entry. With no prefix entries at all the
 *    default is the deployment's own country code only (DEFAULT_COUNTRY_CODE): the safe choice for
 *    a fresh install, where nobody has yet decided to pay for international calls.
 * 3. Under +1, the NANP members outside the US and Canada (Caribbean, Bermuda, ...) are dialed like
 *    domestic numbers but billed as international and are the classic "one ring" fraud targets: a
 *    plain `+1` entry does not allow them; an entry naming the area code (`+1876`) does.
 * 4. A sip: URI must name a host listed as a `sip-host` entry. With no sip-host entries at all, any
 *    host is allowed (they go to a PBX the admin named, not to the carrier's PSTN trunk), but a user
 *    part that is a premium-rate number is still refused.
 */

export type AllowlistKind = 'prefix' | 'sip-host';

export interface AllowlistEntry {
  kind: AllowlistKind;
  /** prefix: `+` and digits (`+1`, `+44`, `+1555`); sip-host: a host name or address, lower case. */
  value: string;
}

export interface PremiumRatePrefix {
  prefix: string;
  what: string;
}

/**
 * Premium-rate and revenue-share ranges, refused always. A small, conservative table, not a tariff
 * database; the allowlist is the real guard and this catches the obvious ones inside allowed countries.
 * Sources: NANPA (North American Numbering Plan Administrator) service access codes — 900 premium
 * services, and 976, the historical pay-per-call exchange still used for premium lines in many NPAs;
 * Ofcom's National Telephone Numbering Plan (UK) — 09 premium rate services, 087 revenue-sharing
 * service numbers, 070 personal numbers (widely abused for fraud); Bundesnetzagentur (Germany) —
 * 0900 premium services, 0137 mass-calling; ARCEP (France) — 089 premium services; ACMA
 * (Australia) — 19 premium services.
 */
export const PREMIUM_RATE_PREFIXES: readonly PremiumRatePrefix[] = [
  { prefix: '+1900', what: 'US/Canada 900 premium-rate service' },
  // 976 as an exchange (NXX) in any area code: +1 NPA 976 XXXX.
  { prefix: '+1???976', what: 'US/Canada 976 pay-per-call exchange' },
  { prefix: '+1976', what: 'US/Canada 976 pay-per-call' },
  { prefix: '+449', what: 'UK 09 premium-rate service' },
  { prefix: '+4487', what: 'UK 087 revenue-sharing service number' },
  { prefix: '+4470', what: 'UK 070 personal number' },
  { prefix: '+49900', what: 'Germany 0900 premium-rate service' },
  { prefix: '+49137', what: 'Germany 0137 mass-calling service' },
  { prefix: '+3389', what: 'France 089 premium-rate service' },
  { prefix: '+6119', what: 'Australia 19 premium-rate service' },
];

/**
 * NANP area codes (under +1) that are other countries or territories billed as international from
 * the US and Canada (NANPA's list of NANP members). US territories (Puerto Rico, USVI, Guam, ...)
 * are domestic and not listed.
 */
export const NANP_INTERNATIONAL_AREA_CODES: Readonly<Record<string, string>> = {
  '242': 'Bahamas',
  '246': 'Barbados',
  '264': 'Anguilla',
  '268': 'Antigua and Barbuda',
  '284': 'British Virgin Islands',
  '345': 'Cayman Islands',
  '441': 'Bermuda',
  '473': 'Grenada',
  '649': 'Turks and Caicos Islands',
  '658': 'Jamaica',
  '664': 'Montserrat',
  '721': 'Sint Maarten',
  '758': 'Saint Lucia',
  '767': 'Dominica',
  '784': 'Saint Vincent and the Grenadines',
  '809': 'Dominican Republic',
  '829': 'Dominican Republic',
  '849': 'Dominican Republic',
  '868': 'Trinidad and Tobago',
  '869': 'Saint Kitts and Nevis',
  '876': 'Jamaica',
};

export type DialCheck =
  | { ok: true }
  | { ok: false; reason: 'premium-rate' | 'not-allowed' | 'invalid'; message: string };

function premiumRate(e164: string): PremiumRatePrefix | undefined {
  return PREMIUM_RATE_PREFIXES.find((p) => {
    if (p.prefix.length > e164.length) return false;
    for (let i = 0; i < p.prefix.length; i += 1) {
      const c = p.prefix[i];
      if (c !== '?' && c !== e164[i]) return false;
    }
    return true;
  });
}

function checkNumber(e164: string, prefixes: readonly string[], defaultCountryCode: string): DialCheck {
  const premium = premiumRate(e164);
  if (premium) {
    return { ok: false, reason: 'premium-rate', message: `${e164} is a premium-rate number (${premium.what}); premium-rate destinations are never dialed` };
  }
  const allowed = prefixes.length > 0 ? prefixes : [`+${defaultCountryCode}`];
  const matching = allowed.filter((p) => e164.startsWith(p));
  if (matching.length === 0) {
    const list = allowed.join(', ');
    const why = prefixes.length > 0 ? `the dial allowlist (${list})` : `the default country code (${list}; the dial allowlist is empty)`;
    return { ok: false, reason: 'not-allowed', message: `${e164} is outside ${why}` };
  }
  if (e164.startsWith('+1')) {
    const area = e164.slice(2, 5);
    const country = NANP_INTERNATIONAL_AREA_CODES[area];
    // Only an entry that names the area code (or more) lets an international NANP number through.
    if (country && !matching.some((p) => p.length >= 5)) {
      return {
        ok: false,
        reason: 'not-allowed',
        message: `${e164} is in +1 ${area} (${country}), billed as international; allow it with a prefix entry +1${area}`,
      };
    }
  }
  return { ok: true };
}

/** `sip:user@host[:port]` → host in lower case (IPv6 keeps its brackets), user part; null if not a sip: URI. */
export function sipUriParts(target: string): { user: string; host: string } | null {
  const m = /^sips?:([^@]+)@(\[[^\]]+\]|[^:;>]+)(?::\d+)?(?:;.*)?$/i.exec(target.trim());
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { user: m[1], host: m[2].toLowerCase() };
}

/**
 * Whether a destination may be dialed, with a message naming it when not.
 * `target` is as stored: E.164 or a sip: URI.
 *
 * @example checkDialTarget('+19005550100', [], { defaultCountryCode: '1' })
 * // { ok: false, reason: 'premium-rate', message: '+19005550100 is a premium-rate number (US/Canada 900 premium-rate service); ...' }
 * @example checkDialTarget('+447700900123', [{ kind: 'prefix', value: '+1' }], { defaultCountryCode: '1' })
 * // { ok: false, reason: 'not-allowed', message: '+447700900123 is outside the dial allowlist (+1)' }
 */
export function checkDialTarget(
  target: string,
  allowlist: readonly AllowlistEntry[],
  opts: { defaultCountryCode: string },
): DialCheck {
  const prefixes = allowlist.filter((e) => e.kind === 'prefix').map((e) => e.value);
  if (/^sips?:/i.test(target)) {
    const parts = sipUriParts(target);
    if (!parts) return { ok: false, reason: 'invalid', message: `${target} is not a sip:user@host URI` };
    // A PBX or gateway may pass a number in the user part on to the PSTN: never a premium-rate one.
    const asNumber = /^\+?\d{8,15}$/.test(parts.user) ? normalizeNumber(parts.user, opts.defaultCountryCode) : null;
    const premium = asNumber ? premiumRate(asNumber) : undefined;
    if (asNumber && premium) {
      return { ok: false, reason: 'premium-rate', message: `${target} calls ${asNumber}, a premium-rate number (${premium.what}); premium-rate destinations are never dialed` };
    }
    const hosts = allowlist.filter((e) => e.kind === 'sip-host').map((e) => e.value.toLowerCase());
    if (hosts.length > 0 && !hosts.includes(parts.host)) {
      return { ok: false, reason: 'not-allowed', message: `${target}: SIP host ${parts.host} is not in the dial allowlist (${hosts.join(', ')})` };
    }
    return { ok: true };
  }
  if (!/^\+[1-9]\d{7,14}$/.test(target)) return { ok: false, reason: 'invalid', message: `${target} is not an E.164 number` };
  return checkNumber(target, prefixes, opts.defaultCountryCode);
}

/**
 * An allowlist value as stored, or null when it is not one: prefix `+` and 1–15 digits (national
 * formats are not accepted: a prefix is international by nature); sip-host a DNS name, an IPv4
 * address or a bracketed IPv6 address, lower-cased.
 *
 * @example normalizeAllowlistValue('prefix', ' +44 ') // '+44'
 * @example normalizeAllowlistValue('sip-host', 'PBX.Example.com') // 'pbx.example.com'
 */
export function normalizeAllowlistValue(kind: AllowlistKind, raw: string): string | null {
  const value = raw.trim();
  if (kind === 'prefix') return /^\+[1-9]\d{0,14}$/.test(value) ? value : null;
  const host = value.toLowerCase();
  const label = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
  if (new RegExp(`^${label}(?:\\.${label})*$`).test(host) && host.length <= 253) return host;
  if (/^\[[0-9a-f:.]+\]$/.test(host)) return host;
  return null;
}
