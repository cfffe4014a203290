import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { listAccounts } from '../../persistence/accountRepository.js';
import {
  addCallerPrivacyRule,
  listCallerPrivacyRules,
  removeCallerPrivacyRule,
  removeCallerPrivacyRules,
  setCallsRestricted,
} from '../../persistence/callerPrivacyRepository.js';
import { listPrivacyRequests, recordPrivacyRequest, setPrivacyRequestResult } from '../../persistence/privacyRepository.js';
import {
  PRIVACY_REQUEST_KINDS,
  type CallerPrivacyRuleRow,
  type PrivacyRequestKind,
  type PrivacyRequestRow,
  type VisitRow,
} from '../../persistence/schema.js';
import { callerNumberSpellings } from '../../privacy/subjectNumbers.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { iso, isoOrNull, listResponse, type IdParams } from '../apiSchemas.js';
import { describeActor, principalOf, requestedAccounts } from '../principal.js';
import { toCallDto } from './callRoutes.js';
import { disclosuresOfCalls } from '../../persistence/disclosureQueries.js';
import { toRecordingDto } from './recordingRoutes.js';
import type { RouteDeps } from './routeDeps.js';
import { eraseFound } from '../../privacy/eraseSubject.js';
import { findSubject, type Subject } from '../../privacy/findSubject.js';
import { appendErasure } from '../../privacy/erasureList.js';
import { exportEntries, writeExport } from './privacyExport.js';
import { accountInPath, scopedAccount } from './scopedAccount.js';

type RequestBody = { kind: PrivacyRequestKind; callerNumber?: string; visitorId?: string; visitId?: number; accountId?: number; agencyId?: number };

const requestDto = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    at: { type: 'string' },
    kind: { type: 'string' },
    accountId: { type: ['integer', 'null'] },
    agencyId: { type: ['integer', 'null'] },
    actor: { type: 'string' },
    result: { type: 'object', additionalProperties: true },
  },
} as const;

