import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { eventView, isRestrictedCall } from '../../events/eventView.js';
import { allowedNetworkList, checkDeliveryAddress } from '../../integrations/webhooks/deliveryAddress.js';
import { isoOrNull, iso } from '../../isoTime.js';
import { accountEventsBetween, eventsAfter, findEventByUid } from '../../persistence/eventRepository.js';
import { EVENT_TYPES, WEBHOOK_DELIVERY_STATUSES, type EventType, type WebhookDeliveryStatus, type WebhookEndpointRow } from '../../persistence/schema.js';
import {
  ALL_EVENT_TYPES,
  createEndpoint,
  deleteEndpoint,
  deliveryLog,
  getEndpoint,
  listEndpoints,
  queueRedelivery,
  rotateEndpointSecret,
  updateEndpoint,
  type DeliveryLogEntry,
  type EndpointChange,
} from '../../persistence/webhookRepository.js';
import { accountFilterQuery, idParams, listResponse, nullableIsoTime, nullableString, parseIsoTime, type IdParams } from '../apiSchemas.js';
import { canSee, canSeeRow, requestedAccounts } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

/** Redelivery of a time range queues at most this many events (ask again for the rest). */
export const REDELIVERY_MAX_EVENTS = 10_000;
/** How long the previous secret keeps signing after a rotation, unless the request says otherwise. */
const DEFAULT_PREVIOUS_SECRET_SECONDS = 24 * 3600;

const eventTypesSchema = {
  type: 'array',
  minItems: 1,
  maxItems: EVENT_TYPES.length + 1,
  uniqueItems: true,
  items: { type: 'string', enum: [ALL_EVENT_TYPES, ...EVENT_TYPES] },
} as const;

const endpointDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    url: { type: 'string' },
    description: { type: ['string', 'null'] },
    eventTypes: { type: 'array', items: { type: 'string' } },
    enabled: { type: 'boolean' },
    /** Why callroute disabled it (deliveries kept failing, the address was refused); null otherwise. */
    disabledReason: { type: ['string', 'null'] },
    disabledAt: nullableIsoTime,
    /** While set, deliveries carry a second signature made with the previous secret. */
    previousSecretExpiresAt: nullableIsoTime,
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    /** Only in the answers that create or rotate it: store it, it is not shown again. */
    secret: { type: 'string' },
  },
} as const;

function toEndpointDto(e: WebhookEndpointRow, now: number, withSecret = false) {
  return {
    id: e.id,
    accountId: e.accountId,
    url: e.url,
    description: e.description,
    eventTypes: JSON.parse(e.eventTypes) as string[],
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    disabledAt: isoOrNull(e.disabledAt),
    previousSecretExpiresAt: e.previousSecretExpiresAt !== null && e.previousSecretExpiresAt > now ? iso(e.previousSecretExpiresAt) : null,
    createdAt: iso(e.createdAt),
    updatedAt: iso(e.updatedAt),
    ...(withSecret ? { secret: e.secret } : {}),
  };
}

const deliveryDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    eventId: { type: 'string' },
    eventType: { type: 'string' },
    occurredAt: { type: 'string' },
    status: { type: 'string' },
    attempts: { type: 'integer' },
    nextAttemptAt: nullableIsoTime,
    deliveredAt: nullableIsoTime,
    giveUpAt: { type: 'string' },
    lastStatusCode: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    redelivery: { type: 'boolean' },
    log: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          at: { type: 'string' },
          statusCode: { type: ['integer', 'null'] },
          latencyMs: { type: 'integer' },
          error: { type: ['string', 'null'] },
          responseExcerpt: { type: ['string', 'null'] },
        },
      },
    },
  },
} as const;

function toDeliveryDto({ delivery: d, event, attempts }: DeliveryLogEntry) {
  return {
    id: d.id,
    eventId: event.uid,
    eventType: event.type,
    occurredAt: iso(event.occurredAt),
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    deliveredAt: isoOrNull(d.deliveredAt),
    giveUpAt: iso(d.giveUpAt),
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    redelivery: d.redelivery,
    log: attempts.map((a) => ({ at: iso(a.at), statusCode: a.statusCode, latencyMs: a.latencyMs, error: a.error, responseExcerpt: a.responseExcerpt })),
  };
}

