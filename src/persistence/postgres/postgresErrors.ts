/**
 * Recognises PostgreSQL failures by SQLSTATE (and the driver's network errors by their errno code),
 * never by message text (driverErrorCodes: the codes of the error and its causes).
 */
import { driverErrorCodes } from '../driverErrorCodes.js';

/** SQLSTATEs of an answer that may come out differently a moment later. */
const TRANSIENT_STATES = new Set([
  '57P01', // admin_shutdown: the server is going down (a restart)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '53100', // disk_full
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

const NETWORK_CODES = /^E(CONNREFUSED|CONNRESET|PIPE|TIMEDOUT|HOSTUNREACH|NETUNREACH|AI_AGAIN)$/;


const isSqlState = (code: string): boolean => /^[0-9A-Z]{5}$/.test(code);

/**
 * The database could not take the query now but may in a moment: the server restarting or gone
 * (a connection refused, reset or cut: "Connection terminated" carries no code at all), a
 * connection-class SQLSTATE (08xxx), too many connections, a serialization failure. A query the
 * server answered with another SQLSTATE (a constraint, bad SQL: a bug) is not.
 */
export function isTransientPostgresError(err: unknown): boolean {
  const codes = driverErrorCodes(err);
  const state = codes.find(isSqlState);
  if (state !== undefined) return state.startsWith('08') || TRANSIENT_STATES.has(state);
  if (codes.some((c) => NETWORK_CODES.test(c))) return true;
  // The driver's own connection failures (cut mid-query, not queryable) come wrapped, without a code.
  const name = (err as { name?: unknown } | null)?.name;
  return name === 'DrizzleQueryError' && codes.length === 0;
}
