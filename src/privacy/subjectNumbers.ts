import { createHmac } from 'node:crypto';
import { normalizeNumber } from '../routing/normalizeNumber.js';

/**
 * The ways one caller number can sit in a call record. Carriers deliver caller id as they like:
 * E.164 (`+15551230000`), without the plus (`15551230000`), with an international prefix
 * (`0015551230000`, `01115551230000`), or national (`5551230000`, and `0` + national where a trunk
 * prefix is used) when the country is the installation's own. A privacy request names the person
 * once; every spelling is matched (an indexed IN on (account_id, caller_number)).
 *
 * @example callerNumberSpellings('+15551230000', '1') // ['+15551230000', '15551230000', '0015551230000', '01115551230000', '5551230000', '05551230000']
 */
export function callerNumberSpellings(e164: string, defaultCountryCode: string): string[] {
  const digits = e164.replace(/^\+/, '');
  const out = [`+${digits}`, digits, `00${digits}`, `011${digits}`];
  if (defaultCountryCode !== '' && digits.startsWith(defaultCountryCode)) {
    const national = digits.slice(defaultCountryCode.length);
    out.push(national, `0${national}`);
  }
  return [...new Set(out)];
}

/**
 * What an erased caller number becomes: a keyed hash, the same for the same number, so "calls from
 * this caller" and first-time-caller counts stay true while the number itself is gone. Keyed (HMAC), so
 * nobody can find the number again by hashing every phone number there is.
 */
export function erasedCallerNumber(e164: string, secret: string): string {
  return keyedHash(e164, secret);
}

/** `erased:` and 22 characters of HMAC-SHA256: what every erased identifier becomes. */
function keyedHash(value: string, secret: string): string {
  return `erased:${createHmac('sha256', secret).update(value).digest('base64url').slice(0, 22)}`;
}

/**
 * The keyed hash a privacy request about a website visitor (the snippet's visitor id) or one visit is
 * stored under, so the request's own record does not keep the identifier it erased.
 */
export function subjectHashOf(subject: { visitorId: string } | { visitId: number }, secret: string): string {
  return keyedHash('visitorId' in subject ? `visitor:${subject.visitorId}` : `visit:${subject.visitId}`, secret);
}

/**
 * Calls grouped by what their caller number becomes when they are anonymised: each caller's own keyed
 * hash (a visitor's calls may come from several numbers); a number already erased stays as it is.
 */
export function anonymisedCallers(
  rows: ReadonlyArray<{ id: number; callerNumber: string | null }>,
  defaultCountryCode: string,
  secret: string,
): Array<{ erasedNumber: string | null; callIds: number[] }> {
  const byNumber = new Map<string | null, number[]>();
  for (const c of rows) {
    const e164 = c.callerNumber === null ? null : (normalizeNumber(c.callerNumber, defaultCountryCode) ?? c.callerNumber);
    const erased = e164 === null || e164.startsWith('erased:') ? e164 : erasedCallerNumber(e164, secret);
    byNumber.set(erased, [...(byNumber.get(erased) ?? []), c.id]);
  }
  return [...byNumber].map(([erasedNumber, callIds]) => ({ erasedNumber, callIds }));
}
