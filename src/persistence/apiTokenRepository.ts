import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { apiTokens, type ApiTokenRow } from './schema.js';

export interface ApiTokenInput {
  accountId: number;
  name: string;
  /** SHA-256 hex of the token; the token itself is never stored. */
  tokenHash: string;
  prefix: string;
  /** The person the key acts for; null: the account's own. */
  userId?: number | null;
  /** JSON array of permissions. */
  scopes: string;
  expiresAt?: number | null;
}

export function createApiToken(db: Db, input: ApiTokenInput, now: number = Date.now()): ApiTokenRow {
  return db.insert(apiTokens).values({ ...input, createdAt: now }).returning().get();
}

export function listApiTokens(db: Db, accountId: number): ApiTokenRow[] {
  return db.select().from(apiTokens).where(eq(apiTokens.accountId, accountId)).orderBy(asc(apiTokens.id)).all();
}

type FindByHashStatement = { get(values: { hash: string }): ApiTokenRow | undefined };
const findByHashStatements = new WeakMap<Db, FindByHashStatement>();

/** The per-request look-up: one prepared probe of the unique index on token_hash. Revoked tokens are returned too. */
export function findApiTokenByHash(db: Db, tokenHash: string): ApiTokenRow | undefined {
  let stmt = findByHashStatements.get(db);
  if (!stmt) {
    stmt = db.select().from(apiTokens).where(eq(apiTokens.tokenHash, sql.placeholder('hash'))).limit(1).prepare();
    findByHashStatements.set(db, stmt);
  }
  return stmt.get({ hash: tokenHash });
}

/** Sets revoked_at once (a second revoke keeps the first time). Undefined when the account has no such token. */
export function revokeApiToken(db: Db, accountId: number, id: number, now: number = Date.now()): ApiTokenRow | undefined {
  const where = and(eq(apiTokens.id, id), eq(apiTokens.accountId, accountId));
  db.update(apiTokens).set({ revokedAt: now }).where(and(where, isNull(apiTokens.revokedAt))).run();
  return db.select().from(apiTokens).where(where).get();
}

export function touchApiToken(db: Db, id: number, now: number = Date.now()): void {
  db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id)).run();
}
