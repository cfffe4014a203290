import { and, eq, gte, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import { countWhere, jsonArrayHasText, textBefore } from './dialectSql.js';
import { inAccounts } from './inAccounts.js';
import type { LeadStatus } from './schema.js';
import { rows, type QueryContext, type Work } from './store.js';

export const REPORT_GROUPS = ['source', 'medium', 'campaign', 'landingPage'] as const;
export type ReportGroup = (typeof REPORT_GROUPS)[number];

export interface CallReportFilter {
  groupBy: ReportGroup;
  /** Inclusive lower bound on arrival (ms). */
  from: number;
  /** Exclusive upper bound on arrival (ms). */
  to: number;
  /** Only these accounts (an empty list matches nothing); undefined: every account. */
  accountIds?: readonly number[];
  /** Only calls with this tag / lead status (PATCH /v1/calls/:id); such reports read the calls themselves. */
  tag?: string;
  leadStatus?: LeadStatus;
}

export interface CallReportRow {
  /** The source / medium / campaign / landing page (without its query string); null: not known. */
  value: string | null;
  calls: number;
  answered: number;
  /** answered / calls, 0–1. */
  answeredRate: number;
  firstTimeCallers: number;
}

export interface CallReport {
  rows: CallReportRow[];
  totals: Omit<CallReportRow, 'value'>;
}

// The landing page is grouped by page, not by every tagged URL that reached it (utm and click ids
// are in their own columns).
function groupExpr(q: QueryContext, g: ReportGroup): SQL {
  const { calls } = q.t;
  switch (g) {
    case 'source':
      return sql`${calls.source}`;
    case 'medium':
      return sql`${calls.medium}`;
    case 'campaign':
      return sql`${calls.campaign}`;
    case 'landingPage':
      return textBefore(q.dialect, calls.landingPage, '?');
  }
}

const rate = (answered: number, total: number) => (total === 0 ? 0 : Math.round((answered / total) * 10_000) / 10_000);

const DAY_MS = 86_400_000;

type Counts = { value: string | null; calls: number; answered: number; firstTimeCallers: number };

/** count(*), answered and first-time callers of a group of calls. */
function callCounts(q: QueryContext) {
  const { calls } = q.t;
  return {
    calls: sql<number>`count(*)`,
    answered: countWhere(q.dialect, sql`${calls.disposition} = 'answered'`),
    firstTimeCallers: countWhere(q.dialect, eq(calls.firstTimeCaller, true)),
  };
}

/** Calls arrived in [from, to) counted from the calls table itself. */
function countFromCalls(f: CallReportFilter, from: number, to: number): Work<Counts[]> {
  return function* (q) {
    const { db, t } = q;
    const { calls } = t;
    const where: SQL[] = [gte(calls.arrivedAt, from), lt(calls.arrivedAt, to), isNotNull(calls.accountId)];
    if (f.accountIds !== undefined) where.push(inAccounts(calls.accountId, f.accountIds));
    if (f.tag !== undefined) where.push(jsonArrayHasText(q.dialect, calls.tags, f.tag));
    if (f.leadStatus !== undefined) where.push(eq(calls.leadStatus, f.leadStatus));
    const value = groupExpr(q, f.groupBy);
    return yield* rows(
      db
        .select({ value: sql<string | null>`${value}`.as('value'), ...callCounts(q) })
        .from(calls)
        .where(and(...where))
        .groupBy(sql`1`),
    );
  };
}

/** Whole UTC days [fromDay, toDay) from the rollup the triggers keep ('' there is unknown). */
function countFromDays(f: CallReportFilter & { groupBy: Exclude<ReportGroup, 'landingPage'> }, fromDay: number, toDay: number): Work<Counts[]> {
  return function* ({ db, t }) {
    const { callReportDays } = t;
    const where: SQL[] = [gte(callReportDays.day, fromDay), lt(callReportDays.day, toDay)];
    if (f.accountIds !== undefined) where.push(inAccounts(callReportDays.accountId, f.accountIds));
    const column = callReportDays[f.groupBy];
    return yield* rows(
      db
        .select({
          value: sql<string | null>`nullif(${column}, '')`.as('value'),
          calls: sql<number>`sum(${callReportDays.calls})`,
          answered: sql<number>`sum(${callReportDays.answered})`,
          firstTimeCallers: sql<number>`sum(${callReportDays.firstTimeCallers})`,
        })
        .from(callReportDays)
        .where(and(...where))
        .groupBy(sql`1`),
    );
  };
}

/**
 * Calls of accounts (not calls to unknown numbers) arrived in [from, to), grouped, most calls first.
 * By source, medium or campaign, the whole UTC days of the range come from call_report_days (one
 * row per account, day and value) and only the partial days at its ends from the calls themselves
 * (calls_account_source_report_idx / calls_arrived_idx); by landing page, every call is read.
 */
export function callReport(f: CallReportFilter): Work<CallReport> {
  return function* (q) {
    const parts: Counts[][] = [];
    const firstDay = Math.ceil(f.from / DAY_MS);
    const endDay = Math.floor(f.to / DAY_MS);
    // The rollup counts every call: a report of tagged calls (or of one lead status) counts them one by one.
    const annotated = f.tag !== undefined || f.leadStatus !== undefined;
    if (f.groupBy !== 'landingPage' && !annotated && endDay > firstDay) {
      parts.push(yield* countFromDays({ ...f, groupBy: f.groupBy }, firstDay, endDay)(q));
      if (f.from < firstDay * DAY_MS) parts.push(yield* countFromCalls(f, f.from, firstDay * DAY_MS)(q));
      if (endDay * DAY_MS < f.to) parts.push(yield* countFromCalls(f, endDay * DAY_MS, f.to)(q));
    } else {
      parts.push(yield* countFromCalls(f, f.from, f.to)(q));
    }
    return mergeCounts(parts.flat());
  };
}

function mergeCounts(parts: Counts[]): CallReport {
  const merged = new Map<string | null, Counts>();
  for (const r of parts) {
    const m = merged.get(r.value) ?? { value: r.value, calls: 0, answered: 0, firstTimeCallers: 0 };
    m.calls += r.calls;
    m.answered += r.answered;
    m.firstTimeCallers += r.firstTimeCallers;
    merged.set(r.value, m);
  }
  // Most calls first, then by value in JavaScript's string order (unknown first), whichever dialect counted.
  const rows = [...merged.values()]
    .filter((r) => r.calls > 0)
    .sort((a, b) => b.calls - a.calls || (a.value === b.value ? 0 : a.value === null ? -1 : b.value === null ? 1 : a.value < b.value ? -1 : 1));
  const out = rows.map((r) => ({ value: r.value, calls: r.calls, answered: r.answered, answeredRate: rate(r.answered, r.calls), firstTimeCallers: r.firstTimeCallers }));
  const totals = out.reduce((t, r) => ({ calls: t.calls + r.calls, answered: t.answered + r.answered, firstTimeCallers: t.firstTimeCallers + r.firstTimeCallers }), {
    calls: 0,
    answered: 0,
    firstTimeCallers: 0,
  });
  return { rows: out, totals: { ...totals, answeredRate: rate(totals.answered, totals.calls) } };
}

/** One CSV field: quoted when needed; a leading = + - @ is defused (the values come from visitors' URLs). */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let s = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The report as CSV (RFC 4180, CRLF), a header row, one row per group and a total row. */
export function callReportCsv(report: CallReport, groupBy: ReportGroup): string {
  const header = [groupBy, 'calls', 'answered', 'answered_rate', 'first_time_callers'];
  const lines = [header.join(',')];
  for (const r of report.rows) lines.push([r.value, r.calls, r.answered, r.answeredRate, r.firstTimeCallers].map(csvField).join(','));
  const t = report.totals;
  lines.push(['(total)', t.calls, t.answered, t.answeredRate, t.firstTimeCallers].map(csvField).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

export const TIMELINE_INTERVALS = ['hour', 'day'] as const;
export type TimelineInterval = (typeof TIMELINE_INTERVALS)[number];

export interface TimelinePoint {
  /** Start of the bucket (ms, UTC). */
  at: number;
  calls: number;
  answered: number;
  firstTimeCallers: number;
}

/**
 * Calls of accounts per hour or UTC day over [from, to), every bucket present (zeros included), so a
 * chart's x axis is the range itself. One range read of calls_account_arrived_idx / calls_arrived_idx.
 */
export function callsOverTime(f: { from: number; to: number; interval: TimelineInterval; accountIds?: readonly number[] }): Work<TimelinePoint[]> {
  return function* (q) {
    const { calls } = q.t;
    const size = f.interval === 'hour' ? 3_600_000 : DAY_MS;
    const where: SQL[] = [gte(calls.arrivedAt, f.from), lt(calls.arrivedAt, f.to), isNotNull(calls.accountId)];
    if (f.accountIds !== undefined) where.push(inAccounts(calls.accountId, f.accountIds));
    const found = yield* rows(
      q.db
        .select({
          // The bucket size written into the SQL: bound as a parameter it arrives as a float (better-sqlite3
          // binds JS numbers as REAL) and the division would no longer round down to the bucket.
          bucket: sql<number>`(${calls.arrivedAt} / ${sql.raw(String(size))}) * ${sql.raw(String(size))}`.as('bucket'),
          ...callCounts(q),
        })
        .from(calls)
        .where(and(...where))
        .groupBy(sql`1`),
    );
    const byBucket = new Map(found.map((r) => [r.bucket, r]));
    const out: TimelinePoint[] = [];
    for (let at = Math.floor(f.from / size) * size; at < f.to; at += size) {
      const r = byBucket.get(at);
      out.push({ at, calls: r?.calls ?? 0, answered: r?.answered ?? 0, firstTimeCallers: r?.firstTimeCallers ?? 0 });
    }
    return out;
  };
}
