import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { conversionInput, destinationRules } from '../../integrations/conversions/createConversionSender.js';
import { PLATFORM_ADAPTERS } from '../../integrations/conversions/platformAdapters.js';
import { DEFAULT_CONVERSION_RULES } from '../../integrations/conversions/qualifyCall.js';
import { iso, isoOrNull } from '../../isoTime.js';
import { getCall } from '../../persistence/callQueries.js';
import {
  createDestination,
  deleteDestination,
  getConversion,
  getDestination,
  listConversions,
  listDestinations,
  retryConversion,
  updateDestination,
  type DestinationInput,
} from '../../persistence/conversionRepository.js';
import { csvField } from '../../persistence/callReports.js';
import { CONVERSION_PLATFORMS, CONVERSION_STATUSES, LEAD_STATUSES, type ConversionDestinationRow, type ConversionPlatform, type ConversionRow, type ConversionStatus } from '../../persistence/schema.js';
import { accountFilterQuery, idParams, listResponse, parseIsoTime, type IdParams } from '../apiSchemas.js';
import { canSee, canSeeRow, requestedAccounts } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

const rulesSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    answeredOnly: { type: 'boolean' },
    minTalkSeconds: { type: 'integer', minimum: 0, maximum: 86_400 },
    firstTimeCallersOnly: { type: 'boolean' },
    tag: { type: ['string', 'null'], minLength: 1, maxLength: 50 },
    leadStatus: { type: ['string', 'null'], enum: [...LEAD_STATUSES, null] },
    sendHashedCallerNumber: { type: 'boolean' },
  },
} as const;

/** What a destination's body may set, on creation and on change alike. */
const destinationFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  enabled: { type: 'boolean' },
  delivery: { type: 'string', enum: ['api', 'csv'] },
  settings: { type: 'object', additionalProperties: { type: 'string' } },
  rules: rulesSchema,
  conversionName: { type: 'string', minLength: 1, maxLength: 200 },
  defaultValue: { type: ['number', 'null'], minimum: 0 },
  currency: { type: 'string', pattern: '^[A-Z]{3}$' },
} as const;

const destinationDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    platform: { type: 'string' },
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    delivery: { type: 'string' },
    /** Secrets (tokens, API secrets) are shown as "(set)". */
    settings: { type: 'object', additionalProperties: { type: 'string' } },
    rules: { type: 'object', additionalProperties: true },
    conversionName: { type: 'string' },
    defaultValue: { type: ['number', 'null'] },
    currency: { type: 'string' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

function toDestinationDto(d: ConversionDestinationRow) {
  const adapter = PLATFORM_ADAPTERS[d.platform];
  const settings = JSON.parse(d.settings) as Record<string, string>;
  for (const field of adapter.secretFields) if (settings[field] !== undefined) settings[field] = '(set)';
  return { ...d, settings, rules: destinationRules(d), createdAt: iso(d.createdAt), updatedAt: iso(d.updatedAt) };
}

const conversionDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    destinationId: { type: 'integer' },
    callId: { type: 'integer' },
    accountId: { type: 'integer' },
    status: { type: 'string' },
    clickId: { type: ['string', 'null'] },
    conversionTime: { type: 'string' },
    value: { type: ['number', 'null'] },
    currency: { type: 'string' },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: ['string', 'null'] },
    lastStatusCode: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    responseExcerpt: { type: ['string', 'null'] },
    /** The request body as last sent to the platform. */
    payload: { type: ['string', 'null'] },
    sentAt: { type: ['string', 'null'] },
  },
} as const;

function toConversionDto(c: ConversionRow) {
  return {
    ...c,
    conversionTime: iso(c.conversionTime),
    nextAttemptAt: c.status === 'pending' ? iso(c.nextAttemptAt) : null,
    sentAt: isoOrNull(c.sentAt),
  };
}

interface DestinationBody {
  accountId: number;
  platform: ConversionPlatform;
  name: string;
  enabled?: boolean;
  delivery?: 'api' | 'csv';
  settings: Record<string, string>;
  rules?: Record<string, unknown>;
  conversionName: string;
  defaultValue?: number | null;
  currency?: string;
}

/**
 * A platform's settings against its adapter's schema (flat: string fields with a pattern or a
 * length), answered 400 naming the setting.
 */
