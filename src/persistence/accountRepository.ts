/** Accounts: works of ./store.ts. */
import { asc, eq } from 'drizzle-orm';
import type { AccountRow } from './schema.js';
import { row, rows, type Work } from './store.js';

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

export function createAccount(input: AccountInput, now: number = Date.now()): Work<AccountRow> {
  return function* ({ db, t }) {
    const values = {
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
    };
    return (yield* row(db.insert(t.accounts).values(values).returning()))!;
  };
}

export function listAccounts(): Work<AccountRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.accounts).orderBy(asc(t.accounts.id)));
  };
}

export function getAccount(id: number): Work<AccountRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.accounts).where(eq(t.accounts.id, id)));
  };
}

/** Returns the updated row, or undefined when no account has this id. */
export function updateAccount(id: number, patch: AccountPatch, now: number = Date.now()): Work<AccountRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.update(t.accounts).set({ ...patch, updatedAt: now }).where(eq(t.accounts.id, id)).returning());
  };
}
