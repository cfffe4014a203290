import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header every delivery is signed in: `t=<unix seconds>,v1=<hex>[,v1=<hex>]`. */
export const SIGNATURE_HEADER = 'callroute-signature';
/** Receivers should refuse a delivery signed longer ago than this (replay window), and dedupe by event id. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * Signs a body: HMAC-SHA256 of `<timestamp>.<body>` with each valid secret (two during a rotation:
 * the new one first), so a receiver still configured with the old secret keeps verifying.
 *
 * @example signatureHeader(['whsec_…'], 1767225600, '{"id":"…"}') // 't=1767225600,v1=5f…'
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${hmac(s, timestamp, body)}`)].join(',');
}

/**
 * What a receiver does (and the tests do): true when one v1 signature matches the secret and the
 * timestamp is within the tolerance of `nowSeconds`.
 */
export function verifySignature(header: string, body: string, secret: string, nowSeconds: number, toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): boolean {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, t, body), 'hex');
  return parts.some(([k, v]) => {
    if (k !== 'v1' || !v || !/^[0-9a-f]{64}$/.test(v)) return false;
    return timingSafeEqual(Buffer.from(v, 'hex'), expected);
  });
}
