import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { findDisallowedDestinations, listDialAllowlist, replaceDialAllowlist } from '../../persistence/dialAllowlistRepository.js';
import { DIAL_ALLOWLIST_KINDS, type DialAllowlistKind, type DialAllowlistRow } from '../../persistence/schema.js';
import { normalizeAllowlistValue, PREMIUM_RATE_PREFIXES, type AllowlistEntry } from '../../routing/dialAllowlist.js';
import { nullableString } from '../apiSchemas.js';
import type { RouteDeps } from './routeDeps.js';

const entrySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'value'],
  properties: {
    kind: { type: 'string', enum: [...DIAL_ALLOWLIST_KINDS] },
    value: { type: 'string', minLength: 1, maxLength: 253 },
    note: nullableString(200),
  },
} as const;

const allowlistDto = {
  type: 'object',
  additionalProperties: false,
  required: ['entries', 'premiumRatePrefixes'],
  properties: {
    entries: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['kind', 'value', 'note'],
        properties: { kind: { type: 'string' }, value: { type: 'string' }, note: { type: ['string', 'null'] } },
      },
    },
    /** Refused whatever the entries say (read only). */
    premiumRatePrefixes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['prefix', 'what'],
        properties: { prefix: { type: 'string' }, what: { type: 'string' } },
      },
    },
  },
} as const;

interface PutBody {
  entries: { kind: DialAllowlistKind; value: string; note?: string | null }[];
}

function toDto(rows: DialAllowlistRow[]) {
  return {
    entries: rows.map((r) => ({ kind: r.kind, value: r.value, note: r.note })),
    premiumRatePrefixes: PREMIUM_RATE_PREFIXES.map((p) => ({ prefix: p.prefix, what: p.what })),
  };
}

/**
 * The dial allowlist (toll-fraud guard), admin only. PUT replaces it, and is refused (409) when a
 * saved route plan or tracking number would fall outside it: every stored destination always
 * passes the allowlist, so nothing stored can be dialed that the allowlist does not allow.
 * An empty allowlist means: numbers in DEFAULT_COUNTRY_CODE only (not premium-rate), any SIP host.
 */
export function dialAllowlistRoutes(app: FastifyInstance, { store, defaultCountryCode, now }: RouteDeps): void {
  app.get('/dial-allowlist', { config: { permission: 'installation' }, schema: { response: { 200: allowlistDto } } }, async () => toDto(await store.run(listDialAllowlist())));

  app.put<{ Body: PutBody }>(
    '/dial-allowlist',
    {
      config: { permission: 'installation' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['entries'],
          properties: { entries: { type: 'array', maxItems: 500, items: entrySchema } },
        },
        response: { 200: allowlistDto },
      },
    },
    async (request) => {
      const entries = request.body.entries.map((e, i) => {
        const value = normalizeAllowlistValue(e.kind, e.value);
        if (value === null) {
          const field = `body.entries.${i}.value`;
          const want = e.kind === 'prefix' ? "'+' and the country code or a longer prefix (e.g. +1, +44, +1555)" : 'a host name or IP address, without scheme or port';
          throw new CallrouteError('CR_ERR_VALIDATION', `${field}: ${e.value} is not a ${e.kind} entry; expected ${want}`, { field });
        }
        return { kind: e.kind, value, note: e.note ?? null };
      });

      const list: AllowlistEntry[] = entries.map((e) => ({ kind: e.kind, value: e.value }));
      const conflicts = await store.run(findDisallowedDestinations(list, defaultCountryCode));
      if (conflicts.length > 0) {
        const more = conflicts.length > 5 ? `; and ${conflicts.length - 5} more` : '';
        throw new CallrouteError(
          'CR_ERR_ALLOWLIST_CONFLICT',
          `body.entries would refuse destinations in use; change them first: ${conflicts.slice(0, 5).join('; ')}${more}`,
          { field: 'body.entries' },
        );
      }
      return toDto(await store.run(replaceDialAllowlist(entries, now()), { transaction: true }));
    },
  );
}
