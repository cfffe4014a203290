import { inArray, sql, type Column, type SQL } from 'drizzle-orm';

/** `column IN (ids)`, where an empty list matches no row (a principal with no account in scope). */
export function inAccounts(column: Column, ids: readonly number[]): SQL {
  // `1 = 0`, not `0`: PostgreSQL wants a boolean there.
  return ids.length === 0 ? sql`1 = 0` : inArray(column, [...ids]);
}
