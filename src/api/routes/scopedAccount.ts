import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import type { Store } from '../../persistence/store.js';
import { canSee } from '../principal.js';

/**
 * The account a write names (body.accountId, querystring.accountId), checked to exist and to be one the
 * request may change: another tenant's account is answered exactly like a missing one.
 */
export async function scopedAccount(store: Store, request: FastifyRequest, accountId: number, field: string): Promise<number> {
  if (!canSee(request, accountId) || !(await store.run(getAccount(accountId)))) {
    throw new CallrouteError('CR_ERR_VALIDATION', `account ${accountId} does not exist`, { field });
  }
  return accountId;
}

/** The account a path names (`/accounts/:id/...`): another tenant's, like a missing one, is a 404. */
export async function accountInPath(store: Store, request: FastifyRequest, accountId: number): Promise<number> {
  if (!canSee(request, accountId) || !(await store.run(getAccount(accountId)))) {
    throw new CallrouteError('CR_ERR_NOT_FOUND', `account ${accountId} not found`, { field: 'params.id' });
  }
  return accountId;
}
