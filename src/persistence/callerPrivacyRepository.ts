/** Caller privacy rules (do-not-record, restricted) and the restricted mark on calls: works of ./store.ts. */
import { and, asc, eq, inArray } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import { affected, row, rows, runOnSqlite, type Work } from './store.js';
import type { CallerPrivacyRule, CallerPrivacyRuleRow } from './schema.js';

/** Every rule of every account: what the call path keeps in memory and Asterisk's routing table carries. */
export function everyCallerPrivacyRule(): Work<Array<Pick<CallerPrivacyRuleRow, 'accountId' | 'callerNumber' | 'rule'>>> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    return yield* rows(db.select({ accountId: r.accountId, callerNumber: r.callerNumber, rule: r.rule }).from(r));
  };
}

/** everyCallerPrivacyRule on SQLite, synchronously (the call path there). */
export function allCallerPrivacyRules(db: Db): Array<Pick<CallerPrivacyRuleRow, 'accountId' | 'callerNumber' | 'rule'>> {
  return runOnSqlite(db, everyCallerPrivacyRule());
}

export function listCallerPrivacyRules(rule: CallerPrivacyRule, accountIds: readonly number[] | undefined): Work<CallerPrivacyRuleRow[]> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    const where = [eq(r.rule, rule)];
    if (accountIds !== undefined) where.push(inAccounts(r.accountId, accountIds));
    return yield* rows(db.select().from(r).where(and(...where)).orderBy(asc(r.accountId), asc(r.callerNumber)));
  };
}

/** Adds a rule; the one already there is returned as it is (adding twice changes nothing). */
export function addCallerPrivacyRule(rule: Omit<CallerPrivacyRuleRow, 'id'>): Work<{ row: CallerPrivacyRuleRow; added: boolean }> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    const inserted = yield* row(db.insert(r).values(rule).onConflictDoNothing().returning());
    if (inserted) return { row: inserted, added: true };
    const existing = yield* row(db.select().from(r).where(and(eq(r.accountId, rule.accountId), eq(r.callerNumber, rule.callerNumber), eq(r.rule, rule.rule))));
    return { row: existing!, added: false };
  };
}

/** Removes the rules of these numbers (any spelling) in an account; returns how many went. */
export function removeCallerPrivacyRules(accountId: number, spellings: readonly string[], rules: readonly CallerPrivacyRule[]): Work<number> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    return yield* affected(db.delete(r).where(and(eq(r.accountId, accountId), inArray(r.callerNumber, [...spellings]), inArray(r.rule, [...rules]))));
  };
}

/** Removes one rule of an account by id; false when there is no such rule there. */
export function removeCallerPrivacyRule(accountId: number, id: number, rule: CallerPrivacyRule): Work<boolean> {
  return function* ({ db, t }) {
    const r = t.callerPrivacyRules;
    return (yield* affected(db.delete(r).where(and(eq(r.id, id), eq(r.accountId, accountId), eq(r.rule, rule))))) > 0;
  };
}

/** Marks (or unmarks) call records as restricted. */
export function setCallsRestricted(callIds: readonly number[], restricted: boolean): Work<number> {
  return function* ({ db, t }) {
    if (callIds.length === 0) return 0;
    return yield* affected(db.update(t.calls).set({ restricted }).where(inArray(t.calls.id, [...callIds])));
  };
}
