import { randomBytes } from 'node:crypto';
import { and, asc, eq, isNotNull, lt, sql } from 'drizzle-orm';
import type { Touch } from '../attribution/classifyVisit.js';
import { holdState, poolUtilization, type PoolUtilization } from '../attribution/poolAssignment.js';
import type { AttributedTouch, AttributionModel } from '../attribution/resolveTouch.js';
import type { Db } from './openDatabase.js';
import { affected, raw, row, rows, type Work } from './store.js';
import { choosePoolNumberNow } from './visitorSessions.js';
import {
  calls,
  type AccountRow,
  type NumberPoolRow,
  type SourceRuleRow,
  type VisitRow,
} from './schema.js';

/** Longest release grace a pool may have; bounds the index range a call's visit lookup reads. */
export const MAX_RELEASE_GRACE_SECONDS = 86_400;

// ---------------------------------------------------------------- account snippet settings

/** A new public key for the snippet's script tag: not a secret, it only names the account. */
export function newPublicKey(): string {
  return `pk_${randomBytes(18).toString('base64url')}`;
}

export function allowedDomainsOf(row: Pick<AccountRow, 'allowedDomains'>): string[] {
  try {
    const parsed: unknown = JSON.parse(row.allowedDomains);
    return Array.isArray(parsed) ? parsed.filter((d): d is string => typeof d === 'string') : [];
  } catch {
    return [];
  }
}

export interface SnippetSettingsPatch {
  publicKey?: string | null;
  allowedDomains?: string[];
  attributionModel?: AttributionModel;
  attributionWindowDays?: number;
}

export function updateSnippetSettings(accountId: number, patch: SnippetSettingsPatch, now: number): Work<AccountRow | undefined> {
  return function* ({ db, t }) {
    const set: Partial<typeof t.accounts.$inferInsert> = { updatedAt: now };
    if (patch.publicKey !== undefined) set.publicKey = patch.publicKey;
    if (patch.allowedDomains !== undefined) set.allowedDomains = JSON.stringify(patch.allowedDomains);
    if (patch.attributionModel !== undefined) set.attributionModel = patch.attributionModel;
    if (patch.attributionWindowDays !== undefined) set.attributionWindowDays = patch.attributionWindowDays;
    return yield* row(db.update(t.accounts).set(set).where(eq(t.accounts.id, accountId)).returning());
  };
}

/** The account a snippet key names. Accounts are few; the key has no index of its own (see the schema). */
export function accountByPublicKey(publicKey: string): Work<AccountRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.accounts).where(eq(t.accounts.publicKey, publicKey)).limit(1));
  };
}

/** Every allowed domain of every account with a key (a CORS preflight does not say which account it is for). */
export function allAllowedDomains(): Work<string[]> {
  return function* ({ db, t }) {
    const withKeys = yield* rows(db.select({ allowedDomains: t.accounts.allowedDomains }).from(t.accounts).where(isNotNull(t.accounts.publicKey)));
    return withKeys.flatMap(allowedDomainsOf);
  };
}

// ---------------------------------------------------------------- source rules

export interface SourceRuleInput {
  accountId: number;
  /** Precedence (lower first); appended after the last rule when absent. */
  position?: number;
  kind: string;
  match: string | null;
  value: string | null;
  source: string;
  medium: string | null;
  campaign: string | null;
}

/** The account's rules in precedence order (position, then id). */
export function sourceRulesOf(accountId: number): Work<SourceRuleRow[]> {
  return function* ({ db, t }) {
    const { sourceRules } = t;
    return yield* rows(db.select().from(sourceRules).where(eq(sourceRules.accountId, accountId)).orderBy(asc(sourceRules.position), asc(sourceRules.id)));
  };
}

export function allSourceRules(): Work<SourceRuleRow[]> {
  return function* ({ db, t }) {
    const { sourceRules } = t;
    return yield* rows(db.select().from(sourceRules).orderBy(asc(sourceRules.accountId), asc(sourceRules.position), asc(sourceRules.id)));
  };
}

export function createSourceRule(input: SourceRuleInput, now: number): Work<SourceRuleRow> {
  return function* ({ db, t }) {
    const { sourceRules } = t;
    const last = yield* row(db.select({ max: sql<number | null>`max(${sourceRules.position})` }).from(sourceRules).where(eq(sourceRules.accountId, input.accountId)));
    const position = input.position ?? (last?.max ?? 0) + 1;
    return (yield* row(db.insert(sourceRules).values({ ...input, position, createdAt: now }).returning()))!;
  };
}

