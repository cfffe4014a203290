/** The installation's dial allowlist: works of ./store.ts. */
import { asc } from 'drizzle-orm';
import { checkDialTarget, type AllowlistEntry } from '../routing/dialAllowlist.js';
import { listRoutePlans, toRoutePlan } from './routePlanRepository.js';
import { trackingNumbersOf } from './trackingNumberRepository.js';
import type { DialAllowlistKind, DialAllowlistRow } from './schema.js';
import { affected, rows, type Work } from './store.js';

export interface DialAllowlistInput {
  kind: DialAllowlistKind;
  /** Already normalised (normalizeAllowlistValue). */
  value: string;
  note?: string | null;
}

export function listDialAllowlist(): Work<DialAllowlistRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.dialAllowlist).orderBy(asc(t.dialAllowlist.kind), asc(t.dialAllowlist.value)));
  };
}

/** The entries checkDialTarget takes. */
export function loadAllowlist(): Work<AllowlistEntry[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select({ kind: t.dialAllowlist.kind, value: t.dialAllowlist.value }).from(t.dialAllowlist));
  };
}

/** Replaces the whole allowlist (duplicates in `entries` are kept once). Run it as a transaction. */
export function replaceDialAllowlist(entries: readonly DialAllowlistInput[], now: number = Date.now()): Work<DialAllowlistRow[]> {
  return function* (q) {
    const { db, t } = q;
    yield* affected(db.delete(t.dialAllowlist));
    const seen = new Set<string>();
    for (const e of entries) {
      const key = `${e.kind} ${e.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      yield* affected(db.insert(t.dialAllowlist).values({ kind: e.kind, value: e.value, note: e.note ?? null, createdAt: now }));
    }
    return yield* listDialAllowlist()(q);
  };
}

/**
 * Every saved destination (route plan steps and tracking numbers' own destinations) that the given
 * allowlist would refuse, each named with where it is. Used to refuse an allowlist change that
 * would strand saved destinations, and at start-up to report rows saved before the guard existed.
 *
 * @example await store.run(findDisallowedDestinations(await store.run(loadAllowlist()), '1'))
 * // ['tracking number 4 (+15551230000) destination: +19005550100 is a premium-rate number (...)']
 */
export function findDisallowedDestinations(allowlist: readonly AllowlistEntry[], defaultCountryCode: string): Work<string[]> {
  return function* (q) {
    const out: string[] = [];
    for (const planRow of yield* listRoutePlans()(q)) {
      const plan = toRoutePlan(planRow);
      for (const step of plan.steps) {
        for (const d of step.destinations) {
          const check = checkDialTarget(d.target, allowlist, { defaultCountryCode });
          if (!check.ok) out.push(`route plan ${plan.id} (${plan.name}) step ${step.name}: ${check.message}`);
        }
      }
    }
    for (const n of yield* trackingNumbersOf()(q)) {
      const check = checkDialTarget(n.destination, allowlist, { defaultCountryCode });
      if (!check.ok) out.push(`tracking number ${n.id} (${n.did}) destination: ${check.message}`);
    }
    return out;
  };
}
