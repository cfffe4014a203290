import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import { ROLE_NAMES, type RoleName, type UserRow } from '../../persistence/schema.js';
import {
  createAgency,
  createPasswordReset,
  createUser,
  deleteUser,
  findUserByEmail,
  getAgency,
  getUser,
  listAgencies,
  listUsers,
  membersOf,
  membershipsOfUser,
  putMembership,
  removeMembership,
  updateAgency,
  type MembershipScope,
} from '../../persistence/userRepository.js';
import { idParams, iso, isoTime, listResponse, type IdParams } from '../apiSchemas.js';
import { hashSecret } from '../authenticate.js';
import { describeActor, holds, principalOf } from '../principal.js';
import { userDto, userDtoSchema } from './authRoutes.js';
import type { RouteDeps } from './routeDeps.js';
import { accountInPath } from './scopedAccount.js';

const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' } as const;
const personName = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } as const;
const role = { type: 'string', enum: [...ROLE_NAMES] } as const;

const memberParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'userId'],
  properties: { id: { type: 'integer', minimum: 1 }, userId: { type: 'integer', minimum: 1 } },
} as const;

const agencyDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'requireTwoFactor', 'createdAt'],
  properties: { id: { type: 'integer' }, name: { type: 'string' }, requireTwoFactor: { type: 'boolean' }, createdAt: isoTime },
} as const;

const memberDto = {
  type: 'object',
  properties: {
    user: userDtoSchema,
    role: { type: 'string' },
    /** 'account': a role in the account itself; 'agency': through the account's agency. */
    via: { type: 'string' },
  },
} as const;

const invitationDto = {
  type: ['object', 'null'],
  properties: { token: { type: 'string' }, expiresAt: isoTime },
} as const;

type MemberBody = { email: string; name?: string; role: RoleName };

/**
 * People: the operator's list of everyone, agencies, and each account's and agency's members.
 * No mail server is assumed: a new person, or one who forgot a password, gets a one-time token
 * (shown once, stored hashed) to hand over; they set their password with POST /v1/auth/password-reset.
 */
