import { recordingPausesSchema } from './recordingPauseRoutes.js';
import { callView } from '../../events/callView.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import {
  CALLS_DEFAULT_LIMIT,
  CALLS_MAX_LIMIT,
  getCall,
  listCalls,
  type CallFilter,
} from '../../persistence/callQueries.js';
import { CALL_DISPOSITIONS, LEAD_STATUSES, type CallDisposition, type CallRow, type LeadStatus } from '../../persistence/schema.js';
import { csvField } from '../../persistence/callReports.js';
import { annotateCall } from '../../persistence/callAnnotationRepository.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { idParams, isoTime, nullableIsoTime, type IdParams, parseIsoTime } from '../apiSchemas.js';
import { inRequestPart } from '../errorHandler.js';
import { canSeeRow, holds, principalOf, requestedAccounts, restrictedVisibleIn } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;

const callDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    accountId: nullableInt,
    trackingNumberId: nullableInt,
    did: { type: 'string' },
    callerNumber: nullableStr,
    callerName: nullableStr,
    source: nullableStr,
    medium: nullableStr,
    campaign: nullableStr,
    destination: nullableStr,
    finished: { type: 'boolean' },
    disposition: nullableStr,
    sipCode: nullableInt,
    hangupCause: nullableInt,
    endedBy: nullableStr,
    arrivedAt: isoTime,
    answeredAt: nullableIsoTime,
    endedAt: nullableIsoTime,
    ringSeconds: nullableNum,
    talkSeconds: nullableNum,
    inboundChannelId: { type: 'string' },
    outboundChannelId: nullableStr,
    bridgeId: nullableStr,
    reconciled: { type: 'boolean' },
    /** The router decided the call and Asterisk's dialplan dialed and recorded it (ops: which path). */
    dialplanHandOff: { type: 'boolean' },
    /** The caller's processing is restricted (a privacy request): only who handles privacy sees this row. */
    restricted: { type: 'boolean' },
    /** The recording's pauses while the call was up (their spans are silence in it). */
    recordingPauses: recordingPausesSchema,
    visitId: nullableInt,
    landingPage: nullableStr,
    referrer: nullableStr,
    /** utm_* tags of the visit (object), click ids (object). */
    utm: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    clickIds: { type: ['object', 'null'], additionalProperties: { type: 'string' } },
    firstVisitAt: nullableIsoTime,
    firstTimeCaller: { type: ['boolean', 'null'] },
    /** null for those who may not see recordings (analysts): whether a call was recorded is theirs to know. */
    recordingStatus: nullableStr,
    /** What the account's people or their CRM said about the call (PATCH /v1/calls/:id). */
    tags: { type: 'array', items: { type: 'string' } },
    notes: nullableStr,
    value: nullableNum,
    leadStatus: nullableStr,
    /** Why reconciliation finished the call (its node's lease lapsed, its channels were gone after a restart). */
    reconciledReason: nullableStr,
    /** The node (NODE_ID) whose Asterisk carried the call ('' before nodes had names). */
    nodeId: { type: 'string' },
    /** The SIP Call-ID of the carrier's INVITE, to look the call up in the carrier's or Asterisk's logs. */
    sipCallId: nullableStr,
    /** Route plan step that answered (else the last one rung); null without a plan. */
    routeStep: nullableStr,
    answeredDestination: nullableStr,
    /** Every destination rung, in order, with how its ring ended. */
    destinationsTried: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: { step: { type: 'string' }, target: { type: 'string' }, outcome: { type: 'string' } },
      },
    },
  },
} as const;

/** The call resource: the same view the events carry (src/events/callView.ts). */
export const toCallDto = callView;

/** The call as the principal may see it: no recording status without the right to recordings. */
function forPrincipal<T extends { accountId: number | null; recordingStatus: string | null }>(request: FastifyRequest, dto: T): T {
  const p = principalOf(request);
  if (p.operator || (dto.accountId !== null && holds(p, 'recordings:read', dto.accountId))) return dto;
  return { ...dto, recordingStatus: null };
}

