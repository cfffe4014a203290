/** The audit log: works of ./store.ts. */
import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { AuditRow } from './schema.js';
import { affected, rows, type Work } from './store.js';

export type AuditInput = Omit<AuditRow, 'id' | 'at'>;

/** Appends one entry (there is no update or delete here: the log is append-only). */
export function appendAudit(entry: AuditInput, at: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.insert(t.auditLog).values({ ...entry, at }));
  };
}

export interface AuditFilter {
  /** Only these accounts; undefined: every entry (the operator). */
  accountIds?: readonly number[];
  actorUserId?: number;
  action?: string;
  from?: number;
  to?: number;
  /** Entries with a smaller id than this (the previous page's last). */
  before?: number;
  limit: number;
}

/** Newest first. */
export function listAudit(f: AuditFilter): Work<AuditRow[]> {
  return function* ({ db, t }) {
    const log = t.auditLog;
    const where: SQL[] = [];
    if (f.accountIds !== undefined) where.push(inAccounts(log.accountId, f.accountIds));
    if (f.actorUserId !== undefined) where.push(eq(log.actorUserId, f.actorUserId));
    if (f.action !== undefined) where.push(eq(log.action, f.action));
    if (f.from !== undefined) where.push(gte(log.at, f.from));
    if (f.to !== undefined) where.push(lt(log.at, f.to));
    if (f.before !== undefined) where.push(lt(log.id, f.before));
    return yield* rows(db.select().from(log).where(and(...where)).orderBy(desc(log.id)).limit(f.limit));
  };
}