export function getSourceRule(id: number): Work<SourceRuleRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.sourceRules).where(eq(t.sourceRules.id, id)));
  };
}

export function updateSourceRule(id: number, patch: Partial<Omit<SourceRuleInput, 'accountId'>>): Work<SourceRuleRow | undefined> {
  return function* (q) {
    const { db, t } = q;
    if (Object.keys(patch).length === 0) return yield* getSourceRule(id)(q);
    return yield* row(db.update(t.sourceRules).set(patch).where(eq(t.sourceRules.id, id)).returning());
  };
}

export function deleteSourceRule(id: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.delete(t.sourceRules).where(eq(t.sourceRules.id, id)))) > 0;
  };
}

// ---------------------------------------------------------------- pools

export interface PoolInput {
  accountId: number;
  name: string;
  source?: string | null;
  fallbackTrackingNumberId?: number | null;
  idleReleaseSeconds?: number;
  releaseGraceSeconds?: number;
  warnUtilization?: number;
}

export function createPool(input: PoolInput, now: number): Work<NumberPoolRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.numberPools).values({ ...input, createdAt: now, updatedAt: now }).returning()))!;
  };
}

export function updatePool(id: number, patch: Partial<Omit<PoolInput, 'accountId'>>, now: number): Work<NumberPoolRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.update(t.numberPools).set({ ...patch, updatedAt: now }).where(eq(t.numberPools.id, id)).returning());
  };
}

/** Deletes a pool; its numbers become ordinary (source-level) numbers. Visits keep their history. Run it as a transaction. */
export function deletePool(id: number, now: number): Work<boolean> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.trackingNumbers).set({ poolId: null, updatedAt: now }).where(eq(t.trackingNumbers.poolId, id)));
    return (yield* affected(db.delete(t.numberPools).where(eq(t.numberPools.id, id)))) > 0;
  };
}

export interface PoolReport extends PoolUtilization {
  poolId: number;
  accountId: number;
  name: string;
  source: string | null;
  exhaustedCount: number;
  warnUtilization: number;
}

/** Held/total now (idled-out holds count as free), the exhaustion count and the warning flag. */
export function poolReport(pool: NumberPoolRow, now: number): Work<PoolReport> {
  return function* (q) {
    const c = yield* choosePoolNumberNow(pool, now)(q);
    return {
      poolId: pool.id,
      accountId: pool.accountId,
      name: pool.name,
      source: pool.source,
      exhaustedCount: pool.exhaustedCount,
      warnUtilization: pool.warnUtilization,
      ...poolUtilization(c.held, c.total, pool.warnUtilization),
    };
  };
}

// ---------------------------------------------------------------- visits

/** A classified visit as stored: JSON tags, the landing page and the referrer. */
export function touchFromClassification(t: Touch, landingPage: string | null, referrer: string | null): AttributedTouch {
  const json = (o: Record<string, string>) => (Object.keys(o).length === 0 ? null : JSON.stringify(o));
  return {
    source: t.source,
    medium: t.medium,
    campaign: t.campaign,
    landingPage,
    referrer: referrer === '' ? null : referrer,
    utm: json(t.utm),
    clickIds: json(t.clickIds),
    direct: t.direct,
  };
}

// ---------------------------------------------------------------- call setup

interface MatchedRow {
  id: number;
  account_id: number;
  visitor_id: string;
  pool_id: number | null;
  tracking_number_id: number | null;
  assigned_at: number | null;
  last_seen_at: number;
  released_at: number | null;
  landing_page: string | null;
  referrer: string | null;
  utm: string | null;
  click_ids: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  first_visit_at: number;
  created_at: number;
  idle: number;
  grace: number;
}
type MatchStatement = { all(values: { tn: number; floor: number }): MatchedRow[] };
const matchStatements = new WeakMap<Db, MatchStatement>();

// Two bounded seeks of visits_number_idx rather than one `released_at IS NULL OR released_at >= ?`,
// which SQLite serves by walking every visit the number ever had. The same SQL on both dialects
// (PostgreSQL before 16 wants the subqueries named).
const matchSql = (tn: string, floor: string): string => `
  SELECT v.*, p.idle_release_seconds AS idle, p.release_grace_seconds AS grace FROM (
    SELECT * FROM (SELECT * FROM visits WHERE tracking_number_id = ${tn} AND released_at IS NULL ORDER BY id DESC LIMIT 2) AS holder
    UNION ALL
    SELECT * FROM (SELECT * FROM visits WHERE tracking_number_id = ${tn} AND released_at >= ${floor} ORDER BY released_at DESC LIMIT 2) AS released
  ) v JOIN number_pools p ON p.id = v.pool_id`;
