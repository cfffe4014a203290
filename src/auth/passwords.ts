import { hash, verify } from '@node-rs/argon2';
import { CallrouteError } from '../errors.js';
import { COMMON_PASSWORDS } from './commonPasswords.js';

/** argon2id with the OWASP minimum (19 MiB, 2 passes, 1 lane): about 10 ms a sign-in here (npm run bench -- --only signin). */
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/** False for a wrong password and for a stored hash that is not argon2 (never throws on bad input). */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;
/**
 * Spends the time of a real check for an e-mail nobody has (or a user without a password), so the
 * answer to an unknown e-mail comes as late as the answer to a wrong password.
 */
export async function verifyNothing(password: string): Promise<false> {
  dummy ??= hashPassword('callroute: no such user, a hash to verify against');
  await verifyPassword(await dummy, password);
  return false;
}

/**
 * A new password must be long enough and not one of the passwords attackers try first (a shipped list
 * of the most common ones, and the person's own e-mail). The message names the field; it never
 * repeats the password.
 */
export function checkNewPassword(password: string, email: string, field = 'body.password'): void {
  const fail = (why: string) => new CallrouteError('CR_ERR_VALIDATION', `${field} ${why}`, { field });
  if (password.length < PASSWORD_MIN_LENGTH) throw fail(`must have at least ${PASSWORD_MIN_LENGTH} characters`);
  if (password.length > PASSWORD_MAX_LENGTH) throw fail(`must have at most ${PASSWORD_MAX_LENGTH} characters`);
  const lower = password.toLowerCase();
  const local = email.toLowerCase().split('@')[0] ?? '';
  if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(lower.replace(/\d+$/, ''))) throw fail('is one of the most common passwords');
  if (new Set(lower).size < 4) throw fail('has too few different characters');
  if (local.length >= 3 && lower.includes(local)) throw fail('must not contain your e-mail name');
  if (lower === email.toLowerCase()) throw fail('must not be your e-mail');
}
