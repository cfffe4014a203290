import type { UserRow } from '../persistence/schema.js';
import type { Work } from '../persistence/store.js';
import { accountsOfAgencies, membershipsOfUser, twoFactorRequired } from '../persistence/userRepository.js';
import { isPermission, KEY_SCOPES, LEGACY_TOKEN_SCOPES, ROLE_PERMISSIONS, type Permission } from './permissions.js';
import { operatorPrincipal, type Actor, type Principal } from './principal.js';

/**
 * What a person may do now, from their memberships as stored now: worked out on every request, so a
 * role changed or removed counts from the next request on (no cached rights in the session).
 * An agency role reaches every account of the agency.
 */
export function userPrincipal(user: UserRow, actor: Actor): Work<Principal> {
  return function* (q) {
    if (user.operator) return operatorPrincipal(actor);
    const grants = new Map<number, Set<Permission>>();
    const add = (accountId: number, permissions: readonly Permission[]) => {
      let set = grants.get(accountId);
      if (!set) grants.set(accountId, (set = new Set()));
      for (const p of permissions) set.add(p);
    };
    const memberships = yield* membershipsOfUser(user.id)(q);
    const agencyRoles = new Map<number, (typeof memberships)[number]['role']>();
    const directAccounts: number[] = [];
    for (const m of memberships) {
      if (m.accountId !== null) {
        directAccounts.push(m.accountId);
        add(m.accountId, ROLE_PERMISSIONS[m.role]);
      } else if (m.agencyId !== null) {
        agencyRoles.set(m.agencyId, m.role);
      }
    }
    const agencyIds = [...agencyRoles.keys()];
    for (const account of yield* accountsOfAgencies(agencyIds)(q)) add(account.id, ROLE_PERMISSIONS[agencyRoles.get(account.agencyId)!]);
    const agencyOwnerOf = agencyIds.filter((id) => agencyRoles.get(id) === 'owner');
    const principal: Principal = { actor, operator: false, grants, agencyOwnerOf };
    if (user.totpEnabledAt === null && (yield* twoFactorRequired([...grants.keys()], agencyIds)(q))) principal.mustEnrolTwoFactor = true;
    return principal;
  };
}

/** A key's scopes as stored (JSON), keeping only those a key may hold; null is a token from before scopes. */
export function keyScopes(stored: string | null): Permission[] {
  if (stored === null) return [...LEGACY_TOKEN_SCOPES];
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    return [];
  }
  return Array.isArray(parsed) ? parsed.filter((s): s is Permission => isPermission(s) && KEY_SCOPES.includes(s)) : [];
}

/**
 * An API key holds its scopes in its account; a key owned by a person holds at most what that person
 * holds there now (a key does not outlive its owner's role).
 */
export function keyPrincipal(
  scopes: readonly Permission[],
  accountId: number,
  actor: Actor,
  owner: Principal | undefined,
): Principal {
  const allowed = owner === undefined || owner.operator ? scopes : scopes.filter((s) => owner.grants.get(accountId)?.has(s));
  return { actor, operator: false, grants: new Map([[accountId, new Set(allowed)]]), agencyOwnerOf: [] };
}
