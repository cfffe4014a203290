import { driverErrorCodes } from './driverErrorCodes.js';

/**
 * Constraint failures of either dialect, by code (SQLite's extended result code, PostgreSQL's
 * SQLSTATE), never by message text.
 */
export function isUniqueViolation(err: unknown): boolean {
  const codes = driverErrorCodes(err);
  return codes.includes('SQLITE_CONSTRAINT_UNIQUE') || codes.includes('23505');
}

export function isForeignKeyViolation(err: unknown): boolean {
  const codes = driverErrorCodes(err);
  return codes.includes('SQLITE_CONSTRAINT_FOREIGNKEY') || codes.includes('23503');
}
