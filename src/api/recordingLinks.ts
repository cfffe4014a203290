import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Signature of a download link: HMAC-SHA256 over `<what>.<exp>` (exp in unix seconds), base64url.
 * `what` names the thing the link opens: a recording's id, or `export:<id>` for a privacy export, so
 * a link to one can never open the other.
 *
 * @example signLink('12', 1767225600, secret) // 'k3Jf…' (43 characters)
 */
export function signLink(what: string, exp: number, secret: string): string {
  return createHmac('sha256', secret).update(`${what}.${exp}`, 'utf8').digest('base64url');
}

export function signRecordingLink(recordingId: number, exp: number, secret: string): string {
  return signLink(String(recordingId), exp, secret);
}

export type LinkCheck = 'ok' | 'expired' | 'invalid';

/**
 * Checks a link's signature in constant time first, then its expiry, so a forged or altered link is
 * always `invalid` (never told apart by its expiry) and only a genuine old link is `expired`.
 *
 * @example checkLink('12', '1767225600', sig, secret, 1767225000) // 'ok'
 */
export function checkLink(what: string, exp: string | undefined, sig: string | undefined, secret: string, nowSeconds: number): LinkCheck {
  if (exp === undefined || sig === undefined || !/^\d{1,12}$/.test(exp)) return 'invalid';
  const expected = Buffer.from(signLink(what, Number(exp), secret), 'utf8');
  const given = Buffer.from(sig, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return Number(exp) <= nowSeconds ? 'expired' : 'ok';
}

export function checkRecordingLink(recordingId: number, exp: string | undefined, sig: string | undefined, secret: string, nowSeconds: number): LinkCheck {
  return checkLink(String(recordingId), exp, sig, secret, nowSeconds);
}
