/**
 * Turns a dialed or calling number into E.164 (`+` and 8–15 digits), or null when it cannot be one.
 * Accepts `+15551234567`, `15551234567`, `5551234567` (national, given the default country code),
 * `0015551234567` / `01115551234567` (international prefixes), and separators such as spaces,
 * dots, dashes and parentheses. A `sip:` or `tel:` URI is reduced to its user part first.
 *
 * @example normalizeNumber('(555) 123-4567', '1') // '+15551234567'
 */
export function normalizeNumber(raw: string, defaultCountryCode: string): string | null {
  let s = raw.trim();
  const uri = /^(?:sips?|tel):([^@;]+)/i.exec(s);
  if (uri?.[1]) s = decodeURIComponent(uri[1]);
  s = s.replace(/[\s().\-]/g, '');
  let digits: string;
  if (s.startsWith('+')) digits = s.slice(1);
  else if (s.startsWith('011')) digits = s.slice(3);
  else if (s.startsWith('00')) digits = s.slice(2);
  else if (defaultCountryCode === '1' && s.length === 11 && s.startsWith('1')) digits = s;
  else if (s.length === 10 && defaultCountryCode === '1') digits = `1${s}`;
  else if (s.startsWith('0') && defaultCountryCode !== '1') digits = defaultCountryCode + s.slice(1);
  else if (s.startsWith(defaultCountryCode) && s.length >= 10) digits = s;
  else return null;
  if (!/^[1-9]\d{7,14}$/.test(digits)) return null;
  return `+${digits}`;
}

/** True for a valid E.164 string (as stored): `+` then 8–15 digits, no leading zero. */
export function isE164(value: string): boolean {
  return /^\+[1-9]\d{7,14}$/.test(value);
}
