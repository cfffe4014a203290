import { and, eq, gte, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import { inAccounts } from './inAccounts.js';
import type { Db } from './openDatabase.js';
import { hasTag } from './callQueries.js';
import { callReportDays, calls, type LeadStatus } from './schema.js';

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
// are in their own columns). SQLite's instr/substr: the one dialect-specific piece, kept here.
const landingPath = sql<string | null>`CASE WHEN instr(${calls.landingPage}, '?') > 0 THEN substr(${calls.landingPage}, 1, instr(${calls.landingPage}, '?') - 1) ELSE ${calls.landingPage} END`;

function groupExpr(g: ReportGroup): SQL {
  switch (g) {
    case 'source':
      return sql`${calls.source}`;
    case 'medium':
      return sql`${calls.medium}`;
    case 'campaign':
      return sql`${calls.campaign}`;
    case 'landingPage':
      return landingPath;
  }
}

const rate = (answered: number, total: number) => (total === 0 ? 0 : Math.round((answered / total) * 10_000) / 10_000);

const DAY_MS = 86_400_000;

type Counts = { value: string | null; calls: number; answered: number; firstTimeCallers: number };

/** Calls arrived in [from, to) counted from the calls table itself. */
function countFromCalls(db: Db, f: CallReportFilter, from: number, to: number): Counts[] {
  const where: SQL[] = [gte(calls.arrivedAt, from), lt(calls.arrivedAt, to), isNotNull(calls.accountId)];
  if (f.accountIds !== undefined) where.push(inAccounts(calls.accountId, f.accountIds));
  if (f.tag !== undefined) where.push(hasTag(f.tag));
  if (f.leadStatus !== undefined) where.push(eq(calls.leadStatus, f.leadStatus));
  const value = groupExpr(f.groupBy);
  return db
    .select({
      value: sql<string | null>`${value}`.as('value'),
      calls: sql<number>`count(*)`,
      answered: sql<number>`coalesce(sum(${calls.disposition} = 'answered'), 0)`,
      firstTimeCallers: sql<number>`coalesce(sum(${calls.firstTimeCaller} = 1), 0)`,
    })
    .from(calls)
    .where(and(...where))
    .groupBy(sql`1`)
    .all();
}

/** Whole UTC days [fromDay, toDay) from the rollup the triggers keep ('' there is unknown). */
function countFromDays(db: Db, f: CallReportFilter & { groupBy: Exclude<ReportGroup, 'landingPage'> }, fromDay: number, toDay: number): Counts[] {
  const where: SQL[] = [gte(callReportDays.day, fromDay), lt(callReportDays.day, toDay)];
  if (f.accountIds !== undefined) where.push(inAccounts(callReportDays.accountId, f.accountIds));
  const column = callReportDays[f.groupBy];
  return db
    .select({
      value: sql<string | null>`nullif(${column}, '')`.as('value'),
      calls: sql<number>`sum(${callReportDays.calls})`,
      answered: sql<number>`sum(${callReportDays.answered})`,
      firstTimeCallers: sql<number>`sum(${callReportDays.firstTimeCallers})`,
    })
    .from(callReportDays)
    .where(and(...where))
    .groupBy(sql`1`)
    .all();
}

/**
 * Calls of accounts (not calls to unknown numbers) arrived in [from, to), grouped, most calls first.
 * By source, medium or campaign, the whole UTC days of the range come from call_report_days (one
 * row per account, day and value) and only the partial days at its ends from the calls themselves
 * (calls_account_source_report_idx / calls_arrived_idx); by landing page, every call is read.
 */
export function callReport(db: Db, f: CallReportFilter): CallReport {
  const parts: Counts[][] = [];
  const firstDay = Math.ceil(f.from / DAY_MS);
  const endDay = Math.floor(f.to / DAY_MS);
  // The rollup counts every call: a report of tagged calls (or of one lead status) counts them one by one.
  const annotated = f.tag !== undefined || f.leadStatus !== undefined;
  if (f.groupBy !== 'landingPage' && !annotated && endDay > firstDay) {
    parts.push(countFromDays(db, { ...f, groupBy: f.groupBy }, firstDay, endDay));
    if (f.from < firstDay * DAY_MS) parts.push(countFromCalls(db, f, f.from, firstDay * DAY_MS));
    if (endDay * DAY_MS < f.to) parts.push(countFromCalls(db, f, endDay * DAY_MS, f.to));
  } else {
    parts.push(countFromCalls(db, f, f.from, f.to));
  }
  const merged = new Map<string | null, Counts>();
  for (const r of parts.flat()) {
    const m = merged.get(r.value) ?? { value: r.value, calls: 0, answered: 0, firstTimeCallers: 0 };
    m.calls += r.calls;
    m.answered += r.answered;
    m.firstTimeCallers += r.firstTimeCallers;
    merged.set(r.value, m);
  }
  // Most calls first, then by value as SQLite orders text (unknown first).
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
export function callsOverTime(db: Db, f: { from: number; to: number; interval: TimelineInterval; accountIds?: readonly number[] }): TimelinePoint[] {
  const size = f.interval === 'hour' ? 3_600_000 : DAY_MS;
  const where: SQL[] = [gte(calls.arrivedAt, f.from), lt(calls.arrivedAt, f.to), isNotNull(calls.accountId)];
  if (f.accountIds !== undefined) where.push(inAccounts(calls.accountId, f.accountIds));
  const rows = db
    .select({
      // The bucket size written into the SQL: bound as a parameter it arrives as a float (better-sqlite3
      // binds JS numbers as REAL) and the division would no longer round down to the bucket.
      bucket: sql<number>`(${calls.arrivedAt} / ${sql.raw(String(size))}) * ${sql.raw(String(size))}`.as('bucket'),
      calls: sql<number>`count(*)`,
      answered: sql<number>`coalesce(sum(${calls.disposition} = 'answered'), 0)`,
      firstTimeCallers: sql<number>`coalesce(sum(${calls.firstTimeCaller} = 1), 0)`,
    })
    .from(calls)
    .where(and(...where))
    .groupBy(sql`1`)
    .all();
  const byBucket = new Map(rows.map((r) => [r.bucket, r]));
  const out: TimelinePoint[] = [];
  for (let at = Math.floor(f.from / size) * size; at < f.to; at += size) {
    const r = byBucket.get(at);
    out.push({ at, calls: r?.calls ?? 0, answered: r?.answered ?? 0, firstTimeCallers: r?.firstTimeCallers ?? 0 });
  }
  return out;
}
