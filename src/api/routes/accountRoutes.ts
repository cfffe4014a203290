import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import {
  createAccount,
  getAccount,
  listAccounts,
  updateAccount,
  type AccountPatch,
} from '../../persistence/accountRepository.js';
import type { AccountRow } from '../../persistence/schema.js';
import { getAgency } from '../../persistence/userRepository.js';
import { idParams, iso, isoTime, type IdParams, listResponse } from '../apiSchemas.js';
import { canSee, principalOf } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

const accountDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'recordingRetentionDays', 'callRetentionDays', 'visitRetentionDays', 'auditRetentionDays', 'agencyId', 'requireTwoFactor', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    recordingRetentionDays: { type: ['integer', 'null'] },
    callRetentionDays: { type: ['integer', 'null'] },
    visitRetentionDays: { type: ['integer', 'null'] },
    auditRetentionDays: { type: ['integer', 'null'] },
    agencyId: { type: ['integer', 'null'] },
    requireTwoFactor: { type: 'boolean' },
    /** IANA zone the dashboard shows the account's times in; null: each viewer's own. */
    timeZone: { type: ['string', 'null'] },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

/** Days recordings (and call records, visits, audit entries) are kept; null keeps them forever. */
const recordingRetentionDays = { type: ['integer', 'null'], minimum: 1, maximum: 3650 } as const;
const retention = {
  recordingRetentionDays,
  callRetentionDays: recordingRetentionDays,
  visitRetentionDays: recordingRetentionDays,
  auditRetentionDays: recordingRetentionDays,
} as const;
type RetentionBody = { callRetentionDays?: number | null; visitRetentionDays?: number | null; auditRetentionDays?: number | null };
/** The retention fields a body sets (absent ones are left as they are, or at their defaults). */
function retentionOf(b: RetentionBody): RetentionBody {
  const out: RetentionBody = {};
  for (const k of ['callRetentionDays', 'visitRetentionDays', 'auditRetentionDays'] as const) if (b[k] !== undefined) out[k] = b[k];
  return out;
}

// At least one non-space character: the name is stored trimmed.
const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;
const requireTwoFactor = { type: 'boolean' } as const;
const agencyId = { type: ['integer', 'null'], minimum: 1 } as const;
const timeZone = { type: ['string', 'null'], minLength: 1, maxLength: 64 } as const;

/** An IANA zone the runtime knows (America/New_York), or null; a 400 naming body.timeZone otherwise. */
function checkedTimeZone(zone: string | null | undefined): string | null | undefined {
  if (zone === undefined || zone === null) return zone;
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new CallrouteError('CR_ERR_VALIDATION', `body.timeZone "${zone}" is not a time zone (IANA, e.g. America/New_York)`, { field: 'body.timeZone' });
  }
}

type AccountBody = { name: string; recordingRetentionDays?: number | null; agencyId?: number | null; requireTwoFactor?: boolean; timeZone?: string | null } & RetentionBody;

export function toAccountDto(row: AccountRow) {
  return {
    id: row.id,
    name: row.name,
    recordingRetentionDays: row.recordingRetentionDays,
    callRetentionDays: row.callRetentionDays,
    visitRetentionDays: row.visitRetentionDays,
    auditRetentionDays: row.auditRetentionDays,
    agencyId: row.agencyId,
    requireTwoFactor: row.requireTwoFactor,
    timeZone: row.timeZone,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

function noAgency(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_VALIDATION', `agency ${id} does not exist`, { field: 'body.agencyId' });
}

function notFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `account ${id} not found`, { field: 'params.id' });
}

export function accountRoutes(app: FastifyInstance, { store }: RouteDeps): void {
  /**
   * The agency a new or moved account goes to: the operator may name any (or none); an agency's owner
   * must name one of theirs. Another agency is answered like a missing one.
   */
  async function agencyFor(request: FastifyRequest, id: number | null | undefined): Promise<number | null> {
    const p = principalOf(request);
    if (p.operator) {
      if (id !== undefined && id !== null && !(await store.run(getAgency(id)))) throw noAgency(id);
      return id ?? null;
    }
    if (id === undefined || id === null) {
      throw new CallrouteError('CR_ERR_VALIDATION', 'body.agencyId is required: name the agency the account is for', { field: 'body.agencyId' });
    }
    if (!p.agencyOwnerOf.includes(id)) throw noAgency(id);
    return id;
  }

  app.post<{ Body: AccountBody }>(
    '/accounts',
    {
      config: { permission: 'accounts:create' },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name, ...retention, agencyId, requireTwoFactor, timeZone } },
        response: { 201: accountDto },
      },
    },
    async (request, reply) => {
      const { name: given, recordingRetentionDays: days = null, requireTwoFactor: twoFactor = false } = request.body;
      const agency = await agencyFor(request, request.body.agencyId);
      return reply
        .code(201)
        .send(toAccountDto(await store.run(createAccount({ name: given.trim(), recordingRetentionDays: days, agencyId: agency, requireTwoFactor: twoFactor, timeZone: checkedTimeZone(request.body.timeZone) ?? null, ...retentionOf(request.body) }))));
    },
  );

  app.get(
    '/accounts',
    {
      config: { permission: 'accounts:read' },
      schema: {
        response: {
          200: listResponse('accounts', accountDto),
        },
      },
    },
    async (request) => ({ accounts: (await store.run(listAccounts())).filter((row) => canSee(request, row.id)).map(toAccountDto) }),
  );

  app.get<{ Params: IdParams }>(
    '/accounts/:id',
    { config: { permission: 'accounts:read' }, schema: { params: idParams, response: { 200: accountDto } } },
    async (request) => {
      const row = await store.run(getAccount(request.params.id));
      if (!row || !canSee(request, row.id)) throw notFound(request.params.id);
      return toAccountDto(row);
    },
  );

  app.patch<{ Params: IdParams; Body: Partial<AccountBody> }>(
    '/accounts/:id',
    {
      config: { permission: 'accounts:write' },
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name, ...retention, agencyId, requireTwoFactor, timeZone } },
        response: { 200: accountDto },
      },
    },
    async (request) => {
      if (!canSee(request, request.params.id)) throw notFound(request.params.id);
      const { name: newName, recordingRetentionDays: days, requireTwoFactor: twoFactor } = request.body;
      const patch: AccountPatch = retentionOf(request.body);
      if (twoFactor !== undefined) patch.requireTwoFactor = twoFactor;
      const zone = checkedTimeZone(request.body.timeZone);
      if (zone !== undefined) patch.timeZone = zone;
      // Moving an account between agencies is the operator's (it changes who sees it).
      if (request.body.agencyId !== undefined) {
        if (!principalOf(request).operator) {
          throw new CallrouteError('CR_ERR_FORBIDDEN', 'only the operator moves an account to another agency', { field: 'body.agencyId' });
        }
        patch.agencyId = await agencyFor(request, request.body.agencyId);
      }
      if (newName !== undefined) patch.name = newName.trim();
      if (days !== undefined) patch.recordingRetentionDays = days;
      const row = await store.run(updateAccount(request.params.id, patch));
      if (!row) throw notFound(request.params.id);
      return toAccountDto(row);
    },
  );
}
