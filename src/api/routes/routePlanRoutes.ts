import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAnnouncement } from '../../persistence/announcementRepository.js';
import { loadAllowlist } from '../../persistence/dialAllowlistRepository.js';
import {
  createRoutePlan,
  deleteRoutePlan,
  getRoutePlanRow,
  listRoutePlans,
  toRoutePlan,
  trackingNumbersUsingPlan,
  updateRoutePlan,
} from '../../persistence/routePlanRepository.js';
import type { RoutePlanRow } from '../../persistence/schema.js';
import { RING_STRATEGIES, WEEKDAYS, type CallerIdMode, type RoutePlanDefinition } from '../../routing/routePlan/types.js';
import { validateRoutePlan, type PlanIssue } from '../../routing/routePlan/validateRoutePlan.js';
import { idParams, iso, isoTime, type IdParams, accountFilterQuery, listResponse } from '../apiSchemas.js';
import { normalizeDestination } from '../normalizeDestination.js';
import { canSee, visibleRows } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

/** SIP responses a plan may end with when every step failed. */
export const FINAL_SIP_CODES = [403, 404, 410, 480, 486, 503, 603] as const;

const destinationSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['target'],
  properties: {
    target: { type: 'string', minLength: 1, maxLength: 256 },
    weight: { type: 'integer', minimum: 1, maximum: 100 },
    ringTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 300 },
  },
} as const;

const stepSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'strategy', 'destinations'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9 _.-]*$' },
    strategy: { type: 'string', enum: [...RING_STRATEGIES] },
    destinations: { type: 'array', minItems: 1, maxItems: 20, items: destinationSchema },
    ringTimeoutSeconds: { type: 'integer', minimum: 5, maximum: 300, default: 30 },
  },
} as const;

const intervalSchema = {
  type: 'array',
  minItems: 2,
  maxItems: 2,
  items: { type: 'string', maxLength: 5 },
} as const;

const scheduleSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['open'],
  properties: {
    open: {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(WEEKDAYS.map((d) => [d, { type: 'array', maxItems: 12, items: intervalSchema }])),
    },
    closedDates: { type: 'array', maxItems: 366, items: { type: 'string', maxLength: 10 }, default: [] },
    afterHoursStep: { type: ['string', 'null'], maxLength: 64, default: null },
  },
} as const;

const whisperSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['sound'],
  properties: {
    sound: { type: 'string', enum: ['default', 'custom'] },
    announcementId: { type: 'integer', minimum: 1 },
    text: { type: 'string', maxLength: 200 },
  },
} as const;

const finalSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: {
    kind: { type: 'string', enum: ['voicemail', 'reject'] },
    /** voicemail: 'default' or an announcement id. */
    greeting: { anyOf: [{ type: 'string', enum: ['default'] }, { type: 'integer', minimum: 1 }] },
    /** reject: the SIP response. */
    sipCode: { type: 'integer', enum: [...FINAL_SIP_CODES] },
  },
} as const;

const planFields = {
  name: { type: 'string', minLength: 1, maxLength: 200 },
  timeZone: { type: 'string', minLength: 1, maxLength: 64 },
  callerIdMode: { type: 'string', enum: ['caller', 'tracking'] },
  steps: { type: 'array', minItems: 1, maxItems: 10, items: stepSchema },
  schedule: scheduleSchema,
  whisper: whisperSchema,
  screening: { type: 'boolean' },
  final: finalSchema,
} as const;

/** The fields of a whole plan (create, replace), with what an omitted one means. */
const planFieldsWithDefaults = {
  ...planFields,
  callerIdMode: { ...planFields.callerIdMode, default: 'caller' },
  schedule: { ...planFields.schedule, default: null },
  whisper: { ...planFields.whisper, default: null },
  screening: { ...planFields.screening, default: false },
  final: { ...planFields.final, default: { kind: 'voicemail', greeting: 'default' } },
};

const anyObject = { type: 'object', additionalProperties: true } as const;

const routePlanDto = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id',
    'accountId',
    'name',
    'timeZone',
    'callerIdMode',
    'steps',
    'schedule',
    'whisper',
    'screening',
    'final',
    'trackingNumberIds',
    'createdAt',
    'updatedAt',
  ],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    name: { type: 'string' },
    timeZone: { type: 'string' },
    callerIdMode: { type: 'string' },
    steps: { type: 'array', items: anyObject },
    schedule: { type: ['object', 'null'], additionalProperties: true },
    whisper: { type: ['object', 'null'], additionalProperties: true },
    screening: { type: 'boolean' },
    final: anyObject,
    /** Tracking numbers whose calls follow this plan. */
    trackingNumberIds: { type: 'array', items: { type: 'integer' } },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

