import { normalizeNumber } from '../routing/normalizeNumber.js';

// sip:user@host[:port]: user is unreserved/escaped characters, host a DNS name, IPv4 or [IPv6].
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const SIP_URI = new RegExp(
  `^sip:[A-Za-z0-9\\-_.!~*'()&=+$,%]+@(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9A-Fa-f:.]+\\])(?::(\\d{1,5}))?$`,
);

/**
 * A tracking number's destination as stored: a `sip:user@host[:port]` URI kept as given, or any
 * dialable number normalised to E.164. Null when it is neither.
 *
 * @example normalizeDestination('(555) 123-4567', '1') // '+15551234567'
 * @example normalizeDestination('sip:agent@pbx.example.com:5060', '1') // 'sip:agent@pbx.example.com:5060'
 */
export function normalizeDestination(raw: string, defaultCountryCode: string): string | null {
  const s = raw.trim();
  if (/^sips?:/i.test(s)) {
    const m = SIP_URI.exec(s);
    if (!m) return null;
    const port = m[1] === undefined ? undefined : Number(m[1]);
    if (port !== undefined && (port < 1 || port > 65535)) return null;
    return s;
  }
  return normalizeNumber(s, defaultCountryCode);
}