const MATCH_SQL = matchSql('@tn', '@floor');

function toVisitRow(r: MatchedRow): VisitRow {
  return {
    id: r.id,
    accountId: r.account_id,
    visitorId: r.visitor_id,
    poolId: r.pool_id,
    trackingNumberId: r.tracking_number_id,
    assignedAt: r.assigned_at,
    lastSeenAt: r.last_seen_at,
    releasedAt: r.released_at,
    landingPage: r.landing_page,
    referrer: r.referrer,
    utm: r.utm,
    clickIds: r.click_ids,
    source: r.source,
    medium: r.medium,
    campaign: r.campaign,
    firstVisitAt: r.first_visit_at,
    createdAt: r.created_at,
  };
}

/**
 * The visit a call on this pool number belongs to: the visit holding it, or the one that released
 * it within the pool's grace period. One prepared statement: two seeks of visits_number_idx (the
 * holder: released_at IS NULL; recent releases: released_at within the longest grace), each joined
 * to its pool by primary key. The holder wins over earlier visitors.
 *
 * @example matchVisitForCall(db, number.id, Date.now()) // VisitRow | undefined
 */
export function matchVisitForCall(db: Db, trackingNumberId: number, now: number): VisitRow | undefined {
  let stmt = matchStatements.get(db);
  if (!stmt) {
    stmt = db.$client.prepare(MATCH_SQL) as unknown as MatchStatement;
    matchStatements.set(db, stmt);
  }
  return visitStillHolding(stmt.all({ tn: trackingNumberId, floor: now - MAX_RELEASE_GRACE_SECONDS * 1000 }), now);
}

/** matchVisitForCall's lookup as a work (either dialect): for writes behind the call (PostgreSQL). */
export function visitHoldingNumber(trackingNumberId: number, now: number): Work<VisitRow | undefined> {
  return function* () {
    const floor = Math.trunc(now - MAX_RELEASE_GRACE_SECONDS * 1000);
    return visitStillHolding(yield* raw<MatchedRow>(sql.raw(matchSql(String(Math.trunc(trackingNumberId)), String(floor)))), now);
  };
}

function visitStillHolding(rows: MatchedRow[], now: number): VisitRow | undefined {
  // Holders (release not written) first, newest first; then the latest releases.
  rows.sort((a, b) => {
    if ((a.released_at === null) !== (b.released_at === null)) return a.released_at === null ? -1 : 1;
    return (b.released_at ?? 0) - (a.released_at ?? 0) || b.id - a.id;
  });
  for (const r of rows) {
    if (holdState({ lastSeenAt: r.last_seen_at, releasedAt: r.released_at }, { idleReleaseSeconds: r.idle, releaseGraceSeconds: r.grace }, now) !== 'gone') {
      return toVisitRow(r);
    }
  }
  return undefined;
}

type CalledStatement = { get(values: { account: number; caller: string; before: number }): { id: number } | undefined };
const calledStatements = new WeakMap<Db, CalledStatement>();

/**
 * Whether this caller number has called this account before (before `beforeCallId`, when given, so
 * it can be asked after the call's own row exists). One probe of calls_account_caller_idx.
 */
export function hasCalledBefore(db: Db, accountId: number, callerNumber: string, beforeCallId?: number): boolean {
  let stmt = calledStatements.get(db);
  if (!stmt) {
    stmt = db
      .select({ id: calls.id })
      .from(calls)
      .where(
        and(
          eq(calls.accountId, sql.placeholder('account')),
          eq(calls.callerNumber, sql.placeholder('caller')),
          lt(calls.id, sql.placeholder('before')),
        ),
      )
      .limit(1)
      .prepare() as unknown as CalledStatement;
    calledStatements.set(db, stmt);
  }
  return stmt.get({ account: accountId, caller: callerNumber, before: beforeCallId ?? Number.MAX_SAFE_INTEGER }) !== undefined;
}

/** hasCalledBefore as a work (either dialect). */
export function calledBefore(accountId: number, callerNumber: string, beforeCallId?: number): Work<boolean> {
  return function* ({ db, t }) {
    const c = t.calls;
    const earlier = and(eq(c.accountId, accountId), eq(c.callerNumber, callerNumber), lt(c.id, beforeCallId ?? Number.MAX_SAFE_INTEGER));
    return (yield* row(db.select({ id: c.id }).from(c).where(earlier).limit(1))) !== undefined;
  };
}

