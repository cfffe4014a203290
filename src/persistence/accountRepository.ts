import { asc, eq } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { accounts, type AccountRow } from './schema.js';

export interface AccountInput {
  name: string;
  /** Days recordings are kept (by call arrival); null or absent keeps them forever. */
  recordingRetentionDays?: number | null;
  /** The agency the account is a client of. */
  agencyId?: number | null;
  /** Members must sign in with a second factor. */
  requireTwoFactor?: boolean;
  /** Days call records, web visits and audit entries are kept (null: forever; absent: the defaults, 730 / 90 / 365). */
  callRetentionDays?: number | null;
  visitRetentionDays?: number | null;
  auditRetentionDays?: number | null;
  /** IANA time zone the account reads times in; null: each viewer's own. */
  timeZone?: string | null;
}

export type AccountPatch = Partial<AccountInput>;

export function createAccount(db: Db, input: AccountInput, now: number = Date.now()): AccountRow {
  return db
    .insert(accounts)
    .values({
      name: input.name,
      recordingRetentionDays: input.recordingRetentionDays ?? null,
      agencyId: input.agencyId ?? null,
      requireTwoFactor: input.requireTwoFactor ?? false,
      ...(input.callRetentionDays !== undefined ? { callRetentionDays: input.callRetentionDays } : {}),
      ...(input.visitRetentionDays !== undefined ? { visitRetentionDays: input.visitRetentionDays } : {}),
      ...(input.auditRetentionDays !== undefined ? { auditRetentionDays: input.auditRetentionDays } : {}),
      timeZone: input.timeZone ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .get();
}

export function listAccounts(db: Db): AccountRow[] {
  return db.select().from(accounts).orderBy(asc(accounts.id)).all();
}

export function getAccount(db: Db, id: number): AccountRow | undefined {
  return db.select().from(accounts).where(eq(accounts.id, id)).get();
}

/** Returns the updated row, or undefined when no account has this id. */
export function updateAccount(
  db: Db,
  id: number,
  patch: AccountPatch,
  now: number = Date.now(),
): AccountRow | undefined {
  return (
    db
      .update(accounts)
      .set({ ...patch, updatedAt: now })
      .where(eq(accounts.id, id))
      .returning()
      .get()
  );
}
