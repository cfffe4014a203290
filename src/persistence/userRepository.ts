import { and, asc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import {
  accounts,
  agencies,
  memberships,
  passwordResets,
  recoveryCodes,
  sessions,
  users,
  type AgencyRow,
  type MembershipRow,
  type RoleName,
  type SessionRow,
  type UserRow,
} from './schema.js';

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

export function createUser(db: Db, input: UserInput, now: number): UserRow {
  return db
    .insert(users)
    .values({
      email: normalizeEmail(input.email),
      name: input.name,
      passwordHash: input.passwordHash ?? null,
      operator: input.operator ?? false,
      passwordChangedAt: input.passwordHash ? now : null,
      createdAt: now,
      updatedAt: now,
    })
    .returning()
    .get();
}

export function getUser(db: Db, id: number): UserRow | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function findUserByEmail(db: Db, email: string): UserRow | undefined {
  return db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
}

export function listUsers(db: Db): UserRow[] {
  return db.select().from(users).orderBy(asc(users.id)).all();
}

/** Removes the person: memberships, sessions, keys, codes and resets go with them (foreign keys cascade). */
export function deleteUser(db: Db, id: number): boolean {
  return db.delete(users).where(eq(users.id, id)).run().changes > 0;
}

export function updateUser(db: Db, id: number, patch: Partial<Pick<UserRow, 'name' | 'operator'>>, now: number): UserRow | undefined {
  return db.update(users).set({ ...patch, updatedAt: now }).where(eq(users.id, id)).returning().get();
}

/**
 * A new password: every session of the person but `keepSessionId` (the one that changed it) ends,
 * so a stolen session does not outlive the change.
 */
export function setPassword(db: Db, userId: number, passwordHash: string, now: number, keepSessionId: number | null = null): void {
  db.transaction((tx) => {
    tx.update(users).set({ passwordHash, passwordChangedAt: now, updatedAt: now }).where(eq(users.id, userId)).run();
    revokeSessionsOfUser(tx as unknown as Db, userId, now, keepSessionId);
  });
}

export function setTotp(
  db: Db,
  userId: number,
  totp: { secret: string | null; enabledAt: number | null; lastStep: number | null },
  now: number,
): void {
  db.update(users)
    .set({ totpSecret: totp.secret, totpEnabledAt: totp.enabledAt, totpLastStep: totp.lastStep, updatedAt: now })
    .where(eq(users.id, userId))
    .run();
}

/** Records the step of an accepted code only if it is later than the last (two racing sign-ins: one wins). */
export function useTotpStep(db: Db, userId: number, step: number): boolean {
  const res = db
    .update(users)
    .set({ totpLastStep: step })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), sql`${users.totpLastStep} < ${step}`)))
    .run();
  return res.changes > 0;
}

// -------- agencies

export function createAgency(db: Db, input: { name: string; requireTwoFactor?: boolean }, now: number): AgencyRow {
  return db
    .insert(agencies)
    .values({ name: input.name, requireTwoFactor: input.requireTwoFactor ?? false, createdAt: now, updatedAt: now })
    .returning()
    .get();
}

export function getAgency(db: Db, id: number): AgencyRow | undefined {
  return db.select().from(agencies).where(eq(agencies.id, id)).get();
}

export function listAgencies(db: Db): AgencyRow[] {
  return db.select().from(agencies).orderBy(asc(agencies.id)).all();
}

export function updateAgency(db: Db, id: number, patch: Partial<Pick<AgencyRow, 'name' | 'requireTwoFactor'>>, now: number): AgencyRow | undefined {
  return db.update(agencies).set({ ...patch, updatedAt: now }).where(eq(agencies.id, id)).returning().get();
}

// -------- memberships

export type MembershipScope = { accountId: number } | { agencyId: number };

/** Adds the role, or changes it when the person already has one there. */
export function putMembership(db: Db, userId: number, scope: MembershipScope, role: RoleName, now: number): MembershipRow {
  const where = 'accountId' in scope ? eq(memberships.accountId, scope.accountId) : eq(memberships.agencyId, scope.agencyId);
  const existing = db.select().from(memberships).where(and(eq(memberships.userId, userId), where)).get();
  if (existing) return db.update(memberships).set({ role }).where(eq(memberships.id, existing.id)).returning().get()!;
  return db
    .insert(memberships)
    .values({ userId, accountId: 'accountId' in scope ? scope.accountId : null, agencyId: 'agencyId' in scope ? scope.agencyId : null, role, createdAt: now })
    .returning()
    .get();
}

export function removeMembership(db: Db, userId: number, scope: MembershipScope): boolean {
  const where = 'accountId' in scope ? eq(memberships.accountId, scope.accountId) : eq(memberships.agencyId, scope.agencyId);
  return db.delete(memberships).where(and(eq(memberships.userId, userId), where)).run().changes > 0;
}

