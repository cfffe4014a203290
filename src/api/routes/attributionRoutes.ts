import type { FastifyInstance } from 'fastify';
import { REFERRER_GROUPS, SOURCE_RULE_KINDS, type SourceRuleKind } from '../../attribution/classifyVisit.js';
import { ALLOWED_DOMAIN_PATTERN } from '../../attribution/isAllowedOrigin.js';
import { ATTRIBUTION_MODELS, type AttributionModel } from '../../attribution/resolveTouch.js';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import {
  allowedDomainsOf,
  sourceRulesOf,
  createPool,
  createSourceRule,
  deletePool,
  deleteSourceRule,
  getSourceRule,
  allSourceRules,
  MAX_RELEASE_GRACE_SECONDS,
  newPublicKey,
  poolReport,
  updatePool,
  updateSourceRule,
  updateSnippetSettings,
  type PoolInput,
} from '../../persistence/attributionRepository.js';
import type { AccountRow, NumberPoolRow, SourceRuleRow } from '../../persistence/schema.js';
import { getTrackingNumber } from '../../persistence/trackingNumberRepository.js';
import { poolById, poolsOf } from '../../persistence/visitorSessions.js';
import { idParams, iso, isoTime, nullableString, type IdParams, accountFilterQuery } from '../apiSchemas.js';
import { canSee, visibleRows } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

const nullableStr = { type: ['string', 'null'] } as const;

// ------------------------------------------------------------------ source rules

const sourceRuleDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'position', 'kind', 'match', 'value', 'source', 'medium', 'campaign', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    position: { type: 'integer' },
    kind: { type: 'string' },
    match: nullableStr,
    value: nullableStr,
    source: { type: 'string' },
    medium: nullableStr,
    campaign: nullableStr,
    createdAt: isoTime,
  },
} as const;

const ruleWritable = {
  position: { type: 'integer', minimum: 0, maximum: 1_000_000 },
  kind: { type: 'string', enum: [...SOURCE_RULE_KINDS] },
  match: nullableString(253),
  value: nullableString(200),
  source: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
  medium: nullableString(200),
  campaign: nullableString(200),
} as const;

interface RuleBody {
  accountId: number;
  position?: number;
  kind: SourceRuleKind;
  match?: string | null;
  value?: string | null;
  source: string;
  medium?: string | null;
  campaign?: string | null;
}

function toSourceRuleDto(row: SourceRuleRow) {
  return { ...row, createdAt: iso(row.createdAt) };
}

/** What `match` and `value` must be for each kind; throws a 400 naming the field. */
function checkRuleShape(kind: string, match: string | null, value: string | null): void {
  const bad = (field: string, message: string) => new CallrouteError('CR_ERR_VALIDATION', `body.${field} ${message}`, { field: `body.${field}` });
  if (kind === 'param' && (!match || !/^[A-Za-z0-9_.-]{1,100}$/.test(match))) throw bad('match', 'must name the landing-page parameter (e.g. utm_source, gclid)');
  if (kind === 'referrer_host' && (!match || !new RegExp(ALLOWED_DOMAIN_PATTERN).test(match) || match.startsWith('*.'))) {
    throw bad('match', 'must be a host name (e.g. news.example.com)');
  }
  if (kind === 'referrer_group' && (!match || ![...REFERRER_GROUPS, 'any'].includes(match))) {
    throw bad('match', `must be one of ${[...REFERRER_GROUPS, 'any'].join(', ')}`);
  }
  if (kind === 'direct' && match !== null) throw bad('match', "is not allowed for kind 'direct'");
  if (kind !== 'param' && value !== null) throw bad('value', "is only allowed for kind 'param'");
}

// ------------------------------------------------------------------ pools

const poolDto = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'accountId',
    'name',
    'source',
    'fallbackTrackingNumberId',
    'idleReleaseSeconds',
    'releaseGraceSeconds',
    'warnUtilization',
    'exhaustedCount',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    name: { type: 'string' },
    source: nullableStr,
    fallbackTrackingNumberId: { type: ['integer', 'null'] },
    idleReleaseSeconds: { type: 'integer' },
    releaseGraceSeconds: { type: 'integer' },
    warnUtilization: { type: 'number' },
    exhaustedCount: { type: 'integer' },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

