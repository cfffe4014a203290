/** A token bucket: `burst` requests at once, refilled at `perSecond`. */
export interface BucketLimit {
  burst: number;
  perSecond: number;
}

/** Buckets kept before idle (full) ones are swept, so a flood of addresses cannot grow memory without bound. */
const SWEEP_AT = 10_000;

/**
 * In-memory token buckets keyed by a string. `take` answers 0 when the request may go, else the
 * seconds until a token is back (the Retry-After). One process: a deployment with several API
 * processes limits per process.
 */
export function createTokenBuckets(limit: BucketLimit, now: () => number) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  function refill(b: { tokens: number; at: number }, t: number): void {
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
    b.at = t;
  }
  /** The Retry-After of an empty bucket. */
  function secondsUntilToken(b: { tokens: number }): number {
    return Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
  }
  return {
    take(key: string): number {
      const t = now();
      let b = buckets.get(key);
      if (!b) {
        if (buckets.size >= SWEEP_AT) {
          for (const [k, v] of buckets) {
            refill(v, t);
            if (v.tokens >= limit.burst) buckets.delete(k);
          }
        }
        b = { tokens: limit.burst, at: t };
        buckets.set(key, b);
      } else {
        refill(b, t);
      }
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return secondsUntilToken(b);
    },
    /** Like take, without spending a token: 0 when one is there. */
    peek(key: string): number {
      const b = buckets.get(key);
      if (!b) return 0;
      refill(b, now());
      return b.tokens >= 1 ? 0 : secondsUntilToken(b);
    },
    get size(): number {
      return buckets.size;
    },
  };
}

export type TokenBuckets = ReturnType<typeof createTokenBuckets>;
