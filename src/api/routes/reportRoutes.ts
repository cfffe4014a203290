import type { FastifyInstance } from 'fastify';
import { accountFilterQuery, parseIsoTime } from '../apiSchemas.js';
import { CallrouteError } from '../../errors.js';
import { poolReport } from '../../persistence/attributionRepository.js';
import { poolsOf } from '../../persistence/visitorSessions.js';
import { callReport, callReportCsv, callsOverTime, REPORT_GROUPS, TIMELINE_INTERVALS, type ReportGroup, type TimelineInterval } from '../../persistence/callReports.js';
import { requestedAccounts, visibleRows } from '../principal.js';
import { poolReportDto } from './attributionRoutes.js';
import type { RouteDeps } from './routeDeps.js';
import { LEAD_STATUSES, type LeadStatus } from '../../persistence/schema.js';

interface CallReportQuery {
  groupBy: ReportGroup;
  from?: string;
  to?: string;
  accountId?: number;
  format?: 'json' | 'csv';
  tag?: string;
  leadStatus?: LeadStatus;
}

const DAY_MS = 86_400_000;
/** Without `from`, a report covers the 30 days before `to` (or now). */
const DEFAULT_RANGE_MS = 30 * DAY_MS;
/** A report's range from its querystring: `to` defaults to now, `from` to 30 days before it. */
function reportRange(q: { from?: string; to?: string }, now: number): { from: number; to: number } {
  const to = parseIsoTime(q.to, 'querystring.to') ?? now;
  const from = parseIsoTime(q.from, 'querystring.from') ?? to - DEFAULT_RANGE_MS;
  if (from > to) throw new CallrouteError('CR_ERR_VALIDATION', 'querystring.from must not be after querystring.to', { field: 'querystring.from' });
  return { from, to };
}

/** Buckets one calls-over-time report holds at most. */
const MAX_TIMELINE_BUCKETS = 800;


const reportRow = {
  type: 'object',
  additionalProperties: false,
  properties: {
    value: { type: ['string', 'null'] },
    calls: { type: 'integer' },
    answered: { type: 'integer' },
    answeredRate: { type: 'number' },
    firstTimeCallers: { type: 'integer' },
  },
} as const;

/**
 * Reports, open to customer tokens (scoped to their account, like /v1/calls):
 * - `GET /v1/reports/calls?groupBy=source|medium|campaign|landingPage&from&to&accountId[&format=csv]`:
 *   calls, answered, answered rate and first-time callers per group; CSV with `Accept: text/csv` or
 *   `format=csv`.
 * - `GET /v1/reports/pools?accountId`: utilisation (held/total), warning flag and exhaustions per pool.
 */
export function reportRoutes(app: FastifyInstance, { store, now }: RouteDeps): void {
  app.get<{ Querystring: CallReportQuery }>(
    '/reports/calls',
    {
      config: { permission: 'reports:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['groupBy'],
          properties: {
            groupBy: { type: 'string', enum: [...REPORT_GROUPS] },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            accountId: { type: 'integer', minimum: 1 },
            format: { type: 'string', enum: ['json', 'csv'] },
            tag: { type: 'string', minLength: 1, maxLength: 50 },
            leadStatus: { type: 'string', enum: [...LEAD_STATUSES] },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['groupBy', 'from', 'to', 'rows', 'totals'],
            properties: {
              groupBy: { type: 'string' },
              from: { type: 'string' },
              to: { type: 'string' },
              rows: { type: 'array', items: reportRow },
              totals: reportRow,
            },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const { from, to } = reportRange(q, now());
      // Another tenant's report looks exactly like an empty one (no hint that the account exists).
      const accountIds = requestedAccounts(request, q.accountId);
      const report = await store.run(callReport({
        groupBy: q.groupBy,
        from,
        to,
        ...(accountIds === undefined ? {} : { accountIds }),
        ...(q.tag === undefined ? {} : { tag: q.tag.trim() }),
        ...(q.leadStatus === undefined ? {} : { leadStatus: q.leadStatus }),
      }));
      const wantsCsv = q.format === 'csv' || (q.format === undefined && /\btext\/csv\b/i.test(request.headers.accept ?? ''));
      if (wantsCsv) {
        const name = `calls-by-${q.groupBy}-${new Date(from).toISOString().slice(0, 10)}-${new Date(to).toISOString().slice(0, 10)}.csv`;
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${name}"`)
          .send(callReportCsv(report, q.groupBy));
      }
      return {
        groupBy: q.groupBy,
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        rows: report.rows,
        totals: { value: null, ...report.totals },
      };
    },
  );

  app.get<{ Querystring: { from?: string; to?: string; accountId?: number; interval: TimelineInterval } }>(
    '/reports/calls-over-time',
    {
      config: { permission: 'reports:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            accountId: { type: 'integer', minimum: 1 },
            interval: { type: 'string', enum: [...TIMELINE_INTERVALS], default: 'day' },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['interval', 'from', 'to', 'points'],
            properties: {
              interval: { type: 'string' },
              from: { type: 'string' },
              to: { type: 'string' },
              points: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { at: { type: 'string' }, calls: { type: 'integer' }, answered: { type: 'integer' }, firstTimeCallers: { type: 'integer' } },
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      const { from, to } = reportRange(q, now());
      // At most ~a year of days or a month of hours: a chart, not an export.
      const buckets = (to - from) / (q.interval === 'hour' ? 3_600_000 : DAY_MS);
      if (buckets > MAX_TIMELINE_BUCKETS) throw new CallrouteError('CR_ERR_VALIDATION', `querystring.from: at most ${MAX_TIMELINE_BUCKETS} ${q.interval}s in one report`, { field: 'querystring.from' });
      const accountIds = requestedAccounts(request, q.accountId);
      const points = await store.run(callsOverTime({ from, to, interval: q.interval, ...(accountIds === undefined ? {} : { accountIds }) }));
      return { interval: q.interval, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: points.map((p) => ({ ...p, at: new Date(p.at).toISOString() })) };
    },
  );

  app.get<{ Querystring: { accountId?: number } }>(
    '/reports/pools',
    {
      config: { permission: 'reports:read' },
      schema: {
        querystring: accountFilterQuery,
        response: {
          200: { type: 'object', additionalProperties: false, required: ['pools'], properties: { pools: { type: 'array', items: poolReportDto } } },
        },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      const t = now();
      const pools = visibleRows(request, await store.run(poolsOf(accountId === undefined ? {} : { accountId })));
      return { pools: await Promise.all(pools.map((p) => store.run(poolReport(p, t)))) };
    },
  );
}