export const poolReportDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    poolId: { type: 'integer' },
    accountId: { type: 'integer' },
    name: { type: 'string' },
    source: nullableStr,
    held: { type: 'integer' },
    total: { type: 'integer' },
    utilization: { type: 'number' },
    warnUtilization: { type: 'number' },
    warning: { type: 'boolean' },
    exhaustedCount: { type: 'integer' },
  },
} as const;

const poolWritable = {
  name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
  source: nullableString(200),
  fallbackTrackingNumberId: { type: ['integer', 'null'], minimum: 1 },
  idleReleaseSeconds: { type: 'integer', minimum: 30, maximum: 86_400 },
  releaseGraceSeconds: { type: 'integer', minimum: 0, maximum: MAX_RELEASE_GRACE_SECONDS },
  warnUtilization: { type: 'number', minimum: 0, maximum: 1 },
} as const;

type PoolBody = Omit<PoolInput, 'accountId'> & { accountId: number };

function toPoolDto(row: NumberPoolRow) {
  return { ...row, createdAt: iso(row.createdAt), updatedAt: iso(row.updatedAt) };
}

// ------------------------------------------------------------------ snippet settings

const snippetSettingsDto = {
  type: 'object',
  additionalProperties: false,
  required: ['accountId', 'publicKey', 'allowedDomains', 'attributionModel', 'attributionWindowDays', 'scriptTag'],
  properties: {
    accountId: { type: 'integer' },
    publicKey: nullableStr,
    allowedDomains: { type: 'array', items: { type: 'string' } },
    attributionModel: { type: 'string' },
    attributionWindowDays: { type: 'integer' },
    /** The tag to paste into the site; null until a key is generated. */
    scriptTag: nullableStr,
  },
} as const;

interface SnippetSettingsBody {
  allowedDomains?: string[];
  attributionModel?: AttributionModel;
  attributionWindowDays?: number;
}

function notFound(what: string, id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `${what} ${id} not found`, { field: 'params.id' });
}

/**
 * Admin routes for attribution: source rules (`/v1/source-rules`), visitor-level number pools
 * (`/v1/pools`, numbers join a pool with PATCH /v1/tracking-numbers/:id {poolId}), pool utilisation,
 * and an account's snippet settings (`/v1/accounts/:id/snippet`: public key, allowed domains,
 * first/last touch and its window).
 */
