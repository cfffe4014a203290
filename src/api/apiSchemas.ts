/** JSON schema fragments shared by the route files. */
import { CallrouteError } from '../errors.js';

export const nullableString = (maxLength: number) => ({ type: ['string', 'null'], maxLength }) as const;

export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1 } },
} as const;

export interface IdParams {
  id: number;
}

/** `?accountId=` on list routes. */
export const accountFilterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { accountId: { type: 'integer', minimum: 1 } },
} as const;

/** A list response `{ <key>: [item, ...] }`. */
export function listResponse<K extends string, T extends object>(key: K, item: T) {
  return { type: 'object', additionalProperties: false, required: [key], properties: { [key]: { type: 'array', items: item } } } as const;
}

export const isoTime = { type: 'string' } as const;
export const nullableIsoTime = { type: ['string', 'null'] } as const;

/** Renders a stored millisecond time as ISO 8601 (UTC). */
export { iso, isoOrNull } from '../isoTime.js';

/** A date-time query parameter in ms; undefined when absent, a 400 naming the field when not a date. */
export function parseIsoTime(value: string | undefined, field: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new CallrouteError('CR_ERR_VALIDATION', `${field} must be an ISO 8601 date-time`, { field });
  return ms;
}
