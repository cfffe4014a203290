import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../persistence/apiTokenRepository.js';
import type { ApiTokenRow } from '../../persistence/schema.js';
import { idParams, iso, isoOrNull, isoTime, nullableIsoTime, type IdParams, listResponse } from '../apiSchemas.js';
import { hashApiToken } from '../createBearerAuth.js';
import { canSee } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

/** `crt_` marks callroute customer tokens (secret scanners can match it); 32 random bytes follow. */
export const TOKEN_PREFIX = 'crt_';
const SHOWN_PREFIX_LENGTH = TOKEN_PREFIX.length + 8;

const tokenDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'name', 'prefix', 'createdAt', 'lastUsedAt', 'revokedAt'],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    name: { type: 'string' },
    prefix: { type: 'string' },
    createdAt: isoTime,
    lastUsedAt: nullableIsoTime,
    revokedAt: nullableIsoTime,
  },
} as const;

function toTokenDto(row: ApiTokenRow) {
  return {
    id: row.id,
    accountId: row.accountId,
    name: row.name,
    prefix: row.prefix,
    createdAt: iso(row.createdAt),
    lastUsedAt: isoOrNull(row.lastUsedAt),
    revokedAt: isoOrNull(row.revokedAt),
  };
}

const tokenParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'tokenId'],
  properties: { id: { type: 'integer', minimum: 1 }, tokenId: { type: 'integer', minimum: 1 } },
} as const;

/** API keys of an account (keys:manage: the operator, the account's owners). The token is shown once, at creation; only its SHA-256 is stored. */
export function tokenRoutes(app: FastifyInstance, { db, now }: RouteDeps): void {
  const manage = { permission: 'keys:manage' } as const;
  function existingAccount(request: FastifyRequest, id: number): number {
    if (!getAccount(db, id) || !canSee(request, id)) throw new CallrouteError('CR_ERR_NOT_FOUND', `account ${id} not found`, { field: 'params.id' });
    return id;
  }

  app.post<{ Params: IdParams; Body: { name: string } }>(
    '/accounts/:id/tokens',
    {
      config: manage,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
        },
        response: {
          201: {
            ...tokenDto,
            required: [...tokenDto.required, 'token'],
            properties: { ...tokenDto.properties, token: { type: 'string' } },
          },
        },
      },
    },
    async (request, reply) => {
      const accountId = existingAccount(request, request.params.id);
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row = createApiToken(
        db,
        { accountId, name: request.body.name.trim(), tokenHash: hashApiToken(token), prefix: token.slice(0, SHOWN_PREFIX_LENGTH) },
        now(),
      );
      request.log.info({ accountId, tokenId: row.id, prefix: row.prefix }, 'api token created');
      return reply.code(201).send({ ...toTokenDto(row), token });
    },
  );

  app.get<{ Params: IdParams }>(
    '/accounts/:id/tokens',
    {
      config: manage,
      schema: {
        params: idParams,
        response: {
          200: listResponse('tokens', tokenDto),
        },
      },
    },
    async (request) => ({ tokens: listApiTokens(db, existingAccount(request, request.params.id)).map(toTokenDto) }),
  );

  app.delete<{ Params: { id: number; tokenId: number } }>(
    '/accounts/:id/tokens/:tokenId',
    { config: manage, schema: { params: tokenParams } },
    async (request, reply) => {
      const accountId = existingAccount(request, request.params.id);
      const row = revokeApiToken(db, accountId, request.params.tokenId, now());
      if (!row) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `token ${request.params.tokenId} not found in account ${accountId}`, {
          field: 'params.tokenId',
        });
      }
      request.log.info({ accountId, tokenId: row.id, prefix: row.prefix }, 'api token revoked');
      return reply.code(204).send();
    },
  );
}
