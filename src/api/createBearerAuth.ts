import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * An onRequest hook accepting only `Authorization: Bearer <adminToken>`. Both sides are hashed to
 * equal-length digests first, so timingSafeEqual neither throws on a length mismatch nor leaks the
 * token's length through timing.
 */
export function createBearerAuth(adminToken: string): (request: FastifyRequest) => Promise<void> {
  if (adminToken === '') throw new CallrouteError('CR_ERR_CONFIG', 'admin token must not be empty');
  const expected = digest(adminToken);
  return async (request) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    const given = digest(match?.[1] ?? '');
    const equal = timingSafeEqual(given, expected);
    if (!match || !equal) throw new CallrouteError('CR_ERR_UNAUTHORIZED');
  };
}
