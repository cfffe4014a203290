import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAnnouncement } from '../../persistence/announcementRepository.js';
import { poolById } from '../../persistence/visitorSessions.js';
import {
  ANNOUNCEMENT_MODES,
  RECORDING_CHANNELS,
  type AnnouncementMode,
  type RecordingChannels,
  type TrackingNumberRow,
} from '../../persistence/schema.js';
import {
  createTrackingNumber,
  getTrackingNumber,
  trackingNumbersOf,
  setTrackingNumberEnabled,
  updateTrackingNumber,
  type TrackingNumberPatch,
} from '../../persistence/trackingNumberRepository.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { loadAllowlist } from '../../persistence/dialAllowlistRepository.js';
import { getRoutePlanRow } from '../../persistence/routePlanRepository.js';
import { checkDialTarget } from '../../routing/dialAllowlist.js';
import { idParams, iso, isoTime, nullableString, type IdParams, accountFilterQuery, listResponse } from '../apiSchemas.js';
import { inRequestPart } from '../errorHandler.js';
import { normalizeDestination } from '../normalizeDestination.js';
import { canSee, visibleRows } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

const nullableStr = { type: ['string', 'null'] } as const;

const trackingNumberDto = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'accountId',
    'did',
    'label',
    'destination',
    'ringTimeoutSeconds',
    'enabled',
    'source',
    'medium',
    'campaign',
    'recordingEnabled',
    'recordingChannels',
    'announcement',
    'announcementId',
    'poolId',
    'routePlanId',
    'maxConcurrentCalls',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    did: { type: 'string' },
    label: nullableStr,
    destination: { type: 'string' },
    ringTimeoutSeconds: { type: 'integer' },
    enabled: { type: 'boolean' },
    source: nullableStr,
    medium: nullableStr,
    campaign: nullableStr,
    recordingEnabled: { type: 'boolean' },
    recordingChannels: { type: 'string' },
    announcement: { type: 'string' },
    announcementId: { type: ['integer', 'null'] },
    /** The visitor-level pool the number belongs to (PATCH poolId to add or remove it). */
    poolId: { type: ['integer', 'null'] },
    routePlanId: { type: ['integer', 'null'] },
    maxConcurrentCalls: { type: ['integer', 'null'] },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

const writable = {
  accountId: { type: 'integer', minimum: 1 },
  did: { type: 'string', minLength: 1, maxLength: 64 },
  destination: { type: 'string', minLength: 1, maxLength: 256 },
  label: nullableString(200),
  ringTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 300 },
  enabled: { type: 'boolean' },
  source: nullableString(200),
  medium: nullableString(200),
  campaign: nullableString(200),
  recordingEnabled: { type: 'boolean' },
  /** mixed: both parties in one file; dual: caller left, answering party right. */
  recordingChannels: { type: 'string', enum: [...RECORDING_CHANNELS] },
  /** none | default (ships with callroute) | custom (announcementId). */
  announcement: { type: 'string', enum: [...ANNOUNCEMENT_MODES] },
  announcementId: { type: ['integer', 'null'], minimum: 1 },
  poolId: { type: ['integer', 'null'], minimum: 1 },
  /** Calls follow this route plan (same account); null: ring `destination`. */
  routePlanId: { type: ['integer', 'null'], minimum: 1 },
  /** More concurrent calls than this get busy (486); null: no cap. */
  maxConcurrentCalls: { type: ['integer', 'null'], minimum: 1, maximum: 10000 },
} as const;

interface CreateBody {
  accountId: number;
  did: string;
  destination: string;
  label?: string | null;
  ringTimeoutSeconds: number;
  enabled: boolean;
  source?: string | null;
  medium?: string | null;
  campaign?: string | null;
  recordingEnabled: boolean;
  recordingChannels: RecordingChannels;
  announcement: AnnouncementMode;
  announcementId?: number | null;
  poolId?: number | null;
  routePlanId?: number | null;
  maxConcurrentCalls?: number | null;
}

type PatchBody = Partial<CreateBody>;

export function toTrackingNumberDto(row: TrackingNumberRow) {
  return {
    id: row.id,
    accountId: row.accountId,
    did: row.did,
    label: row.label,
    destination: row.destination,
    ringTimeoutSeconds: row.ringTimeoutSeconds,
    enabled: row.enabled,
    source: row.source,
    medium: row.medium,
    campaign: row.campaign,
    recordingEnabled: row.recordingEnabled,
    recordingChannels: row.recordingChannels,
    announcement: row.announcement,
    announcementId: row.announcementId,
    poolId: row.poolId,
    routePlanId: row.routePlanId,
    maxConcurrentCalls: row.maxConcurrentCalls,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

function notFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `tracking number ${id} not found`, { field: 'params.id' });
}

