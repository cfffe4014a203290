import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';

/** Who is calling: the operator (admin token) or a customer, limited to one account. */
export type Principal = { kind: 'admin' } | { kind: 'customer'; accountId: number; tokenId: number; prefix: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the bearer auth hook on every /v1 route before the handler runs. */
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The route is open to customer tokens (scoped to their account); every other /v1 route is admin only. */
    customer?: boolean;
  }
}

/** Route config for routes customers may call. Everything else answers customers 403. */
export const customerRoute = { customer: true } as const;

export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  // The auth hook runs before every /v1 handler; reaching here without it is a wiring bug.
  if (!p) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
  return p;
}

/** The account a customer is limited to; undefined for the admin (sees all). */
export function accountScope(request: FastifyRequest): number | undefined {
  const p = principalOf(request);
  return p.kind === 'customer' ? p.accountId : undefined;
}

/**
 * Whether the caller may see a row of this account. Rows of other accounts are answered 404 by the
 * callers, never 403, so a customer cannot learn which ids exist.
 */
export function canSee(request: FastifyRequest, accountId: number | null): boolean {
  const scope = accountScope(request);
  return scope === undefined || scope === accountId;
}
