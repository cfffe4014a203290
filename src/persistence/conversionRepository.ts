import { and, asc, desc, eq, gte, inArray, lt, lte, sql, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import {
  conversionDestinations,
  conversions,
  visits,
  type ConversionDestinationRow,
  type ConversionPlatform,
  type ConversionRow,
  type ConversionStatus,
} from './schema.js';

export interface DestinationInput {
  accountId: number;
  platform: ConversionPlatform;
  name: string;
  enabled: boolean;
  delivery: 'api' | 'csv';
  settings: Record<string, unknown>;
  rules: Record<string, unknown>;
  conversionName: string;
  defaultValue: number | null;
  currency: string;
}

export function createDestination(db: Db, d: DestinationInput, now: number): ConversionDestinationRow {
  return db
    .insert(conversionDestinations)
    .values({ ...d, settings: JSON.stringify(d.settings), rules: JSON.stringify(d.rules), createdAt: now, updatedAt: now })
    .returning()
    .get();
}

export function getDestination(db: Db, id: number): ConversionDestinationRow | undefined {
  return db.select().from(conversionDestinations).where(eq(conversionDestinations.id, id)).get();
}

/** Undefined accountIds: every account's (the operator). */
export function listDestinations(db: Db, accountIds?: readonly number[]): ConversionDestinationRow[] {
  const where = accountIds === undefined ? undefined : inAccounts(conversionDestinations.accountId, accountIds);
  return db.select().from(conversionDestinations).where(where).orderBy(asc(conversionDestinations.id)).all();
}

export function enabledDestinationsOf(db: Db, accountId: number): ConversionDestinationRow[] {
  return db
    .select()
    .from(conversionDestinations)
    .where(and(eq(conversionDestinations.accountId, accountId), eq(conversionDestinations.enabled, true)))
    .all();
}

export function updateDestination(db: Db, id: number, patch: Partial<Omit<DestinationInput, 'accountId' | 'platform'>>, now: number): ConversionDestinationRow | undefined {
  const { settings, rules, ...rest } = patch;
  const set: Partial<typeof conversionDestinations.$inferInsert> = { ...rest, updatedAt: now };
  if (settings !== undefined) set.settings = JSON.stringify(settings);
  if (rules !== undefined) set.rules = JSON.stringify(rules);
  return db.update(conversionDestinations).set(set).where(eq(conversionDestinations.id, id)).returning().get();
}

export function deleteDestination(db: Db, id: number): boolean {
  return db.delete(conversionDestinations).where(eq(conversionDestinations.id, id)).run().changes > 0;
}

export interface QualifiedConversion {
  destinationId: number;
  callId: number;
  accountId: number;
  /** pending: callroute sends it; csv: only listed for the platform's upload file. */
  status: Extract<ConversionStatus, 'pending' | 'csv'>;
  clickId: string | null;
  conversionTime: number;
  value: number | null;
  currency: string;
}

/** Records a qualified call once per destination (a later call.modified finds it there); returns whether it is new. */
export function recordQualified(db: Db, c: QualifiedConversion, now: number, retryMs: number): boolean {
  const res = db
    .insert(conversions)
    .values({ ...c, nextAttemptAt: now, giveUpAt: now + retryMs, createdAt: now })
    .onConflictDoNothing({ target: [conversions.destinationId, conversions.callId] })
    .run();
  return res.changes > 0;
}

/** The sender's look for due conversions, prepared once per database: it runs every second. */
const dueStatements = new WeakMap<Db, { all: (p: { now: number; limit: number }) => Array<{ conversion: ConversionRow; destination: ConversionDestinationRow }> }>();

/** Pending conversions whose time has come, oldest first, with their destination. `exclude`: in flight. */
export function dueConversions(db: Db, now: number, limit: number, exclude: ReadonlySet<number>): Array<{ conversion: ConversionRow; destination: ConversionDestinationRow }> {
  let statement = dueStatements.get(db);
  if (!statement) {
    statement = db
      .select({ conversion: conversions, destination: conversionDestinations })
      .from(conversions)
      .innerJoin(conversionDestinations, eq(conversionDestinations.id, conversions.destinationId))
      .where(and(eq(conversions.status, 'pending'), lte(conversions.nextAttemptAt, sql.placeholder('now'))))
      .orderBy(asc(conversions.nextAttemptAt), asc(conversions.id))
      .limit(sql.placeholder('limit'))
      .prepare();
    dueStatements.set(db, statement);
  }
  return statement.all({ now, limit: limit + exclude.size }).filter((r) => !exclude.has(r.conversion.id)).slice(0, limit);
}

export type ConversionOutcome =
  | { kind: 'sent'; at: number }
  | { kind: 'retry'; at: number }
  | { kind: 'failed' };

/**
 * Takes a due conversion for one attempt until `until` (past the attempt's timeout): another sender
 * (another node) passes it by, and one that dies mid-attempt leaves it to be retried. False: taken
 * already, or no longer due.
 */
export function claimConversion(db: Db, id: number, now: number, until: number): boolean {
  return (
    db
      .update(conversions)
      .set({ nextAttemptAt: until })
      .where(and(eq(conversions.id, id), eq(conversions.status, 'pending'), lte(conversions.nextAttemptAt, now)))
      .run().changes === 1
  );
}

export function recordConversionAttempt(
  db: Db,
  c: ConversionRow,
  attempt: { payload: string | null; statusCode: number | null; error: string | null; responseExcerpt: string | null },
  outcome: ConversionOutcome,
): void {
  const common = { attempts: c.attempts + 1, payload: attempt.payload, lastStatusCode: attempt.statusCode, lastError: attempt.error, responseExcerpt: attempt.responseExcerpt };
  const set =
    outcome.kind === 'sent'
      ? { ...common, status: 'sent' as const, sentAt: outcome.at, lastError: null }
      : outcome.kind === 'retry'
        ? { ...common, nextAttemptAt: outcome.at }
        : { ...common, status: 'failed' as const };
  db.update(conversions).set(set).where(eq(conversions.id, c.id)).run();
}

/** A failed conversion tried again from now, with a new retry window (POST /v1/conversions/:id/retry). */
export function retryConversion(db: Db, id: number, now: number, retryMs: number): ConversionRow | undefined {
  return db
    .update(conversions)
    .set({ status: 'pending', nextAttemptAt: now, giveUpAt: now + retryMs, lastError: null })
    .where(and(eq(conversions.id, id), eq(conversions.status, 'failed')))
    .returning()
    .get();
}

export function getConversion(db: Db, id: number): ConversionRow | undefined {
  return db.select().from(conversions).where(eq(conversions.id, id)).get();
}

export interface ConversionFilter {
  accountIds?: readonly number[];
  destinationId?: number;
  callId?: number;
  status?: ConversionStatus;
  /** conversionTime in [from, to). */
  from?: number;
  to?: number;
  limit: number;
}

/** Newest first. */
export function listConversions(db: Db, f: ConversionFilter): ConversionRow[] {
  const where: SQL[] = [];
  if (f.accountIds !== undefined) where.push(inAccounts(conversions.accountId, f.accountIds));
  if (f.destinationId !== undefined) where.push(eq(conversions.destinationId, f.destinationId));
  if (f.callId !== undefined) where.push(eq(conversions.callId, f.callId));
  if (f.status !== undefined) where.push(eq(conversions.status, f.status));
  if (f.from !== undefined) where.push(gte(conversions.conversionTime, f.from));
  if (f.to !== undefined) where.push(lt(conversions.conversionTime, f.to));
  return db.select().from(conversions).where(and(...where)).orderBy(desc(conversions.conversionTime), desc(conversions.id)).limit(f.limit).all();
}

/** The visitor id of a call's visit: GA4's client id for it. */
export function visitorIdOfVisit(db: Db, visitId: number | null): string | null {
  if (visitId === null) return null;
  return db.select({ visitorId: visits.visitorId }).from(visits).where(eq(visits.id, visitId)).get()?.visitorId ?? null;
}

/** Conversions of these calls (an erasure, the retention's anonymisation: they hold click ids and hashed numbers). */
export function deleteConversionsOfCalls(db: Db, callIds: readonly number[]): number {
  let removed = 0;
  for (let i = 0; i < callIds.length; i += 500) removed += db.delete(conversions).where(inArray(conversions.callId, callIds.slice(i, i + 500))).run().changes;
  return removed;
}
