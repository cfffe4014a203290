import type { CallerPrivacyRule } from '../persistence/schema.js';
import { createVersionedCache } from '../persistence/versionedCache.js';

/** What applies to a caller of an account at call setup; null: nothing (recorded and attributed as the number says). */
export type CallerPrivacyLookup = (accountId: number, callerNumber: string | null) => CallerPrivacyRule | null;

/**
 * The in-memory lookup the call path asks (no database read while a caller waits), from the rules as
 * stored. Restriction includes not recording, so it wins over the do-not-record list. Pure.
 *
 * @example callerPrivacyLookup([{ accountId: 1, callerNumber: '+15559876543', rule: 'do-not-record' }])(1, '+15559876543') // 'do-not-record'
 */
export function callerPrivacyLookup(rules: ReadonlyArray<{ accountId: number; callerNumber: string; rule: CallerPrivacyRule }>): CallerPrivacyLookup {
  if (rules.length === 0) return () => null;
  const byCaller = new Map<string, CallerPrivacyRule>();
  for (const r of rules) {
    const key = `${r.accountId}~${r.callerNumber}`;
    if (byCaller.get(key) !== 'restricted') byCaller.set(key, r.rule);
  }
  return (accountId, callerNumber) => (callerNumber === null ? null : (byCaller.get(`${accountId}~${callerNumber}`) ?? null));
}

/**
 * Keeps the lookup in step with the stored rules: read again only when `version` moved (the routing
 * table's version, which the rules bump), checked on a timer and after API writes. Await `refresh()`
 * once before taking calls.
 */
export function createCallerPrivacyCache(deps: {
  version: () => number | Promise<number>;
  rules: () => Parameters<typeof callerPrivacyLookup>[0] | Promise<Parameters<typeof callerPrivacyLookup>[0]>;
  intervalMs?: number;
  onError?: (err: unknown) => void;
}) {
  const cache = createVersionedCache<CallerPrivacyLookup>({
    version: deps.version,
    load: async () => callerPrivacyLookup(await deps.rules()),
    initial: () => null,
    ...(deps.intervalMs === undefined ? {} : { intervalMs: deps.intervalMs }),
    ...(deps.onError ? { onError: deps.onError } : {}),
  });
  return {
    lookup: ((accountId, callerNumber) => cache.current()(accountId, callerNumber)) as CallerPrivacyLookup,
    refresh: cache.refresh,
    start: cache.start,
    stop: cache.stop,
  };
}