interface CallsQuery {
  from?: string;
  to?: string;
  accountId?: number;
  did?: string;
  disposition?: CallDisposition;
  source?: string;
  medium?: string;
  campaign?: string;
  firstTimeCaller?: boolean;
  callerNumber?: string;
  format?: 'json' | 'csv';
  tag?: string;
  q?: string;
  leadStatus?: LeadStatus;
  cursor?: string;
  limit: number;
}

interface CallPatch {
  tags?: string[];
  notes?: string | null;
  value?: number | null;
  leadStatus?: LeadStatus | null;
}

/** A CSV export of the call log holds at most this many calls (narrow the filter for more). */
export const CALLS_CSV_MAX_ROWS = 10_000;

const CSV_COLUMNS = ['id', 'arrivedAt', 'answeredAt', 'endedAt', 'did', 'callerNumber', 'callerName', 'source', 'medium', 'campaign', 'disposition', 'ringSeconds', 'talkSeconds', 'firstTimeCaller', 'landingPage', 'destination', 'recordingStatus', 'tags', 'leadStatus', 'value'] as const;

/** The calls as a spreadsheet: the columns a marketer filters by, one row per call. */
function callsCsv(rows: ReadonlyArray<ReturnType<typeof callView>>): string {
  const cell = (v: unknown) => csvField(v === null || v === undefined ? null : Array.isArray(v) ? v.join(' ') : typeof v === 'number' ? v : String(v));
  return `${[CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => cell(r[c])).join(','))].join('\r\n')}\r\n`;
}

/** Tags are short labels; a call carries a handful (CallRail's limits are of the same order). */
export const MAX_TAGS_PER_CALL = 20;
const tagSchema = { type: 'string', minLength: 1, maxLength: 50, pattern: '\\S' } as const;


/** Trimmed, and one per spelling without case: the first spelling given stays. */
function distinctTags(tags: readonly string[]): string[] {
  const byKey = new Map<string, string>();
  for (const t of tags) if (!byKey.has(t.trim().toLowerCase())) byKey.set(t.trim().toLowerCase(), t.trim());
  return [...byKey.values()];
}

/** The fields of `o` among `keys` that are present (undefined stays out: PATCH leaves them alone). */
function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  const out = {} as Pick<T, K>;
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

