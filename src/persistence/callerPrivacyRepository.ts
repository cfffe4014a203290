import { and, asc, eq, inArray } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import { rows, runOnSqlite, type Work } from './store.js';
import { callerPrivacyRules, calls, type CallerPrivacyRule, type CallerPrivacyRuleRow } from './schema.js';

/** Every rule of every account: what the call path keeps in memory and Asterisk's routing table carries. */
export function everyCallerPrivacyRule(): Work<Array<Pick<CallerPrivacyRuleRow, 'accountId' | 'callerNumber' | 'rule'>>> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    return yield* rows(db.select({ accountId: r.accountId, callerNumber: r.callerNumber, rule: r.rule }).from(r));
  };
}

export function allCallerPrivacyRules(db: Db): Array<Pick<CallerPrivacyRuleRow, 'accountId' | 'callerNumber' | 'rule'>> {
  return runOnSqlite(db, everyCallerPrivacyRule());
}

export function listCallerPrivacyRules(db: Db, rule: CallerPrivacyRule, accountIds: readonly number[] | undefined): CallerPrivacyRuleRow[] {
  const where = [eq(callerPrivacyRules.rule, rule)];
  if (accountIds !== undefined) where.push(inAccounts(callerPrivacyRules.accountId, accountIds));
  return db.select().from(callerPrivacyRules).where(and(...where)).orderBy(asc(callerPrivacyRules.accountId), asc(callerPrivacyRules.callerNumber)).all();
}

/** Adds a rule; the one already there is returned as it is (adding twice changes nothing). */
export function addCallerPrivacyRule(db: Db, row: Omit<CallerPrivacyRuleRow, 'id'>): { row: CallerPrivacyRuleRow; added: boolean } {
  const inserted = db.insert(callerPrivacyRules).values(row).onConflictDoNothing().returning().get();
  if (inserted) return { row: inserted, added: true };
  const existing = db
    .select()
    .from(callerPrivacyRules)
    .where(and(eq(callerPrivacyRules.accountId, row.accountId), eq(callerPrivacyRules.callerNumber, row.callerNumber), eq(callerPrivacyRules.rule, row.rule)))
    .get() as CallerPrivacyRuleRow;
  return { row: existing, added: false };
}

/** Removes the rules of these numbers (any spelling) in an account; returns how many went. */
export function removeCallerPrivacyRules(db: Db, accountId: number, spellings: readonly string[], rules: readonly CallerPrivacyRule[]): number {
  return db
    .delete(callerPrivacyRules)
    .where(and(eq(callerPrivacyRules.accountId, accountId), inArray(callerPrivacyRules.callerNumber, [...spellings]), inArray(callerPrivacyRules.rule, [...rules])))
    .run().changes;
}

/** Removes one rule of an account by id; false when there is no such rule there. */
export function removeCallerPrivacyRule(db: Db, accountId: number, id: number, rule: CallerPrivacyRule): boolean {
  return (
    db
      .delete(callerPrivacyRules)
      .where(and(eq(callerPrivacyRules.id, id), eq(callerPrivacyRules.accountId, accountId), eq(callerPrivacyRules.rule, rule)))
      .run().changes > 0
  );
}

/** Marks (or unmarks) call records as restricted. */
export function setCallsRestricted(db: Db, callIds: readonly number[], restricted: boolean): number {
  if (callIds.length === 0) return 0;
  return db.update(calls).set({ restricted }).where(inArray(calls.id, [...callIds])).run().changes;
}