/** A signing secret: 32 random bytes, prefixed so it is recognised when pasted in the wrong place. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

interface EndpointBody {
  accountId: number;
  url: string;
  description?: string | null;
  eventTypes: Array<EventType | typeof ALL_EVENT_TYPES>;
  enabled?: boolean;
}

/**
 * Webhook endpoints of an account (integrations:manage): where its events are POSTed, signed.
 * The URL is checked when saved and again at every delivery (its name may come to resolve
 * elsewhere): https to public addresses; http, private, loopback or link-local only inside
 * WEBHOOK_ALLOWED_NETWORKS.
 */
export function webhookRoutes(app: FastifyInstance, { store, now, webhooks }: RouteDeps): void {
  const allowed = allowedNetworkList(webhooks.allowedNetworks);

  async function checkedUrl(raw: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new CallrouteError('CR_ERR_VALIDATION', 'body.url is not a URL', { field: 'body.url' });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new CallrouteError('CR_ERR_VALIDATION', 'body.url must be https (or http to an allowed network)', { field: 'body.url' });
    }
    if (url.username || url.password) {
      throw new CallrouteError('CR_ERR_VALIDATION', 'body.url must not carry credentials: deliveries are signed instead', { field: 'body.url' });
    }
    const target = await checkDeliveryAddress(url, allowed);
    if (!target.ok) throw new CallrouteError('CR_ERR_WEBHOOK_ADDRESS_REFUSED', `body.url refused: ${target.reason}`, { field: 'body.url' });
    // Plain http only where the operator allowed the network (a receiver on the box or the LAN).
    if (url.protocol === 'http:' && !allowed.check(target.address, target.family === 4 ? 'ipv4' : 'ipv6')) {
      throw new CallrouteError('CR_ERR_VALIDATION', 'body.url must be https: plain http only to an address in WEBHOOK_ALLOWED_NETWORKS', { field: 'body.url' });
    }
    return url.toString();
  }

  async function endpointOf(request: FastifyRequest, id: number): Promise<WebhookEndpointRow> {
    const e = await store.run(getEndpoint(id));
    if (!e || !canSee(request, e.accountId)) throw new CallrouteError('CR_ERR_NOT_FOUND', `webhook endpoint ${id} not found`, { field: 'params.id' });
    return e;
  }

  app.get<{ Querystring: { accountId?: number } }>(
    '/webhooks',
    { config: { permission: 'integrations:manage' }, schema: { querystring: accountFilterQuery, response: { 200: listResponse('endpoints', endpointDto) } } },
    async (request) => ({ endpoints: (await store.run(listEndpoints(requestedAccounts(request, request.query.accountId)))).map((e) => toEndpointDto(e, now())) }),
  );

  app.post<{ Body: EndpointBody }>(
    '/webhooks',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'url', 'eventTypes'],
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            url: { type: 'string', minLength: 8, maxLength: 2000 },
            description: nullableString(500),
            eventTypes: eventTypesSchema,
            enabled: { type: 'boolean' },
          },
        },
        response: { 201: endpointDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const accountId = await scopedAccount(store, request, b.accountId, 'body.accountId');
      const url = await checkedUrl(b.url);
      const row = await store.run(createEndpoint({ accountId, url, description: b.description ?? null, eventTypes: b.eventTypes, secret: newSecret(), enabled: b.enabled ?? true }, now()));
      return reply.code(201).send(toEndpointDto(row, now(), true));
    },
  );

  app.get<{ Params: IdParams }>(
    '/webhooks/:id',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams, response: { 200: endpointDto } } },
    async (request) => toEndpointDto(await endpointOf(request, request.params.id), now()),
  );

  app.patch<{ Params: IdParams; Body: Partial<Omit<EndpointBody, 'accountId'>> }>(
    '/webhooks/:id',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { url: { type: 'string', minLength: 8, maxLength: 2000 }, description: nullableString(500), eventTypes: eventTypesSchema, enabled: { type: 'boolean' } },
        },
        response: { 200: endpointDto },
      },
    },
    async (request) => {
      await endpointOf(request, request.params.id);
      const b = request.body;
      const change: EndpointChange = {};
      if (b.url !== undefined) change.url = await checkedUrl(b.url);
      if (b.description !== undefined) change.description = b.description;
      if (b.eventTypes !== undefined) change.eventTypes = b.eventTypes;
      if (b.enabled !== undefined) change.enabled = b.enabled;
      const row = await store.run(updateEndpoint(request.params.id, change, now()));
      if (!row) throw new CallrouteError('CR_ERR_NOT_FOUND', `webhook endpoint ${request.params.id} not found`, { field: 'params.id' });
      return toEndpointDto(row, now());
    },
  );

  app.delete<{ Params: IdParams }>(
    '/webhooks/:id',
    { config: { permission: 'integrations:manage' }, schema: { params: idParams } },
    async (request, reply) => {
      await endpointOf(request, request.params.id);
      await store.run(deleteEndpoint(request.params.id));
      return reply.code(204).send();
    },
  );

  app.post<{ Params: IdParams; Body: { previousSecretValidSeconds?: number } }>(
    '/webhooks/:id/rotate-secret',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        body: { type: ['object', 'null'], additionalProperties: false, properties: { previousSecretValidSeconds: { type: 'integer', minimum: 0, maximum: 7 * 24 * 3600 } } },
        response: { 200: endpointDto },
      },
    },
    async (request) => {
      await endpointOf(request, request.params.id);
      const keep = request.body?.previousSecretValidSeconds ?? DEFAULT_PREVIOUS_SECRET_SECONDS;
      const row = await store.run(rotateEndpointSecret(request.params.id, newSecret(), now() + keep * 1000, now()));
      if (!row) throw new CallrouteError('CR_ERR_NOT_FOUND', `webhook endpoint ${request.params.id} not found`, { field: 'params.id' });
      return toEndpointDto(row, now(), true);
    },
  );

  app.get<{ Params: IdParams; Querystring: { status?: WebhookDeliveryStatus; before?: number; limit: number } }>(
    '/webhooks/:id/deliveries',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: [...WEBHOOK_DELIVERY_STATUSES] },
            before: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: { 200: listResponse('deliveries', deliveryDto) },
      },
    },
    async (request) => {
      await endpointOf(request, request.params.id);
      const q = request.query;
      const entries = await store.run(deliveryLog(request.params.id, { limit: q.limit, ...(q.status ? { status: q.status } : {}), ...(q.before ? { before: q.before } : {}) }));
      return { deliveries: entries.map(toDeliveryDto) };
    },
  );

  app.post<{ Params: IdParams; Body: { eventId?: string; from?: string; to?: string } }>(
    '/webhooks/:id/redeliver',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            eventId: { type: 'string', pattern: '^[0-9a-f]{32}$' },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
          },
        },
        response: { 202: { type: 'object', additionalProperties: false, properties: { queued: { type: 'integer' } } } },
      },
    },
    async (request, reply) => {
      const endpoint = await endpointOf(request, request.params.id);
      const b = request.body;
      const retryMs = webhooks.retryHours * 3_600_000;
      let batch;
      if (b.eventId !== undefined) {
        if (b.from !== undefined || b.to !== undefined) throw new CallrouteError('CR_ERR_VALIDATION', 'body.eventId or body.from/to, not both', { field: 'body.eventId' });
        const e = await store.run(findEventByUid(b.eventId));
        if (!e || e.accountId !== endpoint.accountId) throw new CallrouteError('CR_ERR_NOT_FOUND', `event ${b.eventId} not found`, { field: 'body.eventId' });
        batch = [e];
      } else {
        const from = parseIsoTime(b.from, 'body.from');
        const to = parseIsoTime(b.to, 'body.to');
        if (from === undefined || to === undefined) throw new CallrouteError('CR_ERR_VALIDATION', 'body.eventId, or body.from and body.to, is required', { field: b.from === undefined ? 'body.from' : 'body.to' });
        if (from > to) throw new CallrouteError('CR_ERR_VALIDATION', 'body.from must not be after body.to', { field: 'body.from' });
        batch = await store.run(accountEventsBetween(endpoint.accountId, from, to, REDELIVERY_MAX_EVENTS));
      }
      const queued = await store.run(queueRedelivery(endpoint, batch, now(), retryMs), { transaction: true });
      webhooks.poke?.();
      return reply.code(202).send({ queued });
    },
  );

  // The stream itself, for consumers that poll, and to see what a webhook would carry.
  app.get<{ Querystring: { accountId?: number; after?: number; limit: number } }>(
    '/events',
    {
      config: { permission: 'integrations:manage' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            /** The `seq` of the last event already read. */
            after: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
      },
    },
    async (request) => {
      const q = request.query;
      const rows = await store.run(eventsAfter(q.after ?? 0, q.limit, requestedAccounts(request, q.accountId)));
      const views = rows.map((e) => ({ seq: e.id, ...eventView(e) }));
      // A restricted caller's calls, as in /v1/calls: only who handles privacy in the account sees them.
      const shown = views.filter((v) => !isRestrictedCall(v) || canSeeRow(request, { accountId: v.accountId, restricted: true }));
      return { events: shown, nextAfter: rows[rows.length - 1]?.id ?? q.after ?? 0 };
    },
  );
}