function toRequestDto(row: PrivacyRequestRow) {
  return { id: row.id, at: iso(row.at), kind: row.kind, accountId: row.accountId, agencyId: row.agencyId, actor: row.actor, result: JSON.parse(row.result) as Record<string, unknown> };
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

/** The subject a request body names: exactly one of callerNumber, visitorId, visitId. */
function subjectOf(b: RequestBody, defaultCountryCode: string): Subject {
  const named = (['callerNumber', 'visitorId', 'visitId'] as const).filter((k) => b[k] !== undefined);
  if (named.length !== 1) {
    throw new CallrouteError('CR_ERR_VALIDATION', 'body must name the subject once: callerNumber, visitorId or visitId', { field: 'body.callerNumber' });
  }
  if (b.callerNumber !== undefined) {
    const e164 = normalizeNumber(b.callerNumber, defaultCountryCode);
    if (!e164) throw new CallrouteError('CR_ERR_VALIDATION', 'body.callerNumber is not a phone number', { field: 'body.callerNumber' });
    return { callerNumber: e164 };
  }
  if ((b.kind === 'restriction' || b.kind === 'lift-restriction')) {
    // Future calls are matched by the number they come from; a browser is known only once it calls.
    throw new CallrouteError('CR_ERR_VALIDATION', `body.callerNumber is required for ${b.kind}: restriction applies to a caller's number`, { field: 'body.callerNumber' });
  }
  return b.visitorId !== undefined ? { visitorId: b.visitorId } : { visitId: b.visitId as number };
}

/**
 * Privacy requests (permission privacy:manage: owners in their accounts, the operator everywhere),
 * about a caller number, a website visitor or a visit. They run at once and answer with what was
 * found and done:
 * - access: every call record, recording (metadata) and web visit of the subject;
 * - erasure: the recordings' files deleted (every file a recording has: Asterisk's WAVs, the transcode,
 *   the encrypted copy) and their rows marked deleted, their media jobs gone, the calls kept for the
 *   reports without who called (number → keyed hash, name, visit, click ids, referrer removed), the
 *   visits deleted, a restriction of the caller ended (nothing is left to restrict);
 * - restriction: the caller's records hidden from everyone without privacy:manage, and their next
 *   calls routed but neither recorded nor attributed (a `restricted` caller rule, which Asterisk's
 *   routing table carries); lift-restriction undoes both.
 * The request is stored with the subject as its keyed hash only.
 */
export function privacyRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, now, defaultCountryCode, recordings: cfg, privacy, media } = deps;
  const manage = { permission: 'privacy:manage' } as const;

  app.post<{ Body: RequestBody }>(
    '/privacy/requests',
    {
      config: manage,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['kind'],
          properties: {
            kind: { type: 'string', enum: [...PRIVACY_REQUEST_KINDS] },
            callerNumber: { type: 'string', minLength: 1, maxLength: 64 },
            visitorId: { type: 'string', minLength: 1, maxLength: 64 },
            visitId: { type: 'integer', minimum: 1 },
            accountId: { type: 'integer', minimum: 1 },
            agencyId: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const subject = subjectOf(b, defaultCountryCode);
      if (b.accountId !== undefined && b.agencyId !== undefined) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'body.agencyId: name one account or one agency, not both', { field: 'body.agencyId' });
      }
      if (b.accountId !== undefined) await scopedAccount(store, request, b.accountId, 'body.accountId');
      // An owner names the account (the request is theirs to see later), an agency's owner the agency;
      // the operator may ask everywhere.
      const scope = requestedAccounts(request, undefined);
      const agencyId = b.agencyId ?? null;
      const accountId = agencyId !== null ? undefined : (b.accountId ?? (scope !== undefined && scope.length === 1 ? scope[0]! : undefined));
      if (accountId === undefined && agencyId === null && scope !== undefined) {
        throw new CallrouteError('CR_ERR_VALIDATION', 'body.accountId is required: name the account (or agencyId) the request is for', { field: 'body.accountId' });
      }
      const accountIds = agencyId !== null ? await agencyAccounts(agencyId, scope) : requestedAccounts(request, accountId);
      const data = await store.run(findSubject(subject, accountIds, { defaultCountryCode, hashSecret: privacy.hashSecret }));
      const stored = (result: object) =>
        store.run(recordPrivacyRequest({
          at: now(),
          kind: b.kind,
          subjectHash: data.subjectHash,
          accountId: accountId ?? null,
          agencyId,
          actor: describeActor(principalOf(request).actor),
          // A request about an agency keeps the accounts it reached (a restore re-applies an erasure there).
          result: JSON.stringify(agencyId !== null ? { ...result, accounts: accountIds } : result),
        }));

      const counts = { calls: data.calls.length, recordings: data.recordings.length, visits: data.visits.length };
      // Who outside callroute was told of the calls (ad platforms, webhook receivers): the recipients an access request names.
      const told = await store.run(disclosuresOfCalls(data.calls.map((c) => c.id)));
      const disclosures = {
        conversions: told.conversions.map((c) => ({ ...c, sentAt: isoOrNull(c.sentAt) })),
        webhooks: told.webhooks.map((w) => ({ ...w, firstAt: iso(w.firstAt), lastAt: iso(w.lastAt) })),
      };
      const shown = { calls: data.calls.map(toCallDto), recordings: data.recordings.map(toRecordingDto), visits: data.visits.map(toVisitDto), disclosures };
      if (b.kind === 'access') return reply.code(201).send({ request: toRequestDto(await stored(counts)), ...shown });
      if (b.kind === 'export') {
        const row = await stored(counts);
        const { entries, audioFiles } = await exportEntries(data, { generatedAt: iso(now()), request: row.id, ...shown }, { recordings: cfg, media });
        const written = await writeExport(row.id, entries, privacy.exports, { secret: cfg.linkSecret, publicBaseUrl: cfg.publicBaseUrl, nowMs: now() });
        const result = { ...counts, audioFiles, bytes: written.bytes, file: written.file, expiresAt: written.expiresAt };
        await store.run(setPrivacyRequestResult(row.id, JSON.stringify(result)));
        request.log.info({ privacyRequest: 'export', requestId: row.id, ...counts, audioFiles, bytes: written.bytes }, 'privacy export written');
        return reply.code(201).send({ request: toRequestDto({ ...row, result: JSON.stringify(result) }), download: { url: written.url, expiresAt: written.expiresAt } });
      }
      if (b.kind === 'restriction' || b.kind === 'lift-restriction') {
        const caller = (subject as { callerNumber: string }).callerNumber;
        const accounts = accountIds ?? (await store.run(listAccounts())).map((a) => a.id);
        const restrict = b.kind === 'restriction';
        const actor = describeActor(principalOf(request).actor);
        const spellings = callerNumberSpellings(caller, defaultCountryCode);
        const result = await store.run(
          function* (q) {
            let rules = 0;
            for (const id of accounts) {
              if (restrict) rules += (yield* addCallerPrivacyRule({ accountId: id, callerNumber: caller, rule: 'restricted', createdAt: now(), createdBy: actor })(q)).added ? 1 : 0;
              else rules += yield* removeCallerPrivacyRules(id, spellings, ['restricted'])(q);
            }
            const calls = yield* setCallsRestricted(data.calls.map((c) => c.id), restrict)(q);
            return restrict ? { calls, accounts: accounts.length, rulesAdded: rules } : { calls, accounts: accounts.length, rulesRemoved: rules };
          },
          { transaction: true },
        );
        request.log.info({ privacyRequest: b.kind, ...result }, 'privacy request done');
        return reply.code(201).send({ request: toRequestDto(await stored(result)) });
      }

      const inProgress = data.calls.filter((c) => !c.finished);
      if (inProgress.length > 0) {
        throw new CallrouteError('CR_ERR_CALL_IN_PROGRESS', `the subject has ${inProgress.length} call(s) in progress; erase once they have ended`, {
          field: 'callerNumber' in subject ? 'body.callerNumber' : 'body',
        });
      }
      // Written before anything is erased: a database restored from an older backup re-applies it (scripts/restore.ts).
      await appendErasure(privacy.erasureList, {
        at: now(),
        subjectHash: data.subjectHash,
        accountId: accountId ?? null,
        ...(agencyId !== null && accountIds ? { accountIds: [...accountIds] } : {}),
      });
      const result = await eraseFound(
        data,
        { store, now, recordingsDir: cfg.dir, asteriskRoot: cfg.asteriskRoot, hashSecret: privacy.hashSecret, defaultCountryCode, exports: privacy.exports, logger: request.log },
        'callerNumber' in subject ? { e164: subject.callerNumber, restrictionAccounts: accountIds ?? (await store.run(listAccounts())).map((a) => a.id) } : null,
      );
      request.log.info({ privacyRequest: 'erasure', ...result }, 'privacy erasure done');
      return reply.code(201).send({ request: toRequestDto(await stored(result)) });
    },
  );

  /** The client accounts of an agency the request handles privacy in; none (or no such agency) is a 400, as for an account. */
  async function agencyAccounts(agencyId: number, scope: readonly number[] | undefined): Promise<number[]> {
    const ids = (await store.run(listAccounts()))
      .filter((a) => a.agencyId === agencyId && (scope === undefined || scope.includes(a.id)))
      .map((a) => a.id);
    if (ids.length === 0) throw new CallrouteError('CR_ERR_VALIDATION', `agency ${agencyId} does not exist`, { field: 'body.agencyId' });
    return ids;
  }

  app.get('/privacy/requests', { config: manage, schema: { response: { 200: listResponse('requests', requestDto) } } }, async (request) => {
    const scope = requestedAccounts(request, undefined);
    const agencies = scope === undefined ? [] : [...new Set((await store.run(listAccounts())).flatMap((a) => (scope.includes(a.id) && a.agencyId !== null ? [a.agencyId] : [])))];
    return { requests: (await store.run(listPrivacyRequests(scope, agencies))).map(toRequestDto) };
  });

  doNotRecordRoutes(app, deps);
}

const doNotRecordDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    accountId: { type: 'integer' },
    callerNumber: { type: 'string' },
    createdAt: { type: 'string' },
    createdBy: { type: 'string' },
  },
} as const;

function toDoNotRecordDto(row: CallerPrivacyRuleRow) {
  return { id: row.id, accountId: row.accountId, callerNumber: row.callerNumber, createdAt: iso(row.createdAt), createdBy: row.createdBy };
}

/**
 * An account's do-not-record list: callers whose calls are routed as usual but never recorded,
 * whatever the number's setting (Asterisk checks the routing table's entry before MixMonitor; the
 * router, its in-memory copy). Kept by whoever configures the account (configuration:write); an
 * erasure leaves it alone, since it is how the caller's objection is honoured.
 */
function doNotRecordRoutes(app: FastifyInstance, { store, now, defaultCountryCode }: RouteDeps): void {
  const params = { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } as const;

  app.get<{ Params: IdParams }>(
    '/accounts/:id/do-not-record',
    { config: { permission: 'configuration:read' }, schema: { params, response: { 200: listResponse('entries', doNotRecordDto) } } },
    async (request) => ({ entries: (await store.run(listCallerPrivacyRules('do-not-record', [await accountInPath(store, request, request.params.id)]))).map(toDoNotRecordDto) }),
  );

  app.post<{ Params: IdParams; Body: { callerNumber: string } }>(
    '/accounts/:id/do-not-record',
    {
      config: { permission: 'configuration:write' },
      schema: {
        params,
        body: { type: 'object', additionalProperties: false, required: ['callerNumber'], properties: { callerNumber: { type: 'string', minLength: 1, maxLength: 64 } } },
        response: { 200: doNotRecordDto, 201: doNotRecordDto },
      },
    },
    async (request, reply) => {
      const accountId = await accountInPath(store, request, request.params.id);
      const e164 = normalizeNumber(request.body.callerNumber, defaultCountryCode);
      if (!e164) throw new CallrouteError('CR_ERR_VALIDATION', 'body.callerNumber is not a phone number', { field: 'body.callerNumber' });
      const { row, added } = await store.run(addCallerPrivacyRule({ accountId, callerNumber: e164, rule: 'do-not-record', createdAt: now(), createdBy: describeActor(principalOf(request).actor) }));
      return reply.code(added ? 201 : 200).send(toDoNotRecordDto(row));
    },
  );

  app.delete<{ Params: { id: number; entryId: number } }>(
    '/accounts/:id/do-not-record/:entryId',
    {
      config: { permission: 'configuration:write' },
      schema: {
        params: { type: 'object', required: ['id', 'entryId'], properties: { id: { type: 'integer', minimum: 1 }, entryId: { type: 'integer', minimum: 1 } } },
      },
    },
    async (request, reply) => {
      const accountId = await accountInPath(store, request, request.params.id);
      if (!(await store.run(removeCallerPrivacyRule(accountId, request.params.entryId, 'do-not-record')))) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `do-not-record entry ${request.params.entryId} not found`, { field: 'params.entryId' });
      }
      return reply.code(204).send();
    },
  );
}
