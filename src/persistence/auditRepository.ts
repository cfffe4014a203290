import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import { auditLog, type AuditRow } from './schema.js';

export type AuditInput = Omit<AuditRow, 'id' | 'at'>;

/** Appends one entry (there is no update or delete here: the log is append-only). */
export function appendAudit(db: Db, entry: AuditInput, at: number): void {
  db.insert(auditLog).values({ ...entry, at }).run();
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
export function listAudit(db: Db, f: AuditFilter): AuditRow[] {
  const where: SQL[] = [];
  if (f.accountIds !== undefined) where.push(inAccounts(auditLog.accountId, f.accountIds));
  if (f.actorUserId !== undefined) where.push(eq(auditLog.actorUserId, f.actorUserId));
  if (f.action !== undefined) where.push(eq(auditLog.action, f.action));
  if (f.from !== undefined) where.push(gte(auditLog.at, f.from));
  if (f.to !== undefined) where.push(lt(auditLog.at, f.to));
  if (f.before !== undefined) where.push(lt(auditLog.id, f.before));
  return db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(f.limit)
    .all();
}
