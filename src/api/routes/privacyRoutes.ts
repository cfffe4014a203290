import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { removeRecordingFiles } from '../../media/removeRecordingFiles.js';
import {
  callsOfCaller,
  eraseCallerRows,
  listPrivacyRequests,
  recordingsOfCalls,
  recordPrivacyRequest,
  visitsByIds,
} from '../../persistence/privacyRepository.js';
import { markRecordingRemoved } from '../../persistence/recordingQueries.js';
import { PRIVACY_REQUEST_KINDS, type PrivacyRequestKind, type PrivacyRequestRow, type VisitRow } from '../../persistence/schema.js';
import { callerNumberSpellings, erasedCallerNumber } from '../../privacy/subjectNumbers.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { iso, isoOrNull, listResponse } from '../apiSchemas.js';
import { describeActor, principalOf, requestedAccounts } from '../principal.js';
import { toCallDto } from './callRoutes.js';
import { toRecordingDto } from './recordingRoutes.js';
import type { RouteDeps } from './routeDeps.js';
import { scopedAccount } from './scopedAccount.js';

type RequestBody = { kind: PrivacyRequestKind; callerNumber: string; accountId?: number };

const requestDto = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    kind: { type: 'string' },
    accountId: { type: ['integer', 'null'] },
    actor: { type: 'string' },
    result: { type: 'object', additionalProperties: true },
  },
} as const;

function toRequestDto(row: PrivacyRequestRow) {
  return { id: row.id, at: iso(row.at), kind: row.kind, accountId: row.accountId, actor: row.actor, result: JSON.parse(row.result) as Record<string, unknown> };
}

function toVisitDto(v: VisitRow) {
  return {
    id: v.id,
    accountId: v.accountId,
    visitorId: v.visitorId,
    landingPage: v.landingPage,
    referrer: v.referrer,
    utm: v.utm === null ? null : (JSON.parse(v.utm) as unknown),
    clickIds: v.clickIds === null ? null : (JSON.parse(v.clickIds) as unknown),
    source: v.source,
    medium: v.medium,
    campaign: v.campaign,
    firstVisitAt: iso(v.firstVisitAt),
    lastSeenAt: iso(v.lastSeenAt),
    releasedAt: isoOrNull(v.releasedAt),
  };
}

/**
 * Privacy requests by caller number (permission privacy:manage: owners in their accounts, the operator
 * everywhere). They run at once and answer with what was found and done:
 * - access: every call record, recording (metadata) and web visit of the caller;
 * - erasure: the recordings' files deleted (every file a recording has: Asterisk's WAVs, the transcode,
 *   the encrypted copy) and their rows marked deleted, their media jobs gone, the calls kept for the
 *   reports without who called (number → keyed hash, name, visit, click ids, referrer removed), the
 *   visits deleted. The request is stored with the subject as its keyed hash only.
 */
export function privacyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { db, now, defaultCountryCode, recordings: cfg, privacy } = deps;
  const manage = { permission: 'privacy:manage' } as const;

  app.post<{ Body: RequestBody }>(
    '/privacy/requests',
    {
      config: manage,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind', 'callerNumber'],
          properties: {
            kind: { type: 'string', enum: [...PRIVACY_REQUEST_KINDS] },
            callerNumber: { type: 'string', minLength: 1, maxLength: 64 },
            accountId: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const e164 = normalizeNumber(b.callerNumber, defaultCountryCode);
      if (!e164) throw new CallrouteError('CR_ERR_VALIDATION', 'body.callerNumber is not a phone number', { field: 'body.callerNumber' });
      if (b.accountId !== undefined) scopedAccount(db, request, b.accountId, 'body.accountId');
      // An owner names the account (the request is theirs to see later); the operator may ask everywhere.
      const scope = requestedAccounts(request, undefined);
      const accountId = b.accountId ?? (scope !== undefined && scope.length === 1 ? scope[0]! : undefined);
      if (accountId === undefined && scope !== undefined) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'body.accountId is required: name the account the request is for', { field: 'body.accountId' });
      }
      const accountIds = requestedAccounts(request, accountId);
      const found = callsOfCaller(db, callerNumberSpellings(e164, defaultCountryCode), accountIds);
      const recs = recordingsOfCalls(db, found.map((c) => c.id));
      const visitIds = [...new Set(found.flatMap((c) => (c.visitId === null ? [] : [c.visitId])))];
      const visitRows = visitsByIds(db, visitIds);
      const subjectHash = erasedCallerNumber(e164, privacy.hashSecret);
      const stored = (result: Record<string, unknown>) =>
        recordPrivacyRequest(db, {
          at: now(),
          kind: b.kind,
          subjectHash,
          accountId: accountId ?? null,
          actor: describeActor(principalOf(request).actor),
          result: JSON.stringify(result),
        });

      if (b.kind === 'access') {
        const row = stored({ calls: found.length, recordings: recs.length, visits: visitRows.length });
        return reply.code(201).send({
          request: toRequestDto(row),
          calls: found.map(toCallDto),
          recordings: recs.map(toRecordingDto),
          visits: visitRows.map(toVisitDto),
        });
      }

      const inProgress = found.filter((c) => !c.finished);
      if (inProgress.length > 0) {
        throw new CallrouteError('CR_ERR_CALL_IN_PROGRESS', `the caller has ${inProgress.length} call(s) in progress; erase once they have ended`, {
          field: 'body.callerNumber',
        });
      }
      let filesDeleted = 0;
      let bytesFreed = 0;
      for (const rec of recs) {
        const removed = await removeRecordingFiles(rec, { recordingsDir: cfg.dir, asteriskRoot: cfg.asteriskRoot });
        if (removed.failures.length > 0) {
          request.log.error({ recordingId: rec.id, failures: removed.failures }, 'privacy erasure: recording files not deleted');
          throw new Error(`recording ${rec.id}: files could not be deleted; nothing else was changed, retry the request`);
        }
        filesDeleted += removed.removed.length;
        bytesFreed += removed.bytesFreed;
      }
      for (const rec of recs) {
        if (rec.status !== 'deleted' && rec.status !== 'expired') markRecordingRemoved(db, rec.id, 'deleted', 'erased by a privacy request', now());
      }
      const { walCheckpointed } = eraseCallerRows(db, found.map((c) => c.id), subjectHash, recs.map((r) => r.id), visitIds);
      const result = { calls: found.length, recordings: recs.length, filesDeleted, bytesFreed, visits: visitRows.length, walCheckpointed };
      request.log.info({ privacyRequest: 'erasure', ...result }, 'privacy erasure done');
      return reply.code(201).send({ request: toRequestDto(stored(result)) });
    },
  );

  app.get('/privacy/requests', { config: manage, schema: { response: { 200: listResponse('requests', requestDto) } } }, async (request) => ({
    requests: listPrivacyRequests(db, requestedAccounts(request, undefined)).map(toRequestDto),
  }));
}
