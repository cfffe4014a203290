/** People, agencies, memberships, sessions, second factors and password resets: works of ./store.ts. */
import { and, asc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { AgencyRow, MembershipRow, RoleName, SessionRow, UserRow } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

/** E-mails are compared trimmed and lower-cased (one person, one row). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface UserInput {
  email: string;
  name: string;
  passwordHash?: string | null;
  operator?: boolean;
}

export function createUser(input: UserInput, now: number): Work<UserRow> {
  return function* ({ db, t }) {
    const values = {
      email: normalizeEmail(input.email),
      name: input.name,
      passwordHash: input.passwordHash ?? null,
      operator: input.operator ?? false,
      passwordChangedAt: input.passwordHash ? now : null,
      createdAt: now,
      updatedAt: now,
    };
    return (yield* row(db.insert(t.users).values(values).returning()))!;
  };
}

export function getUser(id: number): Work<UserRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.users).where(eq(t.users.id, id)));
  };
}

export function findUserByEmail(email: string): Work<UserRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.users).where(eq(t.users.email, normalizeEmail(email))));
  };
}

export function listUsers(): Work<UserRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.users).orderBy(asc(t.users.id)));
  };
}

/** Removes the person: memberships, sessions, keys, codes and resets go with them (foreign keys cascade). */
export function deleteUser(id: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.delete(t.users).where(eq(t.users.id, id)))) > 0;
  };
}

export function updateUser(id: number, patch: Partial<Pick<UserRow, 'name' | 'operator'>>, now: number): Work<UserRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.update(t.users).set({ ...patch, updatedAt: now }).where(eq(t.users.id, id)).returning());
  };
}

/**
 * A new password: every session of the person but `keepSessionId` (the one that changed it) ends,
 * so a stolen session does not outlive the change. Run it as a transaction.
 */
export function setPassword(userId: number, passwordHash: string, now: number, keepSessionId: number | null = null): Work<void> {
  return function* (q) {
    const { db, t } = q;
    yield* affected(db.update(t.users).set({ passwordHash, passwordChangedAt: now, updatedAt: now }).where(eq(t.users.id, userId)));
    yield* revokeSessionsOfUser(userId, now, keepSessionId)(q);
  };
}

export function setTotp(userId: number, totp: { secret: string | null; enabledAt: number | null; lastStep: number | null }, now: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(
      db.update(t.users).set({ totpSecret: totp.secret, totpEnabledAt: totp.enabledAt, totpLastStep: totp.lastStep, updatedAt: now }).where(eq(t.users.id, userId)),
    );
  };
}

/** Records the step of an accepted code only if it is later than the last (two racing sign-ins: one wins). */
export function useTotpStep(userId: number, step: number): Work<boolean> {
  return function* ({ db, t }) {
    const where = and(eq(t.users.id, userId), or(isNull(t.users.totpLastStep), sql`${t.users.totpLastStep} < ${step}`));
    return (yield* affected(db.update(t.users).set({ totpLastStep: step }).where(where))) > 0;
  };
}

// -------- agencies

export function createAgency(input: { name: string; requireTwoFactor?: boolean }, now: number): Work<AgencyRow> {
  return function* ({ db, t }) {
    const values = { name: input.name, requireTwoFactor: input.requireTwoFactor ?? false, createdAt: now, updatedAt: now };
    return (yield* row(db.insert(t.agencies).values(values).returning()))!;
  };
}

export function getAgency(id: number): Work<AgencyRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.agencies).where(eq(t.agencies.id, id)));
  };
}

export function listAgencies(): Work<AgencyRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.agencies).orderBy(asc(t.agencies.id)));
  };
}

export function updateAgency(id: number, patch: Partial<Pick<AgencyRow, 'name' | 'requireTwoFactor'>>, now: number): Work<AgencyRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.update(t.agencies).set({ ...patch, updatedAt: now }).where(eq(t.agencies.id, id)).returning());
  };
}

// -------- memberships

export type MembershipScope = { accountId: number } | { agencyId: number };

/** Adds the role, or changes it when the person already has one there. Run it as a transaction. */
export function putMembership(userId: number, scope: MembershipScope, role: RoleName, now: number): Work<MembershipRow> {
  return function* ({ db, t }) {
    const m = t.memberships;
    const where = 'accountId' in scope ? eq(m.accountId, scope.accountId) : eq(m.agencyId, scope.agencyId);
    const existing = yield* row(db.select().from(m).where(and(eq(m.userId, userId), where)));
    if (existing) return (yield* row(db.update(m).set({ role }).where(eq(m.id, existing.id)).returning()))!;
    const values = { userId, accountId: 'accountId' in scope ? scope.accountId : null, agencyId: 'agencyId' in scope ? scope.agencyId : null, role, createdAt: now };
    return (yield* row(db.insert(m).values(values).returning()))!;
  };
}

export function removeMembership(userId: number, scope: MembershipScope): Work<boolean> {
  return function* ({ db, t }) {
    const m = t.memberships;
    const where = 'accountId' in scope ? eq(m.accountId, scope.accountId) : eq(m.agencyId, scope.agencyId);
    return (yield* affected(db.delete(m).where(and(eq(m.userId, userId), where)))) > 0;
  };
}

export function membershipsOfUser(userId: number): Work<MembershipRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.memberships).where(eq(t.memberships.userId, userId)).orderBy(asc(t.memberships.id)));
  };
}