export function trackingNumberRoutes(app: FastifyInstance, { store, defaultCountryCode }: RouteDeps): void {
  function did(raw: string): string {
    const e164 = normalizeNumber(raw, defaultCountryCode);
    if (!e164) {
      throw new CallrouteError('CR_ERR_INVALID_NUMBER', `body.did is not a valid phone number: ${raw}`, {
        field: 'body.did',
      });
    }
    return e164;
  }

  async function destination(raw: string): Promise<string> {
    const value = normalizeDestination(raw, defaultCountryCode);
    if (!value) {
      throw new CallrouteError(
        'CR_ERR_VALIDATION',
        'body.destination must be an E.164 number or a sip:user@host[:port] URI',
        { field: 'body.destination' },
      );
    }
    // Toll-fraud guard: the same allowlist as route plans (empty: the default country code only).
    const check = checkDialTarget(value, await store.run(loadAllowlist()), { defaultCountryCode });
    if (!check.ok) {
      const code = check.reason === 'invalid' ? 'CR_ERR_VALIDATION' : 'CR_ERR_DESTINATION_NOT_ALLOWED';
      throw new CallrouteError(code, `body.destination: ${check.message}`, { field: 'body.destination' });
    }
    return value;
  }

  /** A route plan the number may follow: an existing plan of the number's account, or null. */
  async function routePlanIdFor(id: number | null | undefined, accountId: number): Promise<number | null> {
    if (id === undefined || id === null) return null;
    const field = 'body.routePlanId';
    const plan = await store.run(getRoutePlanRow(id));
    if (!plan) throw new CallrouteError('CR_ERR_VALIDATION', `route plan ${id} does not exist`, { field });
    if (plan.accountId !== accountId) {
      throw new CallrouteError('CR_ERR_VALIDATION', `route plan ${id} belongs to another account`, { field });
    }
    return id;
  }

  const read = { permission: 'configuration:read' } as const;
  const write = { permission: 'configuration:write' } as const;

  /** The number, if the request may see it (another tenant's number is a 404, like a missing one). */
  async function visibleNumber(request: FastifyRequest, id: number): Promise<TrackingNumberRow> {
    const row = await store.run(getTrackingNumber(id));
    if (!row || !canSee(request, row.accountId)) throw notFound(id);
    return row;
  }

  /**
   * The announcement id a number stores: required with 'custom' and then an existing announcement that
   * is global or of the number's account; not allowed with any other mode (stored as null).
   */
  async function announcementIdFor(mode: AnnouncementMode, id: number | null | undefined, accountId: number): Promise<number | null> {
    const field = 'body.announcementId';
    if (mode !== 'custom') {
      if (id !== undefined && id !== null) {
        throw new CallrouteError('CR_ERR_VALIDATION', `${field} is only allowed when body.announcement is 'custom'`, { field });
      }
      return null;
    }
    if (id === undefined || id === null) {
      throw new CallrouteError('CR_ERR_VALIDATION', `${field} is required when body.announcement is 'custom'`, { field });
    }
    const row = await store.run(getAnnouncement(id));
    if (!row) throw new CallrouteError('CR_ERR_VALIDATION', `announcement ${id} does not exist`, { field });
    if (row.accountId !== null && row.accountId !== accountId) {
      throw new CallrouteError('CR_ERR_VALIDATION', `announcement ${id} belongs to another account`, { field });
    }
    return id;
  }

  /** A pool of the number's account (a pool number shows on other accounts' sites otherwise). */
  async function poolIdFor(poolId: number | null | undefined, accountId: number): Promise<number | null> {
    if (poolId === undefined || poolId === null) return null;
    const pool = await store.run(poolById(poolId));
    const field = 'body.poolId';
    if (!pool) throw new CallrouteError('CR_ERR_VALIDATION', `pool ${poolId} does not exist`, { field });
    if (pool.accountId !== accountId) throw new CallrouteError('CR_ERR_VALIDATION', `pool ${poolId} belongs to another account`, { field });
    return poolId;
  }

  app.post<{ Body: CreateBody }>(
    '/tracking-numbers',
    {
      config: write,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'did', 'destination'],
          properties: {
            ...writable,
            ringTimeoutSeconds: { ...writable.ringTimeoutSeconds, default: 30 },
            enabled: { ...writable.enabled, default: true },
            recordingEnabled: { ...writable.recordingEnabled, default: true },
            recordingChannels: { ...writable.recordingChannels, default: 'mixed' },
            announcement: { ...writable.announcement, default: 'none' },
          },
        },
        response: { 201: trackingNumberDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const input = {
        // Checked before writing for a clear 400; the foreign key still guards the write itself.
        accountId: await scopedAccount(store, request, b.accountId, 'body.accountId'),
        did: did(b.did),
        destination: await destination(b.destination),
        label: b.label ?? null,
        ringTimeoutSeconds: b.ringTimeoutSeconds,
        enabled: b.enabled,
        source: b.source ?? null,
        medium: b.medium ?? null,
        campaign: b.campaign ?? null,
        recordingEnabled: b.recordingEnabled,
        recordingChannels: b.recordingChannels,
        announcement: b.announcement,
        announcementId: await announcementIdFor(b.announcement, b.announcementId, b.accountId),
        poolId: await poolIdFor(b.poolId, b.accountId),
        routePlanId: await routePlanIdFor(b.routePlanId, b.accountId),
        maxConcurrentCalls: b.maxConcurrentCalls ?? null,
      };
      const row = await inRequestPart('body', () => store.run(createTrackingNumber(input)));
      return reply.code(201).send(toTrackingNumberDto(row));
    },
  );

  app.get<{ Querystring: { accountId?: number } }>(
    '/tracking-numbers',
    {
      config: read,
      schema: {
        querystring: accountFilterQuery,
        response: {
          200: listResponse('trackingNumbers', trackingNumberDto),
        },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      const rows = await store.run(trackingNumbersOf(accountId === undefined ? {} : { accountId }));
      return { trackingNumbers: visibleRows(request, rows).map(toTrackingNumberDto) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/tracking-numbers/:id',
    { config: read, schema: { params: idParams, response: { 200: trackingNumberDto } } },
    async (request) => toTrackingNumberDto(await visibleNumber(request, request.params.id)),
  );

  app.patch<{ Params: IdParams; Body: PatchBody }>(
    '/tracking-numbers/:id',
    {
      config: write,
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: writable },
        response: { 200: trackingNumberDto },
      },
    },
    async (request) => {
      const current = await visibleNumber(request, request.params.id);
      const b = request.body;
      const patch: TrackingNumberPatch = {};
      if (b.accountId !== undefined) patch.accountId = await scopedAccount(store, request, b.accountId, 'body.accountId');
      if (b.did !== undefined) patch.did = did(b.did);
      if (b.destination !== undefined) patch.destination = await destination(b.destination);
      if (b.ringTimeoutSeconds !== undefined) patch.ringTimeoutSeconds = b.ringTimeoutSeconds;
      if (b.enabled !== undefined) patch.enabled = b.enabled;
      if (b.label !== undefined) patch.label = b.label;
      if (b.source !== undefined) patch.source = b.source;
      if (b.medium !== undefined) patch.medium = b.medium;
      if (b.campaign !== undefined) patch.campaign = b.campaign;
      if (b.recordingEnabled !== undefined) patch.recordingEnabled = b.recordingEnabled;
      if (b.recordingChannels !== undefined) patch.recordingChannels = b.recordingChannels;
      if (b.announcement !== undefined || b.announcementId !== undefined || b.accountId !== undefined) {
        const mode = b.announcement ?? current.announcement;
        // Switching away from 'custom' drops the id; otherwise an id not given stays as it was.
        const id = b.announcementId !== undefined ? b.announcementId : mode === 'custom' ? current.announcementId : null;
        patch.announcement = mode;
        patch.announcementId = await announcementIdFor(mode, id, patch.accountId ?? current.accountId);
      }
      if (b.maxConcurrentCalls !== undefined) patch.maxConcurrentCalls = b.maxConcurrentCalls;
      if (b.routePlanId !== undefined || b.accountId !== undefined) {
        // Moving a number to another account must not leave it on the old account's plan.
        const planId = b.routePlanId !== undefined ? b.routePlanId : current.routePlanId;
        patch.routePlanId = await routePlanIdFor(planId, patch.accountId ?? current.accountId);
      }
      if (b.poolId !== undefined || b.accountId !== undefined) {
        // Moving a number to another account takes it out of its pool unless a pool is given.
        const poolId = b.poolId !== undefined ? b.poolId : b.accountId === current.accountId ? current.poolId : null;
        patch.poolId = await poolIdFor(poolId, patch.accountId ?? current.accountId);
      }
      const row = await inRequestPart('body', () => store.run(updateTrackingNumber(request.params.id, patch)));
      if (!row) throw notFound(request.params.id);
      return toTrackingNumberDto(row);
    },
  );

  for (const action of ['disable', 'enable'] as const) {
    app.post<{ Params: IdParams }>(
      `/tracking-numbers/:id/${action}`,
      { config: write, schema: { params: idParams, response: { 200: trackingNumberDto } } },
      async (request) => {
        await visibleNumber(request, request.params.id);
        const row = await store.run(setTrackingNumberEnabled(request.params.id, action === 'enable'));
        if (!row) throw notFound(request.params.id);
        return toTrackingNumberDto(row);
      },
    );
  }
}