interface FinalBody {
  kind: 'voicemail' | 'reject';
  greeting?: 'default' | number;
  sipCode?: number;
}

interface PlanBody {
  name: string;
  timeZone: string;
  callerIdMode: CallerIdMode;
  steps: RoutePlanDefinition['steps'];
  schedule: RoutePlanDefinition['schedule'];
  whisper: RoutePlanDefinition['whisper'];
  screening: boolean;
  final: FinalBody;
}

interface CreateBody extends PlanBody {
  accountId: number;
}

function notFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `route plan ${id} not found`, { field: 'params.id' });
}

/** One error for every issue: the first names the field, the message lists them all (up to five). */
function issuesError(issues: readonly PlanIssue[]): CallrouteError {
  const first = issues[0];
  if (!first) return new CallrouteError('CR_ERR_VALIDATION');
  const shown = issues.slice(0, 5).map((i) => `body.${i.message}`);
  const more = issues.length > 5 ? `; and ${issues.length - 5} more` : '';
  const code = first.kind === 'not-allowed' ? 'CR_ERR_DESTINATION_NOT_ALLOWED' : 'CR_ERR_VALIDATION';
  return new CallrouteError(code, shown.join('; ') + more, { field: `body.${first.field}` });
}

export function toRoutePlanDto(row: RoutePlanRow, trackingNumberIds: number[]) {
  const plan = toRoutePlan(row);
  return {
    id: plan.id,
    accountId: plan.accountId,
    name: plan.name,
    timeZone: plan.timeZone,
    callerIdMode: plan.callerIdMode,
    steps: plan.steps,
    schedule: plan.schedule,
    whisper: plan.whisper,
    screening: plan.screening,
    final: plan.final,
    trackingNumberIds,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

/**
 * Route plans (configuration:read / configuration:write, in the plan's account). Every write validates the whole plan (validateRoutePlan) against the
 * current dial allowlist, so a premium-rate or not-allowed destination is never stored.
 */
export function routePlanRoutes(app: FastifyInstance, { store, defaultCountryCode, now }: RouteDeps): void {
  const read = { permission: 'configuration:read' } as const;
  const write = { permission: 'configuration:write' } as const;

  /** The plan, if the request may see it (another tenant's plan is a 404, like a missing one). */
  async function visiblePlan(request: FastifyRequest, id: number): Promise<RoutePlanRow> {
    const row = await store.run(getRoutePlanRow(id));
    if (!row || !canSee(request, row.accountId)) throw notFound(id);
    return row;
  }

  /** An announcement the plan may play: global or of the plan's account. */
  async function announcement(id: number, accountId: number, field: string): Promise<number> {
    const row = await store.run(getAnnouncement(id));
    if (!row) throw new CallrouteError('CR_ERR_VALIDATION', `${field}: announcement ${id} does not exist`, { field });
    if (row.accountId !== null && row.accountId !== accountId) {
      throw new CallrouteError('CR_ERR_VALIDATION', `${field}: announcement ${id} belongs to another account`, { field });
    }
    return id;
  }

  async function finalOf(b: FinalBody, accountId: number): Promise<RoutePlanDefinition['final']> {
    if (b.kind === 'voicemail') {
      if (b.sipCode !== undefined) {
        throw new CallrouteError('CR_ERR_VALIDATION', "body.final.sipCode is only allowed when body.final.kind is 'reject'", { field: 'body.final.sipCode' });
      }
      const greeting = b.greeting ?? 'default';
      return { kind: 'voicemail', greeting: greeting === 'default' ? 'default' : await announcement(greeting, accountId, 'body.final.greeting') };
    }
    if (b.greeting !== undefined) {
      throw new CallrouteError('CR_ERR_VALIDATION', "body.final.greeting is only allowed when body.final.kind is 'voicemail'", { field: 'body.final.greeting' });
    }
    if (b.sipCode === undefined) {
      throw new CallrouteError('CR_ERR_VALIDATION', "body.final.sipCode is required when body.final.kind is 'reject'", { field: 'body.final.sipCode' });
    }
    return { kind: 'reject', sipCode: b.sipCode };
  }

  /** The validated plan ready to store, or a 400 that says what is wrong and where. */
  async function checked(b: PlanBody, accountId: number) {
    const { issues, plan } = validateRoutePlan(
      {
        timeZone: b.timeZone,
        steps: b.steps,
        schedule: b.schedule,
        whisper: b.whisper,
        screening: b.screening,
        final: await finalOf(b.final, accountId),
      },
      {
        allowlist: await store.run(loadAllowlist()),
        defaultCountryCode,
        normalizeTarget: (raw) => normalizeDestination(raw, defaultCountryCode),
      },
    );
    if (issues.length > 0) throw issuesError(issues);
    if (plan.whisper?.announcementId !== undefined) await announcement(plan.whisper.announcementId, accountId, 'body.whisper.announcementId');
    const definition: RoutePlanDefinition = {
      steps: plan.steps,
      schedule: plan.schedule,
      whisper: plan.whisper,
      screening: plan.screening,
      final: plan.final,
    };
    return { name: b.name, timeZone: plan.timeZone, callerIdMode: b.callerIdMode, definition };
  }

  app.post<{ Body: CreateBody }>(
    '/route-plans',
    {
      config: write,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['accountId', 'name', 'timeZone', 'steps'],
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            ...planFieldsWithDefaults,
          },
        },
        response: { 201: routePlanDto },
      },
    },
    async (request, reply) => {
      const b = request.body;
      await scopedAccount(store, request, b.accountId, 'body.accountId');
      const row = await store.run(createRoutePlan({ accountId: b.accountId, ...(await checked(b, b.accountId)) }, now()));
      return reply.code(201).send(toRoutePlanDto(row, []));
    },
  );

  app.get<{ Querystring: { accountId?: number } }>(
    '/route-plans',
    {
      config: read,
      schema: {
        querystring: accountFilterQuery,
        response: {
          200: listResponse('routePlans', routePlanDto),
        },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      const rows = await store.run(listRoutePlans(accountId === undefined ? {} : { accountId }));
      return { routePlans: await Promise.all(visibleRows(request, rows).map(async (r) => toRoutePlanDto(r, await store.run(trackingNumbersUsingPlan(r.id))))) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/route-plans/:id',
    { config: read, schema: { params: idParams, response: { 200: routePlanDto } } },
    async (request) => {
      const row = await visiblePlan(request, request.params.id);
      return toRoutePlanDto(row, await store.run(trackingNumbersUsingPlan(row.id)));
    },
  );

  // PUT replaces the plan (fields left out take their defaults); PATCH changes the fields given and
  // re-validates the whole result. The account of a plan never changes.
  app.put<{ Params: IdParams; Body: PlanBody }>(
    '/route-plans/:id',
    {
      config: write,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'timeZone', 'steps'],
          properties: {
            ...planFieldsWithDefaults,
          },
        },
        response: { 200: routePlanDto },
      },
    },
    async (request) => {
      const current = await visiblePlan(request, request.params.id);
      const row = await store.run(updateRoutePlan(current.id, await checked(request.body, current.accountId), now()), { transaction: true });
      if (!row) throw notFound(request.params.id);
      return toRoutePlanDto(row, await store.run(trackingNumbersUsingPlan(row.id)));
    },
  );

  app.patch<{ Params: IdParams; Body: Partial<PlanBody> }>(
    '/route-plans/:id',
    {
      config: write,
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: planFields },
        response: { 200: routePlanDto },
      },
    },
    async (request) => {
      const current = await visiblePlan(request, request.params.id);
      const plan = toRoutePlan(current);
      const merged: PlanBody = {
        name: plan.name,
        timeZone: plan.timeZone,
        callerIdMode: plan.callerIdMode,
        steps: plan.steps,
        schedule: plan.schedule,
        whisper: plan.whisper,
        screening: plan.screening,
        final: plan.final,
        ...request.body,
      };
      const row = await store.run(updateRoutePlan(current.id, await checked(merged, current.accountId), now()), { transaction: true });
      if (!row) throw notFound(request.params.id);
      return toRoutePlanDto(row, await store.run(trackingNumbersUsingPlan(row.id)));
    },
  );

  app.delete<{ Params: IdParams }>('/route-plans/:id', { config: write, schema: { params: idParams } }, async (request, reply) => {
    const id = request.params.id;
    await visiblePlan(request, id);
    const result = await store.run(deleteRoutePlan(id), { transaction: true });
    if (result === 'not-found') throw notFound(id);
    if (result === 'in-use') {
      const ids = await store.run(trackingNumbersUsingPlan(id));
      throw new CallrouteError('CR_ERR_ROUTE_PLAN_IN_USE', `route plan ${id} is used by tracking number ${ids.join(', ')}; move them to another plan first`, {
        field: 'params.id',
      });
    }
    return reply.code(204).send();
  });
}
