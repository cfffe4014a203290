import { asc } from 'drizzle-orm';
import type { AllowlistEntry } from '../routing/dialAllowlist.js';
import type { Db } from './openDatabase.js';
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
