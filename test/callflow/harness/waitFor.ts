/** Polling with a deadline: call-flow tests wait for a state, never for a fixed time. */

export interface WaitForOptions {
  timeoutMs: number;
  /** Default 50 ms. */
  intervalMs?: number;
  /** What we were waiting for; starts the error message. */
  message: string;
}

/**
 * Calls `fn` until it returns a value other than `undefined`, `null` or `false`, and resolves with it.
 * A throw from `fn` counts as "not yet" (the last one is reported). After `timeoutMs` it throws with
 * `message`, the last value or error, and how long it waited.
 *
 * @example const ch = await waitFor(async () => (await listChannels(cfg)).length === 0, { timeoutMs: 5000, message: 'channels gone' });
 */
export async function waitFor<T>(
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions,
): Promise<T> {
  const interval = opts.intervalMs ?? 50;
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  let last: string = 'never evaluated';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
      last = `last value: ${String(v)}`;
    } catch (err) {
      last = `last error: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${Date.now() - started} ms waiting for: ${opts.message} (${last})`);
    }
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
