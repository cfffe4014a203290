import { driverErrorCodes } from './driverErrorCodes.js';

/**
 * Recognises SQLite constraint failures by their extended result code, never by message text.
 * drizzle ≥0.44 wraps driver errors in DrizzleQueryError, so the driver error may sit in `cause`.
 * Constraint failures of both dialects: ./constraintViolations.ts.
 */
export function sqliteErrorCode(err: unknown): string | undefined {
  return driverErrorCodes(err).find((code) => code.startsWith('SQLITE_'));
}

/**
 * The database could not take the write now but may in a moment: locked by another process past the
 * busy timeout, a disk error or a full disk, a file that cannot be opened. A write that failed so is
 * worth retrying (in order); a constraint or a bug is not.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const code = sqliteErrorCode(err);
  if (code === undefined) return false;
  return /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY|PROTOCOL|NOMEM)/.test(code);
}
