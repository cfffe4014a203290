import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import {
  createAccount,
  getAccount,
  listAccounts,
  updateAccount,
  type AccountPatch,
} from '../../persistence/accountRepository.js';
import type { AccountRow } from '../../persistence/schema.js';
import { idParams, iso, isoTime, type IdParams, listResponse } from '../apiSchemas.js';
import { canSee } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

const accountDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'recordingRetentionDays', 'createdAt', 'updatedAt'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    recordingRetentionDays: { type: ['integer', 'null'] },
    createdAt: isoTime,
    updatedAt: isoTime,
  },
} as const;

/** Days recordings are kept; null keeps them forever. */
const recordingRetentionDays = { type: ['integer', 'null'], minimum: 1, maximum: 3650 } as const;

// At least one non-space character: the name is stored trimmed.
const name = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;

export function toAccountDto(row: AccountRow) {
  return {
    id: row.id,
    name: row.name,
    recordingRetentionDays: row.recordingRetentionDays,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

function notFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `account ${id} not found`, { field: 'params.id' });
}

export function accountRoutes(app: FastifyInstance, { db }: RouteDeps): void {
  app.post<{ Body: { name: string; recordingRetentionDays?: number | null } }>(
    '/accounts',
    {
      config: { permission: 'accounts:create' },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['name'], properties: { name, recordingRetentionDays } },
        response: { 201: accountDto },
      },
    },
    async (request, reply) => {
      const { name: given, recordingRetentionDays: days = null } = request.body;
      return reply.code(201).send(toAccountDto(createAccount(db, { name: given.trim(), recordingRetentionDays: days })));
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
    async (request) => ({ accounts: listAccounts(db).filter((row) => canSee(request, row.id)).map(toAccountDto) }),
  );

  app.get<{ Params: IdParams }>(
    '/accounts/:id',
    { config: { permission: 'accounts:read' }, schema: { params: idParams, response: { 200: accountDto } } },
    async (request) => {
      const row = getAccount(db, request.params.id);
      if (!row || !canSee(request, row.id)) throw notFound(request.params.id);
      return toAccountDto(row);
    },
  );

  app.patch<{ Params: IdParams; Body: { name?: string; recordingRetentionDays?: number | null } }>(
    '/accounts/:id',
    {
      config: { permission: 'accounts:write' },
      schema: {
        params: idParams,
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { name, recordingRetentionDays } },
        response: { 200: accountDto },
      },
    },
    async (request) => {
      if (!canSee(request, request.params.id)) throw notFound(request.params.id);
      const { name: newName, recordingRetentionDays: days } = request.body;
      const patch: AccountPatch = {};
      if (newName !== undefined) patch.name = newName.trim();
      if (days !== undefined) patch.recordingRetentionDays = days;
      const row = updateAccount(db, request.params.id, patch);
      if (!row) throw notFound(request.params.id);
      return toAccountDto(row);
    },
  );
}
