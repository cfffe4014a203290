import type { FastifyInstance } from 'fastify';
import { listAudit, type AuditFilter } from '../../persistence/auditRepository.js';
import type { AuditRow } from '../../persistence/schema.js';
import { iso, isoTime, listResponse, parseIsoTime } from '../apiSchemas.js';
import { requestedAccounts } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

const auditDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'at', 'actorKind', 'actor', 'actorUserId', 'actorKeyId', 'accountId', 'action', 'target', 'detail', 'ip'],
  properties: {
    id: { type: 'integer' },
    at: isoTime,
    actorKind: { type: 'string' },
    actor: { type: 'string' },
    actorUserId: { type: ['integer', 'null'] },
    actorKeyId: { type: ['integer', 'null'] },
    accountId: { type: ['integer', 'null'] },
    action: { type: 'string' },
    target: { type: ['string', 'null'] },
    detail: { type: ['object', 'null'], additionalProperties: true },
    ip: { type: ['string', 'null'] },
  },
} as const;

function toAuditDto(row: AuditRow) {
  return { ...row, at: iso(row.at), detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>) };
}

interface AuditQuery {
  accountId?: number;
  actorUserId?: number;
  action?: string;
  from?: string;
  to?: string;
  before?: number;
  limit: number;
}


/**
 * GET /v1/audit: newest first, filtered by account, actor, action and time; page with `before` (the
 * last id of the previous page). Owners see their accounts' entries; the operator sees all, sign-ins too.
 * There is no route that changes or deletes an entry.
 */
export function auditRoutes(app: FastifyInstance, { store }: RouteDeps): void {
  app.get<{ Querystring: AuditQuery }>(
    '/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            accountId: { type: 'integer', minimum: 1 },
            actorUserId: { type: 'integer', minimum: 1 },
            action: { type: 'string', minLength: 1, maxLength: 200 },
            from: { type: 'string', format: 'date-time' },
            to: { type: 'string', format: 'date-time' },
            before: { type: 'integer', minimum: 1 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: { 200: { ...listResponse('entries', auditDto), properties: { entries: { type: 'array', items: auditDto }, nextBefore: { type: ['integer', 'null'] } }, required: ['entries', 'nextBefore'] } },
      },
    },
    async (request) => {
      const q = request.query;
      const filter: AuditFilter = { limit: q.limit };
      const accountIds = requestedAccounts(request, q.accountId);
      if (accountIds !== undefined) filter.accountIds = accountIds;
      if (q.actorUserId !== undefined) filter.actorUserId = q.actorUserId;
      if (q.action !== undefined) filter.action = q.action;
      const from = parseIsoTime(q.from, 'querystring.from');
      const to = parseIsoTime(q.to, 'querystring.to');
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      if (q.before !== undefined) filter.before = q.before;
      const rows = await store.run(listAudit(filter));
      return { entries: rows.map(toAuditDto), nextBefore: rows.length === q.limit ? rows[rows.length - 1]!.id : null };
    },
  );
}
