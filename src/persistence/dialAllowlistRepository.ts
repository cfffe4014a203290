import { asc } from 'drizzle-orm';
import { checkDialTarget, type AllowlistEntry } from '../routing/dialAllowlist.js';
import type { Db } from './openDatabase.js';
import { listRoutePlans, toRoutePlan } from './routePlanRepository.js';
import { listTrackingNumbers } from './trackingNumberRepository.js';
import { dialAllowlist, type DialAllowlistKind, type DialAllowlistRow } from './schema.js';

export interface DialAllowlistInput {
  kind: DialAllowlistKind;
  /** Already normalised (normalizeAllowlistValue). */
  value: string;
  note?: string | null;
}

export function listDialAllowlist(db: Db): DialAllowlistRow[] {
  return db.select().from(dialAllowlist).orderBy(asc(dialAllowlist.kind), asc(dialAllowlist.value)).all();
}

/** The entries checkDialTarget takes. */
export function loadAllowlist(db: Db): AllowlistEntry[] {
  return db
    .select({ kind: dialAllowlist.kind, value: dialAllowlist.value })
    .from(dialAllowlist)
    .all();
}

/** Replaces the whole allowlist in one transaction (duplicates in `entries` are kept once). */
export function replaceDialAllowlist(db: Db, entries: readonly DialAllowlistInput[], now: number = Date.now()): DialAllowlistRow[] {
  return db.transaction((tx) => {
    tx.delete(dialAllowlist).run();
    const seen = new Set<string>();
    for (const e of entries) {
      const key = `${e.kind} ${e.value}`;
      if (seen.has(key)) continue;
      seen.add(key);
      tx.insert(dialAllowlist).values({ kind: e.kind, value: e.value, note: e.note ?? null, createdAt: now }).run();
    }
    return tx.select().from(dialAllowlist).orderBy(asc(dialAllowlist.kind), asc(dialAllowlist.value)).all();
  });
}

/**
 * Every saved destination (route plan steps and tracking numbers' own destinations) that the given
 * allowlist would refuse, each named with where it is. Used to refuse an allowlist change that
 * would strand saved destinations, and at start-up to report rows saved before the guard existed.
 *
 * @example findDisallowedDestinations(db, loadAllowlist(db), '1')
 * // ['tracking number 4 (+15551230000) destination: +19005550100 is a premium-rate number (...)']
 */
export function findDisallowedDestinations(db: Db, allowlist: readonly AllowlistEntry[], defaultCountryCode: string): string[] {
  const out: string[] = [];
  for (const row of listRoutePlans(db)) {
    const plan = toRoutePlan(row);
    for (const step of plan.steps) {
      for (const d of step.destinations) {
        const check = checkDialTarget(d.target, allowlist, { defaultCountryCode });
        if (!check.ok) out.push(`route plan ${plan.id} (${plan.name}) step ${step.name}: ${check.message}`);
      }
    }
  }
  for (const n of listTrackingNumbers(db)) {
    const check = checkDialTarget(n.destination, allowlist, { defaultCountryCode });
    if (!check.ok) out.push(`tracking number ${n.id} (${n.did}) destination: ${check.message}`);
  }
  return out;
}
