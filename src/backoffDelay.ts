/**
 * Delay before retry number `attempt` (0 for the first retry): exponential from `initialMs`,
 * capped at `maxMs`, with "equal jitter" (a random point in the upper half). The jitter spreads several
 * routers reconnecting to one restarted Asterisk (or PostgreSQL); keeping the lower half out means a retry never comes
 * immediately after a failure.
 *
 * @example
 * backoffDelay(0, { initialMs: 250, maxMs: 5000 }) // 125..250
 * backoffDelay(10, { initialMs: 250, maxMs: 5000 }) // 2500..5000
 */
export function backoffDelay(
  attempt: number,
  backoff: { initialMs: number; maxMs: number },
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(attempt, 0), 30);
  const ceiling = Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