export function peopleRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, now, auth } = deps;
  const installation = { permission: 'installation' } as const;
  const manage = { permission: 'users:manage' } as const;

  async function issueReset(request: FastifyRequest, user: UserRow): Promise<{ token: string; expiresAt: string }> {
    const token = `crr_${randomBytes(32).toString('base64url')}`;
    const expiresAt = now() + auth.resetTtlMs;
    await store.run(createPasswordReset({ userId: user.id, tokenHash: hashSecret(token), expiresAt, issuedBy: describeActor(principalOf(request).actor) }, now()));
    return { token, expiresAt: iso(expiresAt) };
  }

  /** Adds the person (created when new, with an invitation token) to a place with a role. */
  async function putMember(request: FastifyRequest, scope: MembershipScope, body: MemberBody) {
    let user = await store.run(findUserByEmail(body.email));
    let invitation: { token: string; expiresAt: string } | null = null;
    if (!user) {
      user = await store.run(createUser({ email: body.email, name: body.name?.trim() ?? body.email.trim() }, now()));
      invitation = await issueReset(request, user);
    }
    if (user.operator) {
      throw new CallrouteError('CR_ERR_VALIDATION', `${body.email} is an operator of the installation and holds every right already`, { field: 'body.email' });
    }
    const membership = await store.run(putMembership(user.id, scope, body.role, now()), { transaction: true });
    return { user: userDto(user), role: membership.role, via: 'accountId' in scope ? 'account' : 'agency', invitation };
  }

  /** Agencies are the operator's and their own owners' to manage. */
  async function ownedAgency(request: FastifyRequest, id: number): Promise<number> {
    const p = principalOf(request);
    if (!(await store.run(getAgency(id))) || (!p.operator && !p.agencyOwnerOf.includes(id))) {
      throw new CallrouteError('CR_ERR_NOT_FOUND', `agency ${id} not found`, { field: 'params.id' });
    }
    return id;
  }

  /**
   * Whether the request may hand this person a reset token: the operator may for anyone; an owner only
   * for someone whose every role lies where the owner manages people (else the token would open
   * accounts the owner has no say over).
   */
  async function mayReset(request: FastifyRequest, user: UserRow): Promise<boolean> {
    const p = principalOf(request);
    if (p.operator) return true;
    if (user.operator) return false;
    const places = await store.run(membershipsOfUser(user.id));
    return (
      places.length > 0 &&
      places.every((m) => (m.accountId !== null ? holds(p, 'users:manage', m.accountId) : m.agencyId !== null && p.agencyOwnerOf.includes(m.agencyId)))
    );
  }

  // -------- the operator's view of everyone

  app.get('/users', { config: installation, schema: { response: { 200: listResponse('users', userDtoSchema) } } }, async () => ({
    users: (await store.run(listUsers())).map(userDto),
  }));

  app.post<{ Body: { email: string; name: string; operator?: boolean } }>(
    '/users',
    {
      config: installation,
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['email', 'name'], properties: { email, name: personName, operator: { type: 'boolean' } } },
      },
    },
    async (request, reply) => {
      if (await store.run(findUserByEmail(request.body.email))) {
        throw new CallrouteError('CR_ERR_VALIDATION', `a person with e-mail ${request.body.email} exists already`, { field: 'body.email' });
      }
      const user = await store.run(createUser({ email: request.body.email, name: request.body.name.trim(), operator: request.body.operator ?? false }, now()));
      return reply.code(201).send({ user: userDto(user), invitation: await issueReset(request, user) });
    },
  );

  app.delete<{ Params: IdParams }>('/users/:id', { config: installation, schema: { params: idParams } }, async (request, reply) => {
    const actor = principalOf(request).actor;
    if (actor.kind === 'user' && actor.userId === request.params.id) {
      throw new CallrouteError('CR_ERR_VALIDATION', 'you cannot remove yourself; another operator can', { field: 'params.id' });
    }
    if (!(await store.run(deleteUser(request.params.id)))) throw new CallrouteError('CR_ERR_NOT_FOUND', `user ${request.params.id} not found`, { field: 'params.id' });
    return reply.code(204).send();
  });

  app.post<{ Params: IdParams }>(
    '/users/:id/password-reset',
    { config: manage, schema: { params: idParams, response: { 201: invitationDto } } },
    async (request, reply) => {
      const user = await store.run(getUser(request.params.id));
      if (!user || !(await mayReset(request, user))) throw new CallrouteError('CR_ERR_NOT_FOUND', `user ${request.params.id} not found`, { field: 'params.id' });
      return reply.code(201).send(await issueReset(request, user));
    },
  );

  // -------- agencies

  const agencyBody = { name: personName, requireTwoFactor: { type: 'boolean' } } as const;
  const toAgencyDto = (a: { id: number; name: string; requireTwoFactor: boolean; createdAt: number }) => ({
    id: a.id,
    name: a.name,
    requireTwoFactor: a.requireTwoFactor,
    createdAt: iso(a.createdAt),
  });

  app.post<{ Body: { name: string; requireTwoFactor?: boolean } }>(
    '/agencies',
    {
      config: installation,
      schema: { body: { type: 'object', additionalProperties: false, required: ['name'], properties: agencyBody }, response: { 201: agencyDto } },
    },
    async (request, reply) => reply.code(201).send(toAgencyDto(await store.run(createAgency({ ...request.body, name: request.body.name.trim() }, now())))),
  );

  app.get('/agencies', { config: manage, schema: { response: { 200: listResponse('agencies', agencyDto) } } }, async (request) => {
    const p = principalOf(request);
    return { agencies: (await store.run(listAgencies())).filter((a) => p.operator || p.agencyOwnerOf.includes(a.id)).map(toAgencyDto) };
  });

  app.patch<{ Params: IdParams; Body: { name?: string; requireTwoFactor?: boolean } }>(
    '/agencies/:id',
    {
      config: manage,
      schema: { params: idParams, body: { type: 'object', additionalProperties: false, minProperties: 1, properties: agencyBody }, response: { 200: agencyDto } },
    },
    async (request) => {
      const id = await ownedAgency(request, request.params.id);
      const b = request.body;
      return toAgencyDto((await store.run(updateAgency(id, { ...b, ...(b.name === undefined ? {} : { name: b.name.trim() }) }, now())))!);
    },
  );

  // -------- members of an account, and of an agency

  const memberBody = {
    type: 'object',
    additionalProperties: false,
    required: ['email', 'role'],
    properties: { email, name: personName, role },
  } as const;
  const putResponse = { 200: { ...memberDto, properties: { ...memberDto.properties, invitation: invitationDto } } };

  app.get<{ Params: IdParams }>(
    '/accounts/:id/users',
    { config: manage, schema: { params: idParams, response: { 200: listResponse('users', memberDto) } } },
    async (request) => {
      const accountId = await accountInPath(store, request, request.params.id);
      const account = (await store.run(getAccount(accountId)))!;
      const direct = (await store.run(membersOf({ accountId }))).map((m) => ({ user: userDto(m.user), role: m.membership.role, via: 'account' }));
      const viaAgency =
        account.agencyId === null ? [] : (await store.run(membersOf({ agencyId: account.agencyId }))).map((m) => ({ user: userDto(m.user), role: m.membership.role, via: 'agency' }));
      return { users: [...direct, ...viaAgency] };
    },
  );

  app.put<{ Params: IdParams; Body: MemberBody }>(
    '/accounts/:id/users',
    { config: manage, schema: { params: idParams, body: memberBody, response: putResponse } },
    async (request) => await putMember(request, { accountId: await accountInPath(store, request, request.params.id) }, request.body),
  );

  app.delete<{ Params: { id: number; userId: number } }>(
    '/accounts/:id/users/:userId',
    { config: manage, schema: { params: memberParams } },
    async (request, reply) => {
      const accountId = await accountInPath(store, request, request.params.id);
      if (!(await store.run(removeMembership(request.params.userId, { accountId })))) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `user ${request.params.userId} has no role in account ${accountId}`, { field: 'params.userId' });
      }
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IdParams }>(
    '/agencies/:id/users',
    { config: manage, schema: { params: idParams, response: { 200: listResponse('users', memberDto) } } },
    async (request) => {
      const agencyId = await ownedAgency(request, request.params.id);
      return { users: (await store.run(membersOf({ agencyId }))).map((m) => ({ user: userDto(m.user), role: m.membership.role, via: 'agency' })) };
    },
  );

  app.put<{ Params: IdParams; Body: MemberBody }>(
    '/agencies/:id/users',
    { config: manage, schema: { params: idParams, body: memberBody, response: putResponse } },
    async (request) => await putMember(request, { agencyId: await ownedAgency(request, request.params.id) }, request.body),
  );

  app.delete<{ Params: { id: number; userId: number } }>(
    '/agencies/:id/users/:userId',
    { config: manage, schema: { params: memberParams } },
    async (request, reply) => {
      const agencyId = await ownedAgency(request, request.params.id);
      if (!(await store.run(removeMembership(request.params.userId, { agencyId })))) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `user ${request.params.userId} has no role in agency ${agencyId}`, { field: 'params.userId' });
      }
      return reply.code(204).send();
    },
  );
}
