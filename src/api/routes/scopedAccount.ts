import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import type { Db } from '../../persistence/openDatabase.js';
import { canSee } from '../principal.js';

/**
 * The account a write names (body.accountId, querystring.accountId), checked to exist and to be one the
 * request may change: another tenant's account is answered exactly like a missing one.
 */
export function scopedAccount(db: Db, request: FastifyRequest, accountId: number, field: string): number {
  if (!getAccount(db, accountId) || !canSee(request, accountId)) {
    throw new CallrouteError('CR_ERR_VALIDATION', `account ${accountId} does not exist`, { field });
  }
  return accountId;
}

/** The account a path names (`/accounts/:id/...`): another tenant's, like a missing one, is a 404. */
export function accountInPath(db: Db, request: FastifyRequest, accountId: number): number {
  if (!getAccount(db, accountId) || !canSee(request, accountId)) {
    throw new CallrouteError('CR_ERR_NOT_FOUND', `account ${accountId} not found`, { field: 'params.id' });
  }
  return accountId;
}