export function attributionRoutes(app: FastifyInstance, { store, now, recordings }: RouteDeps): void {
  const read = { permission: 'configuration:read' } as const;
  const write = { permission: 'configuration:write' } as const;

  // -------- source rules
  app.post<{ Body: RuleBody }>(
    '/source-rules',
    {
      config: write,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'kind', 'source'],
          properties: { accountId: { type: 'integer', minimum: 1 }, ...ruleWritable },
        },
        response: { 201: sourceRuleDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const match = b.match?.trim() || null;
      const value = b.value?.trim() || null;
      checkRuleShape(b.kind, match, value);
      const input = {
        accountId: await scopedAccount(store, request, b.accountId, 'body.accountId'),
        kind: b.kind,
        match,
        value,
        source: b.source.trim(),
        medium: b.medium ?? null,
        campaign: b.campaign ?? null,
        ...(b.position === undefined ? {} : { position: b.position }),
      };
      return reply.code(201).send(toSourceRuleDto(await store.run(createSourceRule(input, now()))));
    },
  );

  app.get<{ Querystring: { accountId?: number } }>(
    '/source-rules',
    {
      config: read,
      schema: {
        querystring: accountFilterQuery,
        response: {
          200: { type: 'object', additionalProperties: false, required: ['sourceRules'], properties: { sourceRules: { type: 'array', items: sourceRuleDto } } },
        },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      const rows = accountId === undefined ? await store.run(allSourceRules()) : await store.run(sourceRulesOf(accountId));
      return { sourceRules: visibleRows(request, rows).map(toSourceRuleDto) };
    },
  );

  app.get<{ Params: IdParams }>('/source-rules/:id', { config: read, schema: { params: idParams, response: { 200: sourceRuleDto } } }, async (request) => {
    const row = await store.run(getSourceRule(request.params.id));
    if (!row || !canSee(request, row.accountId)) throw notFound('source rule', request.params.id);
    return toSourceRuleDto(row);
  });

  app.patch<{ Params: IdParams; Body: Partial<Omit<RuleBody, 'accountId'>> }>(
    '/source-rules/:id',
    {
      config: write,
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: ruleWritable },
        response: { 200: sourceRuleDto },
      },
    },
    async (request) => {
      const current = await store.run(getSourceRule(request.params.id));
      if (!current || !canSee(request, current.accountId)) throw notFound('source rule', request.params.id);
      const b = request.body;
      const kind = b.kind ?? current.kind;
      const match = b.match !== undefined ? b.match?.trim() || null : current.match;
      const value = b.value !== undefined ? b.value?.trim() || null : kind === 'param' ? current.value : null;
      checkRuleShape(kind, kind === 'direct' && b.match === undefined ? null : match, value);
      const row = await store.run(updateSourceRule(current.id, {
        kind,
        match: kind === 'direct' ? null : match,
        value,
        ...(b.position === undefined ? {} : { position: b.position }),
        ...(b.source === undefined ? {} : { source: b.source.trim() }),
        ...(b.medium === undefined ? {} : { medium: b.medium }),
        ...(b.campaign === undefined ? {} : { campaign: b.campaign }),
      }));
      if (!row) throw notFound('source rule', request.params.id);
      return toSourceRuleDto(row);
    },
  );

  app.delete<{ Params: IdParams }>('/source-rules/:id', { config: write, schema: { params: idParams } }, async (request, reply) => {
    const current = await store.run(getSourceRule(request.params.id));
    if (!current || !canSee(request, current.accountId) || !(await store.run(deleteSourceRule(request.params.id)))) throw notFound('source rule', request.params.id);
    return reply.code(204).send();
  });

  // -------- pools
  /** The fallback must be an enabled-or-not number of the same account outside every pool (a shared number). */
  async function checkFallback(id: number | null | undefined, accountId: number): Promise<void> {
    if (id === undefined || id === null) return;
    const field = 'body.fallbackTrackingNumberId';
    const n = await store.run(getTrackingNumber(id));
    if (!n) throw new CallrouteError('CR_ERR_VALIDATION', `tracking number ${id} does not exist`, { field });
    if (n.accountId !== accountId) throw new CallrouteError('CR_ERR_VALIDATION', `tracking number ${id} belongs to another account`, { field });
    if (n.poolId !== null) {
      throw new CallrouteError('CR_ERR_VALIDATION', `tracking number ${id} is a pool number; the fallback must be a number outside pools`, { field });
    }
  }

  app.post<{ Body: PoolBody }>(
    '/pools',
    {
      config: write,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'name'],
          properties: { accountId: { type: 'integer', minimum: 1 }, ...poolWritable },
        },
        response: { 201: poolDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      await scopedAccount(store, request, b.accountId, 'body.accountId');
      await checkFallback(b.fallbackTrackingNumberId, b.accountId);
      const row = await store.run(createPool({ ...b, name: b.name.trim() }, now()));
      return reply.code(201).send(toPoolDto(row));
    },
  );

  app.get<{ Querystring: { accountId?: number } }>(
    '/pools',
    {
      config: read,
      schema: {
        querystring: accountFilterQuery,
        response: { 200: { type: 'object', additionalProperties: false, required: ['pools'], properties: { pools: { type: 'array', items: poolDto } } } },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      return { pools: visibleRows(request, await store.run(poolsOf(accountId === undefined ? {} : { accountId }))).map(toPoolDto) };
    },
  );

  app.get<{ Params: IdParams }>('/pools/:id', { config: read, schema: { params: idParams, response: { 200: poolDto } } }, async (request) => {
    const row = await store.run(poolById(request.params.id));
    if (!row || !canSee(request, row.accountId)) throw notFound('pool', request.params.id);
    return toPoolDto(row);
  });

  app.patch<{ Params: IdParams; Body: Partial<Omit<PoolInput, 'accountId'>> }>(
    '/pools/:id',
    {
      config: write,
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: poolWritable },
        response: { 200: poolDto },
      },
    },
    async (request) => {
      const current = await store.run(poolById(request.params.id));
      if (!current || !canSee(request, current.accountId)) throw notFound('pool', request.params.id);
      const b = request.body;
      await checkFallback(b.fallbackTrackingNumberId, current.accountId);
      const row = await store.run(updatePool(current.id, { ...b, ...(b.name === undefined ? {} : { name: b.name.trim() }) }, now()));
      if (!row) throw notFound('pool', request.params.id);
      return toPoolDto(row);
    },
  );

  app.delete<{ Params: IdParams }>('/pools/:id', { config: write, schema: { params: idParams } }, async (request, reply) => {
    const current = await store.run(poolById(request.params.id));
    if (!current || !canSee(request, current.accountId) || !(await store.run(deletePool(request.params.id, now()), { transaction: true }))) throw notFound('pool', request.params.id);
    return reply.code(204).send();
  });

  app.get<{ Params: IdParams }>('/pools/:id/utilization', { config: { permission: 'reports:read' }, schema: { params: idParams, response: { 200: poolReportDto } } }, async (request) => {
    const row = await store.run(poolById(request.params.id));
    if (!row || !canSee(request, row.accountId)) throw notFound('pool', request.params.id);
    return await store.run(poolReport(row, now()));
  });

  // -------- snippet settings
  function settingsDto(row: AccountRow) {
    const base = recordings.publicBaseUrl.replace(/\/+$/, '');
    return {
      accountId: row.id,
      publicKey: row.publicKey,
      allowedDomains: allowedDomainsOf(row),
      attributionModel: row.attributionModel,
      attributionWindowDays: row.attributionWindowDays,
      scriptTag: row.publicKey ? `<script async src="${base}/snippet.js" data-key="${row.publicKey}"></script>` : null,
    };
  }

  app.get<{ Params: IdParams }>('/accounts/:id/snippet', { config: read, schema: { params: idParams, response: { 200: snippetSettingsDto } } }, async (request) => {
    const row = await store.run(getAccount(request.params.id));
    if (!row || !canSee(request, row.id)) throw notFound('account', request.params.id);
    return settingsDto(row);
  });

  app.patch<{ Params: IdParams; Body: SnippetSettingsBody }>(
    '/accounts/:id/snippet',
    {
      config: write,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: {
            allowedDomains: { type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', maxLength: 253, pattern: ALLOWED_DOMAIN_PATTERN } },
            attributionModel: { type: 'string', enum: [...ATTRIBUTION_MODELS] },
            attributionWindowDays: { type: 'integer', minimum: 1, maximum: 365 },
          },
        },
        response: { 200: snippetSettingsDto },
      },
    },
    async (request) => {
      if (!canSee(request, request.params.id)) throw notFound('account', request.params.id);
      const b = request.body;
      const patch = {
        ...b,
        ...(b.allowedDomains === undefined ? {} : { allowedDomains: b.allowedDomains.map((d) => d.toLowerCase()) }),
      };
      const row = await store.run(updateSnippetSettings(request.params.id, patch, now()));
      if (!row) throw notFound('account', request.params.id);
      return settingsDto(row);
    },
  );

  // Generates the key, or replaces it (a leaked key on another site: the old tag stops working).
  app.post<{ Params: IdParams }>('/accounts/:id/snippet/key', { config: write, schema: { params: idParams, response: { 200: snippetSettingsDto } } }, async (request) => {
    if (!canSee(request, request.params.id)) throw notFound('account', request.params.id);
    const row = await store.run(updateSnippetSettings(request.params.id, { publicKey: newPublicKey() }, now()));
    if (!row) throw notFound('account', request.params.id);
    return settingsDto(row);
  });
}
