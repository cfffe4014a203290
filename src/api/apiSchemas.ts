/** JSON schema fragments shared by the route files. */

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
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
