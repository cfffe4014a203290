import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkNewPassword, hashPassword, verifyNothing, verifyPassword } from '../../auth/passwords.js';
import { matchTotp, newTotpSecret, otpauthUri } from '../../auth/totp.js';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import type { Store } from '../../persistence/store.js';
import type { UserRow } from '../../persistence/schema.js';
import {
  activeSessionsOfUser,
  consumePasswordReset,
  createSession,
  findSessionByHash,
  findPasswordReset,
  findUserByEmail,
  getUser,
  membershipsOfUser,
  normalizeEmail,
  replaceRecoveryCodes,
  revokeSession,
  revokeSessionsOfUser,
  setPassword,
  setTotp,
  unusedRecoveryCodes,
  useRecoveryCode,
  useTotpStep,
} from '../../persistence/userRepository.js';
import { idParams, isoTime, iso, type IdParams } from '../apiSchemas.js';
import { hashSecret, readCookies, sameOrigin, SESSION_COOKIE } from '../authenticate.js';
import { principalOf, type Principal } from '../principal.js';
import { createTokenBuckets } from '../tokenBuckets.js';
import { recordAudit } from '../audit.js';
import { userPrincipal } from '../resolveGrants.js';
import type { RouteDeps } from './routeDeps.js';

/** Remembers a browser that signed in before, so an attacker's failures on the e-mail do not lock it out. */
const DEVICE_COOKIE = 'callroute_device';
const DEVICE_MAX_AGE_S = 180 * 86_400;
const RECOVERY_CODE_COUNT = 10;

const email = { type: 'string', minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$' } as const;
const password = { type: 'string', minLength: 1, maxLength: 256 } as const;
const code = { type: 'string', minLength: 6, maxLength: 32 } as const;
/** Turning two-factor off and new recovery codes ask for the password again. */
const passwordOnlyBody = { type: 'object', additionalProperties: false, required: ['password'], properties: { password } } as const;

function cookie(request: FastifyRequest, name: string, value: string, maxAgeSeconds: number): string {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  return `${name}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure}`;
}

/** A recovery code as shown: 12 characters of 31 without look-alikes (59 bits), in groups of four. */
function newRecoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  let out = '';
  for (let i = 0; i < 12; i++) out += alphabet[randomInt(alphabet.length)];
  return `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8)}`;
}

function normalizeRecoveryCode(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export async function issueRecoveryCodes(store: Store, userId: number, now: number): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  await store.run(replaceRecoveryCodes(userId, codes.map((c) => hashSecret(normalizeRecoveryCode(c))), now), { transaction: true });
  return codes;
}

/** The signed-in person's own user row; keys and the admin token have no password or second factor. */
async function signedInUser(store: Store, request: FastifyRequest): Promise<{ user: UserRow; sessionId: number }> {
  const actor = principalOf(request).actor;
  const user = actor.kind === 'user' ? await store.run(getUser(actor.userId)) : undefined;
  if (actor.kind !== 'user' || !user) {
    throw new CallrouteError('CR_ERR_FORBIDDEN', 'only a person signed in with a password has a password and a second factor');
  }
  return { user, sessionId: actor.sessionId };
}

export function describePrincipal(p: Principal) {
  return {
    operator: p.operator,
    twoFactorEnrolmentRequired: p.mustEnrolTwoFactor === true,
    agencyOwnerOf: [...p.agencyOwnerOf],
    accounts: [...p.grants].map(([accountId, set]) => ({ accountId, permissions: [...set].sort() })),
  };
}

/**
 * Sign-in for people under /v1/auth: password (argon2id), optional TOTP or a recovery code, a session
 * cookie; sign-out, password change and reset, two-factor enrolment.
 *
 * Brute force: every failure (wrong password, unknown e-mail, wrong code) spends one of the address's
 * failures (the same budget as wrong tokens) and one of the e-mail's. The e-mail's budget refills, so
 * nobody is locked out for good; and a browser that signed in as this person before (the signed device
 * cookie) has a budget of its own, so an attacker hammering the e-mail does not lock the real person's
 * browser out at all. An unknown e-mail gets the same answer, after the same argon2 work, as a wrong
 * password.
 */
