/**
 * A copy in memory of something the call path reads at every call (the tracking numbers, the caller
 * privacy rules), so no caller waits for a database read — on PostgreSQL a network round trip. It is
 * read again only when `version` moved (route_table_version, which triggers bump on every change),
 * checked on a timer and after API writes (`refresh`, awaited before the API answers). Sources may be
 * synchronous (SQLite) or not (PostgreSQL). A look that fails (the database restarting) keeps the
 * copy as it was and tries again at the next one.
 */
export interface VersionedCache<T> {
  /** The copy as of the last look that succeeded (`initial` before the first). */
  current(): T;
  /** The version `current()` is of (-1 before the first look). */
  version(): number | string;
  /** Looks now (one look at a time: a second call joins the one in progress). */
  refresh(): Promise<void>;
  start(): void;
  stop(): void;
}

export function createVersionedCache<T>(deps: {
  version: () => number | string | Promise<number | string>;
  load: () => T | Promise<T>;
  initial: T;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}): VersionedCache<T> {
  let version: number | string = -1;
  let value = deps.initial;
  let looking: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;
  const lookOnce = async (): Promise<void> => {
    const now = await deps.version();
    if (now === version) return;
    // Read after the version: a change in between shows as a newer version at the next look.
    value = await deps.load();
    version = now;
  };
  const refresh = (): Promise<void> => {
    looking ??= lookOnce().finally(() => {
      looking = null;
    });
    return looking;
  };
  return {
    current: () => value,
    version: () => version,
    refresh,
    start(): void {
      timer = setInterval(() => {
        refresh().catch((err: unknown) => deps.onError?.(err));
      }, deps.intervalMs ?? 250);
      timer.unref();
    },
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
