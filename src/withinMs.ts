/** What withinMs gives when the promise had not settled in time. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * Waits for `p` at most `ms`: its value, or TIMED_OUT. A rejection of `p` before then passes
 * through. The timer is cleared when `p` settles and never holds the process open, so a bounded
 * wait at shutdown does not delay the exit either.
 *
 * @example if ((await withinMs(writer.drain(), 5_000)) === TIMED_OUT) logger.error('writes left')
 */
export function withinMs<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, ms, TIMED_OUT);
    timer.unref();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
