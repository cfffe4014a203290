import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';
import { isPermission, type Permission } from './permissions.js';

/** Who made the request, for the audit log and for messages. */
export type Actor =
  | { kind: 'admin-token' }
  | { kind: 'user'; userId: number; email: string; sessionId: number }
  | { kind: 'api-key'; keyId: number; prefix: string; userId: number | null };

/**
 * What the request may do: the operator everything everywhere; anyone else the permissions it holds
 * in each of its accounts (a person's roles there, or a key's scopes).
 */
export interface Principal {
  actor: Actor;
  operator: boolean;
  grants: ReadonlyMap<number, ReadonlySet<Permission>>;
  /** Agencies whose owner this is: accounts may be created there, people managed. */
  agencyOwnerOf: readonly number[];
  /**
   * A person whose account or agency demands a second factor they have not set up: until they do,
   * only their own sign-in routes (permission `self`) answer.
   */
  mustEnrolTwoFactor?: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every /v1 route before the handler runs (null on public routes). */
    principal: Principal | null;
    /** The account the request acted in, as the handler found it (canSee): for the audit log. */
    auditAccountId: number | null;
  }
  interface FastifyContextConfig {
    /** What a /v1 route needs. Every /v1 route has one; see src/api/permissions.ts. */
    permission?: Permission;
    /** Outside /v1: the route answers without credentials (health, signed links, the snippet). */
    public?: boolean;
  }
}

export function operatorPrincipal(actor: Actor): Principal {
  return { actor, operator: true, grants: new Map(), agencyOwnerOf: [] };
}

export function principalOf(request: FastifyRequest): Principal {
  const p = request.principal;
  // The auth hook runs before every /v1 handler; reaching here without it is a wiring bug.
  if (!p) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
  return p;
}

/** The permission the matched route needs; undefined only for a route registered wrongly. */
export function routePermission(request: FastifyRequest): Permission | undefined {
  const permission = request.routeOptions.config.permission;
  return isPermission(permission) ? permission : undefined;
}

export function holds(principal: Principal, permission: Permission, accountId: number): boolean {
  return principal.operator || principal.grants.get(accountId)?.has(permission) === true;
}

/**
 * The wall, run after authentication: the route must name a permission, and the principal must hold
 * it in at least one account (which rows it then sees is the handlers' business, through canSee and
 * accountScope). The operator passes every route that names a permission.
 */
export function checkRoutePermission(request: FastifyRequest): void {
  const permission = routePermission(request);
  if (!permission) throw new CallrouteError('CR_ERR_FORBIDDEN', 'this route has no permission and answers nobody');
  const p = principalOf(request);
  if (permission === 'self') return;
  if (p.mustEnrolTwoFactor) {
    throw new CallrouteError('CR_ERR_TWO_FACTOR_REQUIRED', 'set up two-factor sign-in first (POST /v1/auth/two-factor/enrol)');
  }
  if (p.operator) return;
  if (permission === 'installation') {
    throw new CallrouteError('CR_ERR_FORBIDDEN', 'this route needs the permission installation: the operator only', { permission });
  }
  // An agency's owner creates its accounts and manages its people, even before it has an account.
  if ((permission === 'accounts:create' || permission === 'users:manage') && p.agencyOwnerOf.length > 0) return;
  for (const set of p.grants.values()) if (set.has(permission)) return;
  throw new CallrouteError('CR_ERR_FORBIDDEN', `this route needs the permission ${permission}`, { permission });
}

/**
 * The accounts whose rows the route may show: those where the principal holds the route's permission;
 * undefined for the operator (all accounts).
 */
export function accountScope(request: FastifyRequest): readonly number[] | undefined {
  const p = principalOf(request);
  if (p.operator) return undefined;
  const permission = routePermission(request);
  const ids: number[] = [];
  if (permission) for (const [id, set] of p.grants) if (set.has(permission)) ids.push(id);
  return ids;
}

/**
 * Whether the route may touch a row of this account. Rows of other accounts are answered 404 by the
 * callers, never 403, so nobody learns which ids exist. Rows of no account (calls to unknown numbers,
 * installation-wide announcements) are the operator's.
 */
export function canSee(request: FastifyRequest, accountId: number | null): boolean {
  const p = principalOf(request);
  const permission = routePermission(request);
  const visible = p.operator || (accountId !== null && permission !== undefined && holds(p, permission, accountId));
  if (visible && accountId !== null) request.auditAccountId = accountId;
  return visible;
}

/**
 * The account a request names (`?accountId=`) narrowed to what it may see: undefined means "every
 * account in scope", an empty list means "none" (another tenant's id finds nothing, as a missing one).
 */
export function requestedAccounts(request: FastifyRequest, accountId: number | undefined): readonly number[] | undefined {
  const scope = accountScope(request);
  if (accountId === undefined) return scope;
  return scope === undefined || scope.includes(accountId) ? [accountId] : [];
}

/**
 * Whether a row may be shown to this request: in scope (canSee), and, for the record of a caller whose
 * processing is restricted (a privacy request), only to who handles privacy in its account (owners,
 * the operator). A restricted row is otherwise a 404, exactly like a missing one.
 */
export function canSeeRow(request: FastifyRequest, row: { accountId: number | null; restricted?: boolean }): boolean {
  if (row.restricted === true && !(row.accountId !== null && holds(principalOf(request), 'privacy:manage', row.accountId))) return false;
  return canSee(request, row.accountId);
}

/**
 * The accounts whose restricted call records the request may see (privacy:manage there); undefined
 * for the operator (all).
 */
export function restrictedVisibleIn(request: FastifyRequest): readonly number[] | undefined {
  const p = principalOf(request);
  if (p.operator) return undefined;
  return [...p.grants].filter(([, set]) => set.has('privacy:manage')).map(([id]) => id);
}

/** Narrows a list to the rows the route may show. */
export function visibleRows<T extends { accountId: number | null }>(request: FastifyRequest, rows: readonly T[]): T[] {
  return rows.filter((row) => canSee(request, row.accountId));
}

/** Who made the request, in words, for stored reasons ("deleted through the API by …"). */
export function describeActor(actor: Actor): string {
  switch (actor.kind) {
    case 'admin-token':
      return 'the admin token';
    case 'user':
      return `user ${actor.email}`;
    case 'api-key':
      return `token ${actor.prefix}`;
  }
}