export function callRoutes(app: FastifyInstance, { store, defaultCountryCode, now }: RouteDeps): void {
  app.get<{ Querystring: CallsQuery }>(
    '/calls',
    {
      config: { permission: 'calls:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            accountId: { type: 'integer', minimum: 1 },
            did: { type: 'string', minLength: 1, maxLength: 64 },
            disposition: { type: 'string', enum: [...CALL_DISPOSITIONS] },
            source: { type: 'string', minLength: 1, maxLength: 200 },
            medium: { type: 'string', minLength: 1, maxLength: 200 },
            campaign: { type: 'string', minLength: 1, maxLength: 200 },
            firstTimeCaller: { type: 'boolean' },
            callerNumber: { type: 'string', minLength: 1, maxLength: 64 },
            /** csv: the filtered calls (every page, up to CALLS_CSV_MAX_ROWS) as a spreadsheet. */
            format: { type: 'string', enum: ['json', 'csv'] },
            tag: tagSchema,
            leadStatus: { type: 'string', enum: [...LEAD_STATUSES] },
            /** Free text: caller number digits, caller name, a tag or the notes (the dashboard's search box). */
            q: { type: 'string', minLength: 1, maxLength: 100 },
            cursor: { type: 'string', minLength: 1, maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: CALLS_MAX_LIMIT, default: CALLS_DEFAULT_LIMIT },
          },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['calls', 'nextCursor'],
            properties: { calls: { type: 'array', items: callDto }, nextCursor: nullableStr },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const from = parseIsoTime(q.from, 'querystring.from');
      const to = parseIsoTime(q.to, 'querystring.to');
      if (from !== undefined && to !== undefined && from > to) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'querystring.from must not be after querystring.to', {
          field: 'querystring.from',
        });
      }
      // Asking for another tenant's calls finds none, exactly as asking for an account that does not
      // exist (no hint that it does).
      const accountIds = requestedAccounts(request, q.accountId);
      const filter: CallFilter = { limit: q.limit };
      if (accountIds !== undefined) filter.accountIds = accountIds;
      const restrictedIn = restrictedVisibleIn(request);
      if (restrictedIn !== undefined) filter.restrictedIn = restrictedIn;
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      // Stored DIDs are E.164; a value that cannot be normalised (calls to garbage numbers are
      // recorded as dialed) is matched exactly as given.
      if (q.did !== undefined) filter.did = normalizeNumber(q.did, defaultCountryCode) ?? q.did.trim();
      if (q.disposition !== undefined) filter.disposition = q.disposition;
      if (q.source !== undefined) filter.source = q.source;
      if (q.medium !== undefined) filter.medium = q.medium;
      if (q.campaign !== undefined) filter.campaign = q.campaign;
      if (q.firstTimeCaller !== undefined) filter.firstTimeCaller = q.firstTimeCaller;
      if (q.callerNumber !== undefined) filter.callerNumber = normalizeNumber(q.callerNumber, defaultCountryCode) ?? q.callerNumber.trim();
      if (q.tag !== undefined) filter.tag = q.tag.trim();
      if (q.q !== undefined && q.q.trim() !== '') filter.search = q.q;
      if (q.leadStatus !== undefined) filter.leadStatus = q.leadStatus;
      if (q.cursor !== undefined) filter.cursor = q.cursor;
      if (q.format === 'csv') {
        const rows: CallRow[] = [];
        let cursor = filter.cursor;
        do {
          const page = await inRequestPart('querystring', () => store.run(listCalls({ ...filter, limit: CALLS_MAX_LIMIT, ...(cursor !== undefined ? { cursor } : {}) })));
          rows.push(...page.calls);
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined && rows.length < CALLS_CSV_MAX_ROWS);
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="calls.csv"')
          .send(callsCsv(rows.slice(0, CALLS_CSV_MAX_ROWS).map((row) => forPrincipal(request, toCallDto(row)))));
      }
      const page = await inRequestPart('querystring', () => store.run(listCalls(filter)));
      return { calls: page.calls.map((row) => forPrincipal(request, toCallDto(row))), nextCursor: page.nextCursor };
    },
  );

  app.patch<{ Params: IdParams; Body: CallPatch }>(
    '/calls/:id',
    {
      config: { permission: 'calls:annotate' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            tags: { type: 'array', maxItems: MAX_TAGS_PER_CALL, items: tagSchema },
            notes: { type: ['string', 'null'], maxLength: 5000 },
            value: { type: ['number', 'null'], minimum: 0, maximum: 1_000_000_000 },
            leadStatus: { type: ['string', 'null'], enum: [...LEAD_STATUSES, null] },
          },
        },
        response: { 200: callDto },
      },
    },
    async (request) => {
      const found = await store.run(getCall(request.params.id));
      if (!found || !canSeeRow(request, found)) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${request.params.id} not found`, { field: 'params.id' });
      }
      const b = request.body;
      // Tags compare trimmed and without case ("Booked" and "booked " are one tag); the first spelling stays.
      const tags = b.tags === undefined ? undefined : distinctTags(b.tags);
      const row = await store.run(annotateCall(found.id, { ...(tags !== undefined ? { tags } : {}), ...pick(b, ['notes', 'value', 'leadStatus']) }, now()), { transaction: true });
      if (!row) throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${request.params.id} not found`, { field: 'params.id' });
      return forPrincipal(request, toCallDto(row));
    },
  );

  app.get<{ Params: IdParams }>(
    '/calls/:id',
    { config: { permission: 'calls:read' }, schema: { params: idParams, response: { 200: callDto } } },
    async (request) => {
      const row = await store.run(getCall(request.params.id));
      if (!row || !canSeeRow(request, row)) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${request.params.id} not found`, { field: 'params.id' });
      }
      return forPrincipal(request, toCallDto(row));
    },
  );
}