/** People with a role in this account itself or in its agency, with that role. */
export function membersOf(scope: MembershipScope): Work<Array<{ user: UserRow; membership: MembershipRow }>> {
  return function* ({ db, t }) {
    const m = t.memberships;
    const where = 'accountId' in scope ? eq(m.accountId, scope.accountId) : eq(m.agencyId, scope.agencyId);
    return yield* rows(db.select({ user: t.users, membership: m }).from(m).innerJoin(t.users, eq(t.users.id, m.userId)).where(where).orderBy(asc(t.users.id)));
  };
}

/** The accounts of these agencies (an agency role reaches all of them). */
export function accountsOfAgencies(agencyIds: readonly number[]): Work<Array<{ id: number; agencyId: number; requireTwoFactor: boolean }>> {
  return function* ({ db, t }) {
    if (agencyIds.length === 0) return [];
    const a = t.accounts;
    return yield* rows(db.select({ id: a.id, agencyId: sql<number>`${a.agencyId}`, requireTwoFactor: a.requireTwoFactor }).from(a).where(inArray(a.agencyId, [...agencyIds])));
  };
}

/** Whether any of these accounts or agencies demands a second factor. */
export function twoFactorRequired(accountIds: readonly number[], agencyIds: readonly number[]): Work<boolean> {
  return function* ({ db, t }) {
    const { accounts, agencies } = t;
    if (accountIds.length > 0) {
      const demanding = and(inArray(accounts.id, [...accountIds]), or(eq(accounts.requireTwoFactor, true), eq(agencies.requireTwoFactor, true)));
      if (yield* row(db.select({ id: accounts.id }).from(accounts).leftJoin(agencies, eq(agencies.id, accounts.agencyId)).where(demanding).limit(1))) return true;
    }
    if (agencyIds.length === 0) return false;
    const demanding = and(inArray(agencies.id, [...agencyIds]), eq(agencies.requireTwoFactor, true));
    return (yield* row(db.select({ id: agencies.id }).from(agencies).where(demanding).limit(1))) !== undefined;
  };
}

// -------- sessions

export function createSession(input: { tokenHash: string; userId: number; expiresAt: number; ip: string | null; userAgent: string | null }, now: number): Work<SessionRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.sessions).values({ ...input, createdAt: now, lastSeenAt: now }).returning()))!;
  };
}

export function findSessionByHash(tokenHash: string): Work<SessionRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.sessions).where(eq(t.sessions.tokenHash, tokenHash)));
  };
}

export function touchSession(id: number, now: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.sessions).set({ lastSeenAt: now }).where(eq(t.sessions.id, id)));
  };
}

export function revokeSession(id: number, now: number): Work<boolean> {
  return function* ({ db, t }) {
    return (yield* affected(db.update(t.sessions).set({ revokedAt: now }).where(and(eq(t.sessions.id, id), isNull(t.sessions.revokedAt))))) > 0;
  };
}

export function revokeSessionsOfUser(userId: number, now: number, exceptId: number | null = null): Work<void> {
  return function* ({ db, t }) {
    const where = [eq(t.sessions.userId, userId), isNull(t.sessions.revokedAt)];
    if (exceptId !== null) where.push(ne(t.sessions.id, exceptId));
    yield* affected(db.update(t.sessions).set({ revokedAt: now }).where(and(...where)));
  };
}

export function activeSessionsOfUser(userId: number, now: number): Work<SessionRow[]> {
  return function* ({ db, t }) {
    const s = t.sessions;
    return yield* rows(db.select().from(s).where(and(eq(s.userId, userId), isNull(s.revokedAt), gt(s.expiresAt, now))).orderBy(asc(s.id)));
  };
}

// -------- recovery codes

/** Run it as a transaction. */
export function replaceRecoveryCodes(userId: number, codeHashes: readonly string[], now: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.delete(t.recoveryCodes).where(eq(t.recoveryCodes.userId, userId)));
    for (const codeHash of codeHashes) yield* affected(db.insert(t.recoveryCodes).values({ userId, codeHash, createdAt: now }));
  };
}

/** Spends a code: true once per code. */
export function useRecoveryCode(userId: number, codeHash: string, now: number): Work<boolean> {
  return function* ({ db, t }) {
    const c = t.recoveryCodes;
    return (yield* affected(db.update(c).set({ usedAt: now }).where(and(eq(c.userId, userId), eq(c.codeHash, codeHash), isNull(c.usedAt))))) > 0;
  };
}

export function unusedRecoveryCodes(userId: number): Work<number> {
  return function* ({ db, t }) {
    const c = t.recoveryCodes;
    return (yield* row(db.select({ n: sql<number>`count(*)` }).from(c).where(and(eq(c.userId, userId), isNull(c.usedAt)))))!.n;
  };
}

// -------- password resets

export function createPasswordReset(input: { userId: number; tokenHash: string; expiresAt: number; issuedBy: string }, now: number): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.insert(t.passwordResets).values({ ...input, createdAt: now }));
  };
}

/** The unused, unexpired reset of this token hash. */
export function findPasswordReset(tokenHash: string, now: number): Work<{ userId: number } | undefined> {
  return function* ({ db, t }) {
    const r = t.passwordResets;
    return yield* row(db.select({ userId: r.userId }).from(r).where(and(eq(r.tokenHash, tokenHash), isNull(r.usedAt), gt(r.expiresAt, now))));
  };
}

/** Spends a reset token: the user id once, if it is unused and not expired. */
export function consumePasswordReset(tokenHash: string, now: number): Work<number | undefined> {
  return function* ({ db, t }) {
    const r = t.passwordResets;
    return (yield* row(db.update(r).set({ usedAt: now }).where(and(eq(r.tokenHash, tokenHash), isNull(r.usedAt), gt(r.expiresAt, now))).returning()))?.userId;
  };
}