export function authRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, now, auth } = deps;
  const perEmail = createTokenBuckets(auth.signInFailures, now);

  function deviceMac(emailAddress: string, nonce: string): string {
    return createHmac('sha256', auth.deviceSecret).update(`${emailAddress}\n${nonce}`).digest('base64url');
  }
  /** The device nonce when the request's device cookie was issued to this e-mail. */
  function knownDevice(request: FastifyRequest, emailAddress: string): string | undefined {
    const value = readCookies(request).get(DEVICE_COOKIE);
    const [nonce, mac] = value?.split('.') ?? [];
    if (!nonce || !mac) return undefined;
    const expected = Buffer.from(deviceMac(emailAddress, nonce));
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected) ? nonce : undefined;
  }

  /** Turning off protections needs the password again; a wrong one counts as a failed sign-in. */
  async function requirePassword(request: FastifyRequest, user: UserRow, given: string, field: string): Promise<void> {
    if (user.passwordHash && (await verifyPassword(user.passwordHash, given))) return;
    auth.limiter.failedAuth.take(request.ip);
    throw new CallrouteError('CR_ERR_VALIDATION', `${field} is wrong`, { field });
  }

  function limited(reply: FastifyReply, wait: number, message: string): never {
    void reply.header('retry-after', String(wait));
    throw new CallrouteError('CR_ERR_RATE_LIMITED', message);
  }

  app.post<{ Body: { email: string; password: string; code?: string } }>(
    '/auth/login',
    {
      config: { public: true },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['email', 'password'], properties: { email, password, code } },
      },
    },
    async (request, reply) => {
      // Login CSRF: a foreign page must not sign a browser in as the attacker.
      if (request.headers.origin !== undefined && !sameOrigin(request)) {
        throw new CallrouteError('CR_ERR_CSRF', 'sign in from this site');
      }
      const address = normalizeEmail(request.body.email);
      const device = knownDevice(request, address);
      const budget = device ? `device:${device}` : `email:${address}`;
      // The address's failures were checked by the /v1 guard before this handler (createRateLimitedAuth).
      const emailWait = perEmail.peek(budget);
      if (emailWait > 0) limited(reply, emailWait, 'too many failed sign-ins for this e-mail; retry later');

      const fail = async (reason: string, userId: number | null): Promise<never> => {
        auth.limiter.failedAuth.take(request.ip);
        perEmail.take(budget);
        await recordAudit(store, request, { action: 'auth.login-failed', actor: address, actorUserId: userId, detail: { reason } }, now());
        throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'e-mail or password is wrong');
      };
      const user = await store.run(findUserByEmail(address));
      const ok = user?.passwordHash ? await verifyPassword(user.passwordHash, request.body.password) : await verifyNothing(request.body.password);
      if (!user || !ok) return fail(user ? 'password' : 'unknown e-mail', user?.id ?? null);

      if (user.totpEnabledAt !== null && user.totpSecret !== null) {
        const given = request.body.code;
        if (given === undefined) {
          throw new CallrouteError('CR_ERR_SECOND_FACTOR_REQUIRED', 'enter the code from your authenticator app (or a recovery code) as body.code', {
            field: 'body.code',
          });
        }
        const step = matchTotp(user.totpSecret, given, now(), user.totpLastStep);
        const second = step !== null ? await store.run(useTotpStep(user.id, step)) : await store.run(useRecoveryCode(user.id, hashSecret(normalizeRecoveryCode(given)), now()));
        if (!second) return fail('second factor', user.id);
      }

      // Rotation: a new id at every sign-in; the one the browser held (if any) ends.
      const old = readCookies(request).get(SESSION_COOKIE);
      const oldRow = old ? await store.run(findSessionByHash(hashSecret(old))) : undefined;
      if (oldRow) await store.run(revokeSession(oldRow.id, now()));
      const id = randomBytes(32).toString('base64url');
      const t = now();
      const ua = request.headers['user-agent'];
      const session = await store.run(
        createSession({ tokenHash: hashSecret(id), userId: user.id, expiresAt: t + auth.sessions.maxMs, ip: request.ip, userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null }, t),
      );
      const nonce = device ?? randomBytes(16).toString('base64url');
      void reply.header('set-cookie', [
        cookie(request, SESSION_COOKIE, id, Math.floor(auth.sessions.maxMs / 1000)),
        cookie(request, DEVICE_COOKIE, `${nonce}.${deviceMac(address, nonce)}`, DEVICE_MAX_AGE_S),
      ]);
      const actor = { kind: 'user' as const, userId: user.id, email: user.email, sessionId: session.id };
      await recordAudit(store, request, { action: 'auth.login', actor: user.email, actorUserId: user.id, detail: { sessionId: session.id } }, t, actor);
      return {
        user: userDto(user),
        expiresAt: iso(session.expiresAt),
        ...describePrincipal(await store.run(userPrincipal(user, actor))),
      };
    },
  );

  app.post('/auth/logout', { config: { permission: 'self' } }, async (request, reply) => {
    const actor = principalOf(request).actor;
    if (actor.kind === 'user') {
      await store.run(revokeSession(actor.sessionId, now()));
      await recordAudit(store, request, { action: 'auth.logout', target: `user ${actor.userId}` }, now());
    }
    return reply.header('set-cookie', cookie(request, SESSION_COOKIE, '', 0)).code(204).send();
  });

  app.get('/auth/me', { config: { permission: 'self' } }, async (request) => {
    const p = principalOf(request);
    const described = describePrincipal(p);
    const actor = p.actor;
    const user = actor.kind === 'user' || (actor.kind === 'api-key' && actor.userId !== null) ? await store.run(getUser(actor.userId!)) : undefined;
    return {
      actor: actor.kind,
      user: user ? userDto(user) : null,
      memberships: user ? (await store.run(membershipsOfUser(user.id))).map((m) => ({ accountId: m.accountId, agencyId: m.agencyId, role: m.role })) : [],
      recoveryCodesLeft: user && actor.kind === 'user' ? await store.run(unusedRecoveryCodes(user.id)) : null,
      ...described,
      accounts: await Promise.all(described.accounts.map(async (a) => ({ ...a, name: (await store.run(getAccount(a.accountId)))?.name ?? null }))),
    };
  });

  app.post<{ Body: { currentPassword: string; newPassword: string } }>(
    '/auth/password',
    {
      config: { permission: 'self' },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['currentPassword', 'newPassword'], properties: { currentPassword: password, newPassword: password } },
      },
    },
    async (request, reply) => {
      const { user, sessionId } = await signedInUser(store, request);
      await requirePassword(request, user, request.body.currentPassword, 'body.currentPassword');
      checkNewPassword(request.body.newPassword, user.email, 'body.newPassword');
      // Every other session of the person ends: whoever else held one is out.
      await store.run(setPassword(user.id, await hashPassword(request.body.newPassword), now(), sessionId), { transaction: true });
      await recordAudit(store, request, { action: 'auth.password-change', target: `user ${user.id}` }, now());
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { token: string; newPassword: string } }>(
    '/auth/password-reset',
    {
      config: { public: true },
      schema: {
        body: { type: 'object', additionalProperties: false, required: ['token', 'newPassword'], properties: { token: { type: 'string', minLength: 1, maxLength: 200 }, newPassword: password } },
      },
    },
    async (request, reply) => {
      const tokenHash = hashSecret(request.body.token);
      // The password is checked before the token is spent, so a weak choice does not burn the token.
      const pending = await store.run(findPasswordReset(tokenHash, now()));
      const user = pending ? await store.run(getUser(pending.userId)) : undefined;
      if (!pending || !user) {
        auth.limiter.failedAuth.take(request.ip);
        throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'the reset token is not valid, was used, or has expired; ask for a new one');
      }
      checkNewPassword(request.body.newPassword, user.email, 'body.newPassword');
      const hashed = await hashPassword(request.body.newPassword);
      if (await store.run(consumePasswordReset(tokenHash, now())) !== user.id) {
        throw new CallrouteError('CR_ERR_UNAUTHORIZED', 'the reset token is not valid, was used, or has expired; ask for a new one');
      }
      await store.run(setPassword(user.id, hashed, now()), { transaction: true });
      await recordAudit(store, request, { action: 'auth.password-reset', actor: user.email, actorUserId: user.id, target: `user ${user.id}` }, now());
      return reply.code(204).send();
    },
  );

  app.post('/auth/two-factor/enrol', { config: { permission: 'self' } }, async (request) => {
    const { user } = await signedInUser(store, request);
    if (user.totpEnabledAt !== null) {
      throw new CallrouteError('CR_ERR_VALIDATION', 'two-factor sign-in is already on; turn it off first to enrol a new device', { field: 'body' });
    }
    const secret = newTotpSecret();
    await store.run(setTotp(user.id, { secret, enabledAt: null, lastStep: null }, now()));
    return { secret, otpauthUri: otpauthUri(secret, user.email) };
  });

  app.post<{ Body: { code: string } }>(
    '/auth/two-factor/confirm',
    {
      config: { permission: 'self' },
      schema: { body: { type: 'object', additionalProperties: false, required: ['code'], properties: { code } } },
    },
    async (request) => {
      const { user } = await signedInUser(store, request);
      if (user.totpSecret === null || user.totpEnabledAt !== null) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'start with POST /v1/auth/two-factor/enrol', { field: 'body.code' });
      }
      const step = matchTotp(user.totpSecret, request.body.code, now(), null);
      if (step === null) throw new CallrouteError('CR_ERR_VALIDATION', 'body.code does not match; check the phone clock and try the next code', { field: 'body.code' });
      await store.run(setTotp(user.id, { secret: user.totpSecret, enabledAt: now(), lastStep: step }, now()));
      const recoveryCodes = await issueRecoveryCodes(store, user.id, now());
      await recordAudit(store, request, { action: 'auth.two-factor-on', target: `user ${user.id}` }, now());
      return { recoveryCodes };
    },
  );

  app.delete<{ Body: { password: string } }>(
    '/auth/two-factor',
    {
      config: { permission: 'self' },
      schema: { body: passwordOnlyBody },
    },
    async (request, reply) => {
      const { user } = await signedInUser(store, request);
      await requirePassword(request, user, request.body.password, 'body.password');
      await store.run(setTotp(user.id, { secret: null, enabledAt: null, lastStep: null }, now()));
      await store.run(replaceRecoveryCodes(user.id, [], now()), { transaction: true });
      await recordAudit(store, request, { action: 'auth.two-factor-off', target: `user ${user.id}` }, now());
      return reply.code(204).send();
    },
  );

  app.post<{ Body: { password: string } }>(
    '/auth/recovery-codes',
    {
      config: { permission: 'self' },
      schema: { body: passwordOnlyBody },
    },
    async (request) => {
      const { user } = await signedInUser(store, request);
      await requirePassword(request, user, request.body.password, 'body.password');
      if (user.totpEnabledAt === null) throw new CallrouteError('CR_ERR_VALIDATION', 'turn two-factor sign-in on first', { field: 'body' });
      return { recoveryCodes: await issueRecoveryCodes(store, user.id, now()) };
    },
  );

  // The person's own signed-in browsers: which, since when, from where; any one can be ended.
  app.get('/auth/sessions', { config: { permission: 'self' } }, async (request) => {
    const { user, sessionId } = await signedInUser(store, request);
    return {
      sessions: (await store.run(activeSessionsOfUser(user.id, now()))).map((row) => ({
        id: row.id,
        current: row.id === sessionId,
        createdAt: iso(row.createdAt),
        lastSeenAt: iso(row.lastSeenAt),
        expiresAt: iso(row.expiresAt),
        ip: row.ip,
        userAgent: row.userAgent,
      })),
    };
  });

  app.delete<{ Params: IdParams }>('/auth/sessions/:id', { config: { permission: 'self' }, schema: { params: idParams } }, async (request, reply) => {
    const { user } = await signedInUser(store, request);
    const mine = (await store.run(activeSessionsOfUser(user.id, now()))).some((row) => row.id === request.params.id);
    if (!mine || !(await store.run(revokeSession(request.params.id, now())))) {
      throw new CallrouteError('CR_ERR_NOT_FOUND', `session ${request.params.id} not found`, { field: 'params.id' });
    }
    return reply.code(204).send();
  });

  app.post('/auth/sessions/revoke-others', { config: { permission: 'self' } }, async (request, reply) => {
    const { user, sessionId } = await signedInUser(store, request);
    await store.run(revokeSessionsOfUser(user.id, now(), sessionId));
    return reply.code(204).send();
  });
}

export const userDtoSchema = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    email: { type: 'string' },
    name: { type: 'string' },
    operator: { type: 'boolean' },
    twoFactorEnabled: { type: 'boolean' },
    hasPassword: { type: 'boolean' },
    createdAt: isoTime,
  },
} as const;

export function userDto(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    name: user.name,
    operator: user.operator,
    twoFactorEnabled: user.totpEnabledAt !== null,
    hasPassword: user.passwordHash !== null,
    createdAt: iso(user.createdAt),
  };
}
