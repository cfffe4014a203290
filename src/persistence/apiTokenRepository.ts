/** Account API keys: works of ./store.ts. */
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { ApiTokenRow } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

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

export function createApiToken(input: ApiTokenInput, now: number = Date.now()): Work<ApiTokenRow> {
  return function* ({ db, t }) {
    return (yield* row(db.insert(t.apiTokens).values({ ...input, createdAt: now }).returning()))!;
  };
}

export function listApiTokens(accountId: number): Work<ApiTokenRow[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.apiTokens).where(eq(t.apiTokens.accountId, accountId)).orderBy(asc(t.apiTokens.id)));
  };
}

/** The per-request look-up: one probe of the unique index on token_hash. Revoked tokens are returned too. */
export function findApiTokenByHash(tokenHash: string): Work<ApiTokenRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.apiTokens).where(eq(t.apiTokens.tokenHash, tokenHash)).limit(1));
  };
}

/** Sets revoked_at once (a second revoke keeps the first time). Undefined when the account has no such token. */
export function revokeApiToken(accountId: number, id: number, now: number = Date.now()): Work<ApiTokenRow | undefined> {
  return function* ({ db, t }) {
    const where = and(eq(t.apiTokens.id, id), eq(t.apiTokens.accountId, accountId));
    yield* affected(db.update(t.apiTokens).set({ revokedAt: now }).where(and(where, isNull(t.apiTokens.revokedAt))));
    return yield* row(db.select().from(t.apiTokens).where(where));
  };
}

export function touchApiToken(id: number, now: number = Date.now()): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.apiTokens).set({ lastUsedAt: now }).where(eq(t.apiTokens.id, id)));
  };
}
