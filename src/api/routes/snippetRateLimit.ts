import type { BucketLimit } from '../tokenBuckets.js';

/** Limits of the public snippet API, per client IP and per account key. */
export interface SnippetRateLimits {
  perIp: BucketLimit;
  perKey: BucketLimit;
}

// A page view is one session request, then a heartbeat a minute: an IP (an office behind NAT) gets
// room for a burst of page views; a key, for a busy site's traffic.
export const DEFAULT_SNIPPET_RATE_LIMITS: SnippetRateLimits = {
  perIp: { burst: 60, perSecond: 1 },
  perKey: { burst: 1_000, perSecond: 100 },
};
