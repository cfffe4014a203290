import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { createApiToken, listApiTokens, revokeApiToken } from '../../persistence/apiTokenRepository.js';
import type { ApiTokenRow } from '../../persistence/schema.js';
import { idParams, iso, isoOrNull, isoTime, nullableIsoTime, type IdParams, listResponse } from '../apiSchemas.js';
import { hashSecret } from '../authenticate.js';
import { KEY_SCOPES, LEGACY_TOKEN_SCOPES, type Permission } from '../permissions.js';
import { holds, principalOf } from '../principal.js';
import { keyScopes } from '../resolveGrants.js';
import type { RouteDeps } from './routeDeps.js';
import { accountInPath } from './scopedAccount.js';

/** `crt_` marks callroute customer tokens (secret scanners can match it); 32 random bytes follow. */
export const TOKEN_PREFIX = 'crt_';
const SHOWN_PREFIX_LENGTH = TOKEN_PREFIX.length + 8;

const tokenDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'userId', 'name', 'prefix', 'scopes', 'expiresAt', 'createdAt', 'lastUsedAt', 'revokedAt'],
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    /** The person the key acts for (it holds at most their rights); null: the account's own key. */
    userId: { type: ['integer', 'null'] },
    name: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    expiresAt: nullableIsoTime,
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
    userId: row.userId,
    name: row.name,
    prefix: row.prefix,
    scopes: keyScopes(row.scopes),
    expiresAt: isoOrNull(row.expiresAt),
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
export function tokenRoutes(app: FastifyInstance, { store, now }: RouteDeps): void {
  const manage = { permission: 'keys:manage' } as const;

  app.post<{ Params: IdParams; Body: { name: string; scopes?: Permission[]; expiresAt?: string } }>(
    '/accounts/:id/tokens',
    {
      config: manage,
      schema: {
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
            scopes: { type: 'array', minItems: 1, uniqueItems: true, items: { type: 'string', enum: [...KEY_SCOPES] } },
            expiresAt: { type: 'string', format: 'date-time' },
          },
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
      const accountId = await accountInPath(store, request, request.params.id);
      const p = principalOf(request);
      // Without scopes: what customer tokens always could (read calls, recordings, reports; delete recordings).
      const scopes = request.body.scopes ?? [...LEGACY_TOKEN_SCOPES];
      const beyond = scopes.filter((s) => !holds(p, s, accountId));
      if (beyond.length > 0) {
        throw new CallrouteError('CR_ERR_VALIDATION', `body.scopes: you cannot give a key what you do not hold: ${beyond.join(', ')}`, { field: 'body.scopes' });
      }
      const expiresAt = request.body.expiresAt === undefined ? null : Date.parse(request.body.expiresAt);
      if (expiresAt !== null && (Number.isNaN(expiresAt) || expiresAt <= now())) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'body.expiresAt must be a date-time in the future', { field: 'body.expiresAt' });
      }
      const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
      const row = await store.run(createApiToken(
        {
          accountId,
          // A person's key is theirs: it dies with them and never holds more than they do.
          userId: p.actor.kind === 'user' ? p.actor.userId : null,
          name: request.body.name.trim(),
          tokenHash: hashSecret(token),
          prefix: token.slice(0, SHOWN_PREFIX_LENGTH),
          scopes: JSON.stringify(scopes),
          expiresAt,
        },
        now(),
      ));
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
    async (request) => ({ tokens: (await store.run(listApiTokens(await accountInPath(store, request, request.params.id)))).map(toTokenDto) }),
  );

  app.delete<{ Params: { id: number; tokenId: number } }>(
    '/accounts/:id/tokens/:tokenId',
    { config: manage, schema: { params: tokenParams } },
    async (request, reply) => {
      const accountId = await accountInPath(store, request, request.params.id);
      const row = await store.run(revokeApiToken(accountId, request.params.tokenId, now()));
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