function checkSettings(platform: ConversionPlatform, settings: Record<string, string>): void {
  const schema = PLATFORM_ADAPTERS[platform].settingsSchema;
  const fail = (name: string, why: string): never => {
    throw new CallrouteError('CR_ERR_VALIDATION', `body.settings.${name} ${why} (${platform})`, { field: `body.settings.${name}` });
  };
  for (const name of schema.required) if (settings[name] === undefined) fail(name, 'is required');
  for (const [name, value] of Object.entries(settings)) {
    const rule = schema.properties[name] as { pattern?: string; minLength?: number; maxLength?: number } | undefined;
    if (!rule) fail(name, 'is not a setting of this platform');
    if (rule?.pattern !== undefined && !new RegExp(rule.pattern).test(value)) fail(name, `must match ${rule.pattern}`);
    if (rule?.minLength !== undefined && value.length < rule.minLength) fail(name, `must be at least ${rule.minLength} characters`);
    if (rule?.maxLength !== undefined && value.length > rule.maxLength) fail(name, `must be at most ${rule.maxLength} characters`);
  }
}

const conversionsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    accountId: { type: 'integer', minimum: 1 },
    destinationId: { type: 'integer', minimum: 1 },
    callId: { type: 'integer', minimum: 1 },
    status: { type: 'string', enum: [...CONVERSION_STATUSES] },
    from: { type: 'string', format: 'date-time' },
    to: { type: 'string', format: 'date-time' },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  },
} as const;

/**
 * Ad-platform conversions (integrations:manage): destinations (one ad platform account each, its
 * rules and secrets), the conversions recorded per call with how sending went, a retry, and each
 * destination's conversions as the platform's upload file.
 */
