/**
 * How long a webhook delivery or a conversion taken for one attempt stays claimed: past the attempt's
 * own timeout, so another node's dispatcher or sender passes it by meanwhile, and short enough that
 * one a dying process had taken is retried soon.
 */
export function attemptClaimMs(timeoutMs: number): number {
  return Math.max(30_000, timeoutMs * 3);
}
