/**
 * The loop shared by the outbox's consumers that send things out (webhooks, conversions): `tick`
 * runs at start, on a timer and when poked; the work it starts is tracked by id, so `stop` waits
 * for what is in flight (each piece ends within its own timeout) and nothing starts twice.
 */
export function createPollingWorker(tick: () => Promise<void>, pollMs: number) {
  const inFlight = new Map<number, Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;
  /** Looks in progress (their database reads), which `stop` waits for too. */
  const looking = new Set<Promise<void>>();
  const look = (): Promise<void> => {
    // tick guards itself against overlapping and logs its own failures.
    const one = tick().catch(() => {});
    looking.add(one);
    void one.finally(() => looking.delete(one));
    return one;
  };
  return {
    /** Work started and not yet finished, by its row id. */
    inFlight,
    get stopped(): boolean {
      return stopped;
    },
    /** Starts one piece of work; it leaves `inFlight` when it settles, then `after` runs. */
    track(id: number, work: Promise<void>, after?: () => void): void {
      inFlight.set(
        id,
        work.finally(() => {
          inFlight.delete(id);
          after?.();
        }),
      );
    },
    /**
     * Starts polling; resolves once the first look is done. A consumer of the event stream seen for
     * the first time starts at the stream's end as that look finds it, so what must be delivered is
     * written after this resolves (on SQLite the look is over before start returns).
     */
    start(): Promise<void> {
      stopped = false;
      const first = look();
      timer = setInterval(() => void look(), pollMs);
      timer.unref();
      return first;
    },
    /** Looks for work now (after the API queued some, and in tests). */
    poke(): void {
      if (!stopped) void look();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await Promise.allSettled([...looking]);
      await Promise.allSettled([...inFlight.values()]);
    },
  };
}