export function membershipsOfUser(db: Db, userId: number): MembershipRow[] {
  return db.select().from(memberships).where(eq(memberships.userId, userId)).orderBy(asc(memberships.id)).all();
}

/** People with a role in this account itself or in its agency, with that role. */
export function membersOf(db: Db, scope: MembershipScope): Array<{ user: UserRow; membership: MembershipRow }> {
  const where = 'accountId' in scope ? eq(memberships.accountId, scope.accountId) : eq(memberships.agencyId, scope.agencyId);
  return db
    .select({ user: users, membership: memberships })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(where)
    .orderBy(asc(users.id))
    .all();
}

/** The accounts of these agencies (an agency role reaches all of them). */
export function accountsOfAgencies(db: Db, agencyIds: readonly number[]): Array<{ id: number; agencyId: number; requireTwoFactor: boolean }> {
  if (agencyIds.length === 0) return [];
  return db
    .select({ id: accounts.id, agencyId: sql<number>`${accounts.agencyId}`, requireTwoFactor: accounts.requireTwoFactor })
    .from(accounts)
    .where(inArray(accounts.agencyId, [...agencyIds]))
    .all();
}

/** Whether any of these accounts or agencies demands a second factor. */
export function twoFactorRequired(db: Db, accountIds: readonly number[], agencyIds: readonly number[]): boolean {
  const byAccount =
    accountIds.length > 0 &&
    db
      .select({ id: accounts.id })
      .from(accounts)
      .leftJoin(agencies, eq(agencies.id, accounts.agencyId))
      .where(and(inArray(accounts.id, [...accountIds]), or(eq(accounts.requireTwoFactor, true), eq(agencies.requireTwoFactor, true))))
      .limit(1)
      .get() !== undefined;
  const byAgency =
    agencyIds.length > 0 &&
    db.select({ id: agencies.id }).from(agencies).where(and(inArray(agencies.id, [...agencyIds]), eq(agencies.requireTwoFactor, true))).limit(1).get() !==
      undefined;
  return byAccount || byAgency;
}

// -------- sessions

export function createSession(
  db: Db,
  input: { tokenHash: string; userId: number; expiresAt: number; ip: string | null; userAgent: string | null },
  now: number,
): SessionRow {
  return db
    .insert(sessions)
    .values({ ...input, createdAt: now, lastSeenAt: now })
    .returning()
    .get();
}

export function findSessionByHash(db: Db, tokenHash: string): SessionRow | undefined {
  return db.select().from(sessions).where(eq(sessions.tokenHash, tokenHash)).get();
}

export function touchSession(db: Db, id: number, now: number): void {
  db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, id)).run();
}

export function revokeSession(db: Db, id: number, now: number): boolean {
  return db.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.id, id), isNull(sessions.revokedAt))).run().changes > 0;
}

export function revokeSessionsOfUser(db: Db, userId: number, now: number, exceptId: number | null = null): void {
  const where = [eq(sessions.userId, userId), isNull(sessions.revokedAt)];
  if (exceptId !== null) where.push(ne(sessions.id, exceptId));
  db.update(sessions).set({ revokedAt: now }).where(and(...where)).run();
}

export function activeSessionsOfUser(db: Db, userId: number, now: number): SessionRow[] {
  return db
    .select()
    .from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .orderBy(asc(sessions.id))
    .all();
}

// -------- recovery codes

export function replaceRecoveryCodes(db: Db, userId: number, codeHashes: readonly string[], now: number): void {
  db.transaction((tx) => {
    tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run();
    for (const codeHash of codeHashes) tx.insert(recoveryCodes).values({ userId, codeHash, createdAt: now }).run();
  });
}

/** Spends a code: true once per code. */
export function useRecoveryCode(db: Db, userId: number, codeHash: string, now: number): boolean {
  const res = db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, codeHash), isNull(recoveryCodes.usedAt)))
    .run();
  return res.changes > 0;
}

export function unusedRecoveryCodes(db: Db, userId: number): number {
  return db
    .select({ n: sql<number>`count(*)` })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
    .get()!.n;
}

// -------- password resets

export function createPasswordReset(db: Db, input: { userId: number; tokenHash: string; expiresAt: number; issuedBy: string }, now: number): void {
  db.insert(passwordResets).values({ ...input, createdAt: now }).run();
}

/** The unused, unexpired reset of this token hash. */
export function findPasswordReset(db: Db, tokenHash: string, now: number): { userId: number } | undefined {
  return db
    .select({ userId: passwordResets.userId })
    .from(passwordResets)
    .where(and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .get();
}

/** Spends a reset token: the user id once, if it is unused and not expired. */
export function consumePasswordReset(db: Db, tokenHash: string, now: number): number | undefined {
  const row = db
    .update(passwordResets)
    .set({ usedAt: now })
    .where(and(eq(passwordResets.tokenHash, tokenHash), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, now)))
    .returning()
    .get();
  return row?.userId;
}
