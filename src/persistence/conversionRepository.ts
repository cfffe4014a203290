/** Ad-platform conversion destinations and the conversions sent to them: works of ./store.ts. */
import { and, asc, desc, eq, gte, inArray, lt, lte, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { ConversionDestinationRow, ConversionPlatform, ConversionRow, ConversionStatus } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

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

export function createDestination(d: DestinationInput, now: number): Work<ConversionDestinationRow> {
  return function* ({ db, t }) {
    const values = { ...d, settings: JSON.stringify(d.settings), rules: JSON.stringify(d.rules), createdAt: now, updatedAt: now };
    return (yield* row(db.insert(t.conversionDestinations).values(values).returning()))!;
  };
}

export function getDestination(id: number): Work<ConversionDestinationRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.conversionDestinations).where(eq(t.conversionDestinations.id, id)));
  };
}

/** Undefined accountIds: every account's (the operator). */
export function listDestinations(accountIds?: readonly number[]): Work<ConversionDestinationRow[]> {
  return function* ({ db, t }) {
    const d = t.conversionDestinations;
    return yield* rows(db.select().from(d).where(accountIds === undefined ? undefined : inAccounts(d.accountId, accountIds)).orderBy(asc(d.id)));
  };
}

export function enabledDestinationsOf(accountId: number): Work<ConversionDestinationRow[]> {
  return function* ({ db, t }) {
    const d = t.conversionDestinations;
    return yield* rows(db.select().from(d).where(and(eq(d.accountId, accountId), eq(d.enabled, true))));
  };
}

export function updateDestination(id: number, patch: Partial<Omit<DestinationInput, 'accountId' | 'platform'>>, now: number): Work<ConversionDestinationRow | undefined> {
  return function* ({ db, t }) {
    const { settings, rules, ...rest } = patch;
    const set: Partial<typeof t.conversionDestinations.$inferInsert> = { ...rest, updatedAt: now };
    if (settings !== undefined) set.settings = JSON.stringify(settings);
    if (rules !== undefined) set.rules = JSON.stringify(rules);
    return yield* row(db.update(t.conversionDestinations).set(set).where(eq(t.conversionDestinations.id, id)).returning());
  };
}

export function deleteDestination(id: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.delete(t.conversionDestinations).where(eq(t.conversionDestinations.id, id)))) > 0;
  };
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
export function recordQualified(c: QualifiedConversion, now: number, retryMs: number): Work<boolean> {
  return function* ({ db, t }) {
    const values = { ...c, nextAttemptAt: now, giveUpAt: now + retryMs, createdAt: now };
    return (yield* affected(db.insert(t.conversions).values(values).onConflictDoNothing({ target: [t.conversions.destinationId, t.conversions.callId] }))) > 0;
  };
}

/** Pending conversions whose time has come, oldest first, with their destination. `exclude`: in flight. */
export function dueConversions(now: number, limit: number, exclude: ReadonlySet<number>): Work<Array<{ conversion: ConversionRow; destination: ConversionDestinationRow }>> {
  return function* ({ db, t }) {
    const { conversions: c, conversionDestinations: d } = t;
    const due = yield* rows(
      db
        .select({ conversion: c, destination: d })
        .from(c)
        .innerJoin(d, eq(d.id, c.destinationId))
        .where(and(eq(c.status, 'pending'), lte(c.nextAttemptAt, now)))
        .orderBy(asc(c.nextAttemptAt), asc(c.id))
        .limit(limit + exclude.size),
    );
    return due.filter((r) => !exclude.has(r.conversion.id)).slice(0, limit);
  };
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
export function claimConversion(id: number, now: number, until: number): Work<boolean> {
  return function* ({ db, t }) {
    const c = t.conversions;
    return (yield* affected(db.update(c).set({ nextAttemptAt: until }).where(and(eq(c.id, id), eq(c.status, 'pending'), lte(c.nextAttemptAt, now))))) === 1;
  };
}

export function recordConversionAttempt(
  c: ConversionRow,
  attempt: { payload: string | null; statusCode: number | null; error: string | null; responseExcerpt: string | null },
  outcome: ConversionOutcome,
): Work<void> {
  return function* ({ db, t }) {
    const common = { attempts: c.attempts + 1, payload: attempt.payload, lastStatusCode: attempt.statusCode, lastError: attempt.error, responseExcerpt: attempt.responseExcerpt };
    const set =
      outcome.kind === 'sent'
        ? { ...common, status: 'sent' as const, sentAt: outcome.at, lastError: null }
        : outcome.kind === 'retry'
          ? { ...common, nextAttemptAt: outcome.at }
          : { ...common, status: 'failed' as const };
    yield* affected(db.update(t.conversions).set(set).where(eq(t.conversions.id, c.id)));
  };
}

/** A failed conversion tried again from now, with a new retry window (POST /v1/conversions/:id/retry). */
export function retryConversion(id: number, now: number, retryMs: number): Work<ConversionRow | undefined> {
  return function* ({ db, t }) {
    const c = t.conversions;
    return yield* row(db.update(c).set({ status: 'pending', nextAttemptAt: now, giveUpAt: now + retryMs, lastError: null }).where(and(eq(c.id, id), eq(c.status, 'failed'))).returning());
  };
}

export function getConversion(id: number): Work<ConversionRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.conversions).where(eq(t.conversions.id, id)));
  };
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
export function listConversions(f: ConversionFilter): Work<ConversionRow[]> {
  return function* ({ db, t }) {
    const c = t.conversions;
    const where: SQL[] = [];
    if (f.accountIds !== undefined) where.push(inAccounts(c.accountId, f.accountIds));
    if (f.destinationId !== undefined) where.push(eq(c.destinationId, f.destinationId));
    if (f.callId !== undefined) where.push(eq(c.callId, f.callId));
    if (f.status !== undefined) where.push(eq(c.status, f.status));
    if (f.from !== undefined) where.push(gte(c.conversionTime, f.from));
    if (f.to !== undefined) where.push(lt(c.conversionTime, f.to));
    return yield* rows(db.select().from(c).where(and(...where)).orderBy(desc(c.conversionTime), desc(c.id)).limit(f.limit));
  };
}

/** The visitor id of a call's visit: GA4's client id for it. */
export function visitorIdOfVisit(visitId: number | null): Work<string | null> {
  return function* ({ db, t }) {
    if (visitId === null) return null;
    return (yield* row(db.select({ visitorId: t.visits.visitorId }).from(t.visits).where(eq(t.visits.id, visitId))))?.visitorId ?? null;
  };
}

/** Conversions of these calls (an erasure, the retention's anonymisation: they hold click ids and hashed numbers). */
export function deleteConversionsOfCalls(callIds: readonly number[]): Work<number> {
  return function* ({ db, t }) {
    let removed = 0;
    for (let i = 0; i < callIds.length; i += 500) removed += yield* affected(db.delete(t.conversions).where(inArray(t.conversions.callId, callIds.slice(i, i + 500))));
    return removed;
  };
}
