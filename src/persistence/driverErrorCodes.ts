/**
 * The `code`s of a database error and its causes, outermost first: drizzle (≥0.44) wraps a driver's
 * error in DrizzleQueryError, so the driver's code (SQLITE_BUSY, a PostgreSQL SQLSTATE, ECONNREFUSED)
 * may sit in `cause`. Failures are recognised by these codes, never by message text.
 */
export function driverErrorCodes(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}