export function conversionRoutes(app: FastifyInstance, { store, now, webhooks }: RouteDeps): void {
  const retryMs = webhooks.retryHours * 3_600_000;

  async function destinationOf(request: FastifyRequest, id: number): Promise<ConversionDestinationRow> {
    const d = await store.run(getDestination(id));
    if (!d || !canSee(request, d.accountId)) throw new CallrouteError('CR_ERR_NOT_FOUND', `conversion destination ${id} not found`, { field: 'params.id' });
    return d;
  }

  app.get<{ Querystring: { accountId?: number } }>(
    '/conversion-destinations',
    { config: { permission: 'integrations:manage' }, schema: { querystring: accountFilterQuery, response: { 200: listResponse('destinations', destinationDto) } } },
    async (request) => ({ destinations: (await store.run(listDestinations(requestedAccounts(request, request.query.accountId)))).map(toDestinationDto) }),
  );

  app.post<{ Body: DestinationBody }>(
    '/conversion-destinations',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'platform', 'name', 'settings', 'conversionName'],
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            platform: { type: 'string', enum: [...CONVERSION_PLATFORMS] },
            ...destinationFields,
          },
        },
        response: { 201: destinationDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const accountId = await scopedAccount(store, request, b.accountId, 'body.accountId');
      checkSettings(b.platform, b.settings);
      const input: DestinationInput = {
        accountId,
        platform: b.platform,
        name: b.name,
        enabled: b.enabled ?? true,
        delivery: b.delivery ?? 'api',
        settings: b.settings,
        rules: { ...DEFAULT_CONVERSION_RULES, ...b.rules },
        conversionName: b.conversionName,
        defaultValue: b.defaultValue ?? null,
        currency: b.currency ?? 'USD',
      };
      return reply.code(201).send(toDestinationDto(await store.run(createDestination(input, now()))));
    },
  );

  app.get<{ Params: IdParams }>(
    '/conversion-destinations/:id',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams, response: { 200: destinationDto } } },
    async (request) => toDestinationDto(await destinationOf(request, request.params.id)),
  );

  app.patch<{ Params: IdParams; Body: Partial<Omit<DestinationBody, 'accountId' | 'platform'>> }>(
    '/conversion-destinations/:id',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            // settings is merged into the stored ones: send only what changes (a secret left out stays).
            ...destinationFields,
          },
        },
        response: { 200: destinationDto },
      },
    },
    async (request) => {
      const d = await destinationOf(request, request.params.id);
      const { settings, rules, ...rest } = request.body;
      const patch: Parameters<typeof updateDestination>[1] = { ...rest };
      if (settings !== undefined) {
        const merged = { ...(JSON.parse(d.settings) as Record<string, string>), ...settings };
        checkSettings(d.platform, merged);
        patch.settings = merged;
      }
      if (rules !== undefined) patch.rules = { ...destinationRules(d), ...rules };
      const row = await store.run(updateDestination(d.id, patch, now()));
      if (!row) throw new CallrouteError('CR_ERR_NOT_FOUND', `conversion destination ${d.id} not found`, { field: 'params.id' });
      return toDestinationDto(row);
    },
  );

  app.delete<{ Params: IdParams }>(
    '/conversion-destinations/:id',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams } },
    async (request, reply) => {
      await store.run(deleteDestination((await destinationOf(request, request.params.id)).id));
      return reply.code(204).send();
    },
  );

  // The platform's upload file: for operators who upload by hand, or while the platform cannot be reached.
  app.get<{ Params: IdParams; Querystring: { from?: string; to?: string; status?: ConversionStatus } }>(
    '/conversion-destinations/:id/upload.csv',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' }, status: { type: 'string', enum: [...CONVERSION_STATUSES] } },
        },
      },
    },
    async (request, reply) => {
      const d = await destinationOf(request, request.params.id);
      const adapter = PLATFORM_ADAPTERS[d.platform];
      const from = parseIsoTime(request.query.from, 'querystring.from');
      const to = parseIsoTime(request.query.to, 'querystring.to');
      const rows = (await store.run(listConversions({
        destinationId: d.id,
        limit: 100_000,
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        ...(request.query.status ? { status: request.query.status } : {}),
      }))).reverse();
      const lines = [...adapter.csv.preamble, adapter.csv.header.map(csvField).join(',')];
      for (const c of rows) {
        const call = await store.run(getCall(c.callId));
        if (!call) continue;
        const input = { ...await store.run(conversionInput(call, d, c.conversionTime)), value: c.value, currency: c.currency };
        lines.push(adapter.csv.row(input).map(csvField).join(','));
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="conversions-${d.platform}-${d.id}.csv"`)
        .send(`${lines.join('\r\n')}\r\n`);
    },
  );

  app.get<{ Querystring: { accountId?: number; destinationId?: number; callId?: number; status?: ConversionStatus; from?: string; to?: string; limit: number } }>(
    '/conversions',
    { config: { permission: 'integrations:manage' }, schema: { querystring: conversionsQuery, response: { 200: listResponse('conversions', conversionDto) } } },
    async (request) => {
      const q = request.query;
      const accountIds = requestedAccounts(request, q.accountId);
      const from = parseIsoTime(q.from, 'querystring.from');
      const to = parseIsoTime(q.to, 'querystring.to');
      const rows = await store.run(listConversions({
        limit: q.limit,
        ...(accountIds !== undefined ? { accountIds } : {}),
        ...(q.destinationId !== undefined ? { destinationId: q.destinationId } : {}),
        ...(q.callId !== undefined ? { callId: q.callId } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
      }));
      return { conversions: rows.map(toConversionDto) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/calls/:id/conversions',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams, response: { 200: listResponse('conversions', conversionDto) } } },
    async (request) => {
      const call = await store.run(getCall(request.params.id));
      if (!call || !canSeeRow(request, call)) throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${request.params.id} not found`, { field: 'params.id' });
      return { conversions: (await store.run(listConversions({ callId: call.id, limit: 100 }))).map(toConversionDto) };
    },
  );

  app.post<{ Params: IdParams }>(
    '/conversions/:id/retry',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams, response: { 200: conversionDto } } },
    async (request) => {
      const c = await store.run(getConversion(request.params.id));
      if (!c || !canSee(request, c.accountId)) throw new CallrouteError('CR_ERR_NOT_FOUND', `conversion ${request.params.id} not found`, { field: 'params.id' });
      const row = await store.run(retryConversion(c.id, now(), retryMs));
      if (!row) throw new CallrouteError('CR_ERR_VALIDATION', `conversion ${c.id} is ${c.status}: only a failed one is retried`, { field: 'params.id' });
      webhooks.pokeConversions?.();
      return toConversionDto(row);
    },
  );
}