/** The attribution fields of a call record (the `calls` columns of the same names). */
export interface CallAttribution {
  visitId: number | null;
  landingPage: string | null;
  referrer: string | null;
  utm: string | null;
  clickIds: string | null;
  firstVisitAt: number | null;
  firstTimeCaller: boolean | null;
  /** The visit's source / medium / campaign; null when no visit matched (keep the number's). */
  source: string | null;
  medium: string | null;
  campaign: string | null;
}

/**
 * Everything call setup needs for attribution, in two indexed lookups: the visit holding the number
 * (pool numbers only; pass `poolId` when known to skip the lookup for other numbers) and whether the caller called this account before (null for an anonymous caller).
 *
 * @example const a = callAttribution(db, { trackingNumberId: n.id, poolId: n.poolId, accountId: n.accountId, callerNumber, now })
 */
export function callAttribution(
  db: Db,
  c: { trackingNumberId: number; poolId?: number | null; accountId: number; callerNumber: string | null; now: number },
): CallAttribution {
  // Only pool numbers are ever held by visits; a known non-pool number (poolId null) skips the lookup.
  const visit = c.poolId === null ? undefined : matchVisitForCall(db, c.trackingNumberId, c.now);
  const firstTimeCaller = c.callerNumber ? !hasCalledBefore(db, c.accountId, c.callerNumber) : null;
  return attributionOfVisit(visit, firstTimeCaller);
}

/**
 * callAttribution as a work (either dialect), asked when the arrival is written rather than before:
 * `beforeCallId` is the record's own id, so only earlier calls count for the first-time flag.
 */
export function callAttributionAt(
  c: { trackingNumberId: number; poolId?: number | null; accountId: number; callerNumber: string | null; now: number },
  beforeCallId?: number,
): Work<CallAttribution> {
  return function* (q) {
    const visit = c.poolId === null ? undefined : yield* visitHoldingNumber(c.trackingNumberId, c.now)(q);
    const firstTimeCaller = c.callerNumber ? !(yield* calledBefore(c.accountId, c.callerNumber, beforeCallId)(q)) : null;
    return attributionOfVisit(visit, firstTimeCaller);
  };
}

function attributionOfVisit(visit: VisitRow | undefined, firstTimeCaller: boolean | null): CallAttribution {
  return {
    visitId: visit?.id ?? null,
    landingPage: visit?.landingPage ?? null,
    referrer: visit?.referrer ?? null,
    utm: visit?.utm ?? null,
    clickIds: visit?.clickIds ?? null,
    firstVisitAt: visit?.firstVisitAt ?? null,
    firstTimeCaller,
    source: visit?.source ?? null,
    medium: visit?.medium ?? null,
    campaign: visit?.campaign ?? null,
  };
}

/** The attribution columns of a call's arrival row (`calls`): source, medium, campaign and the visit's facts. */
export interface ArrivalAttribution {
  source: string | null;
  medium: string | null;
  campaign: string | null;
  visitId: number | null;
  landingPage: string | null;
  referrer: string | null;
  utm: string | null;
  clickIds: string | null;
  firstVisitAt: number | null;
  firstTimeCaller: boolean | null;
}

/**
 * What the arrival row stores: with a matched visit, the visit's source / medium / campaign (a pool
 * number's own are meaningless) and its facts; without one, the number's source / medium / campaign.
 * The first-time-caller flag is set either way.
 *
 * @example insertArrival({ ...rest, ...arrivalAttribution(callAttribution(db, {...}), number) })
 */
export function arrivalAttribution(
  a: CallAttribution | undefined,
  number: { source: string | null; medium: string | null; campaign: string | null } | null | undefined,
): ArrivalAttribution {
  const visit = a !== undefined && a.visitId !== null ? a : undefined;
  return {
    source: visit ? visit.source : (number?.source ?? null),
    medium: visit ? visit.medium : (number?.medium ?? null),
    campaign: visit ? visit.campaign : (number?.campaign ?? null),
    visitId: visit?.visitId ?? null,
    landingPage: visit?.landingPage ?? null,
    referrer: visit?.referrer ?? null,
    utm: visit?.utm ?? null,
    clickIds: visit?.clickIds ?? null,
    firstVisitAt: visit?.firstVisitAt ?? null,
    firstTimeCaller: a?.firstTimeCaller ?? null,
  };
}
