/**
 * The few SQL expressions the two dialects spell differently, for works (./store.ts) that run on
 * either: each takes the work's dialect and gives SQLite the SQL it had before PostgreSQL came.
 */
import { sql, type Column, type SQL } from 'drizzle-orm';
import type { Dialect } from './store.js';

/** How many rows of the group meet `condition` (0 when none). */
export function countWhere(dialect: Dialect, condition: SQL): SQL<number> {
  return dialect === 'postgres' ? sql<number>`count(*) filter (where ${condition})` : sql<number>`coalesce(sum(${condition}), 0)`;
}

/** The text before the first `separator` (all of it when there is none); null stays null. */
export function textBefore(dialect: Dialect, column: Column, separator: string): SQL<string | null> {
  return dialect === 'postgres'
    ? sql<string | null>`split_part(${column}, ${separator}, 1)`
    : sql<string | null>`CASE WHEN instr(${column}, ${separator}) > 0 THEN substr(${column}, 1, instr(${column}, ${separator}) - 1) ELSE ${column} END`;
}

/** A JSON array of strings in `column` holds `value`, compared case-insensitively. */
export function jsonArrayHasText(dialect: Dialect, column: Column, value: string): SQL {
  return dialect === 'postgres'
    ? sql`exists (select 1 from jsonb_array_elements_text(${column}::jsonb) as element(value) where lower(element.value) = lower(${value}))`
    : sql`exists (select 1 from json_each(${column}) where lower(json_each.value) = lower(${value}))`;
}

/** The larger of two values (SQLite's scalar max(), PostgreSQL's greatest()). */
export function largerOf(dialect: Dialect, a: SQL | Column, b: SQL | Column | number): SQL<number> {
  return dialect === 'postgres' ? sql<number>`greatest(${a}, ${b})` : sql<number>`max(${a}, ${b})`;
}
