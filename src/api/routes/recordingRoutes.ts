import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { purgeExpiredRecordings } from '../../media/purgeExpiredRecordings.js';
import { removeRecordingFiles } from '../../media/removeRecordingFiles.js';
import { getCall } from '../../persistence/callQueries.js';
import { findRecording, markRecordingRemoved, recordingsOfCall } from '../../persistence/recordingQueries.js';
import type { RecordingRow } from '../../persistence/schema.js';
import { idParams, iso, isoOrNull, isoTime, nullableIsoTime, type IdParams, listResponse } from '../apiSchemas.js';
import { canSee, canSeeRow, describeActor, principalOf } from '../principal.js';
import { checkRecordingLink, signRecordingLink } from '../recordingLinks.js';
import { sendRecordingAudio, type AudioDeps } from '../sendRecordingAudio.js';
import type { RouteDeps } from './routeDeps.js';

const nullableStr = { type: ['string', 'null'] } as const;
const nullableInt = { type: ['integer', 'null'] } as const;
const nullableNum = { type: ['number', 'null'] } as const;

const recordingDto = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { type: 'integer' },
    callId: { type: 'integer' },
    accountId: nullableInt,
    kind: { type: 'string' },
    status: { type: 'string' },
    statusReason: nullableStr,
    channels: { type: 'string' },
    format: nullableStr,
    codec: nullableStr,
    contentType: nullableStr,
    sizeBytes: nullableInt,
    durationSeconds: nullableNum,
    sha256: nullableStr,
    encrypted: { type: 'boolean' },
    createdAt: isoTime,
    stoppedAt: nullableIsoTime,
    readyAt: nullableIsoTime,
    deletedAt: nullableIsoTime,
  },
} as const;

/** The key id stays internal; customers only learn whether the file is encrypted at rest. */
export function toRecordingDto(row: RecordingRow) {
  return {
    id: row.id,
    callId: row.callId,
    accountId: row.accountId,
    kind: row.kind,
    status: row.status,
    statusReason: row.statusReason,
    channels: row.channels,
    format: row.format,
    codec: row.codec,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    durationSeconds: row.durationSeconds,
    sha256: row.sha256,
    encrypted: row.keyId !== null,
    createdAt: iso(row.startedAt),
    stoppedAt: isoOrNull(row.stoppedAt),
    readyAt: isoOrNull(row.readyAt),
    deletedAt: isoOrNull(row.deletedAt),
  };
}

function recordingNotFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `recording ${id} not found`, { field: 'params.id' });
}

/** Recordings routes under /v1 (customers scoped to their account; purge is admin only). */
export function recordingRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, recordings: cfg, media, now, nodeId } = deps;
  const audioDeps: AudioDeps = { recordingsDir: cfg.dir, keys: cfg.keys, readPlaintext: media.readPlaintext };

  /**
   * Another account's recording is a 404, exactly like one that does not exist; so is the recording
   * of a restricted caller's call for anyone who does not handle privacy there (canSeeRow).
   */
  async function visibleRecording(request: FastifyRequest, id: number): Promise<RecordingRow> {
    const row = await store.run(findRecording(id));
    if (!row || !canSee(request, row.accountId)) throw recordingNotFound(id);
    const call = await store.run(getCall(row.callId));
    if (call && !canSeeRow(request, call)) throw recordingNotFound(id);
    return row;
  }

  app.get<{ Params: IdParams }>(
    '/calls/:id/recordings',
    {
      config: { permission: 'recordings:read' },
      schema: {
        params: idParams,
        response: {
          200: listResponse('recordings', recordingDto),
        },
      },
    },
    async (request) => {
      const call = await store.run(getCall(request.params.id));
      if (!call || !canSeeRow(request, call)) {
        throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${request.params.id} not found`, { field: 'params.id' });
      }
      return { recordings: (await store.run(recordingsOfCall(call.id))).map(toRecordingDto) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/recordings/:id',
    { config: { permission: 'recordings:read' }, schema: { params: idParams, response: { 200: recordingDto } } },
    async (request) => toRecordingDto(await visibleRecording(request, request.params.id)),
  );

  // HEAD declared with GET: fastify's automatic HEAD route would read a whole file stream just to drop it
  // and reset Content-Length on an empty body; sendRecordingAudio answers HEAD itself, without a body.
  app.route<{ Params: IdParams }>({
    method: ['GET', 'HEAD'],
    url: '/recordings/:id/audio',
    config: { permission: 'recordings:listen' },
    schema: { params: idParams },
    handler: async (request, reply) =>
      sendRecordingAudio(request, reply, await visibleRecording(request, request.params.id), audioDeps),
  });

  app.post<{ Params: IdParams; Body: { ttlSeconds?: number } | undefined }>(
    '/recordings/:id/link',
    {
      config: { permission: 'recordings:listen' },
      schema: {
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { ttlSeconds: { type: 'integer', minimum: 1, maximum: cfg.linkTtlSeconds } },
        },
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['url', 'expiresAt'],
            properties: { url: { type: 'string' }, expiresAt: isoTime },
          },
        },
      },
    },
    async (request) => {
      const row = await visibleRecording(request, request.params.id);
      const ttl = request.body?.ttlSeconds ?? cfg.linkTtlSeconds;
      const exp = Math.floor(now() / 1000) + ttl;
      const sig = signRecordingLink(row.id, exp, cfg.linkSecret);
      return { url: `${cfg.publicBaseUrl}/r/${row.id}?exp=${exp}&sig=${sig}`, expiresAt: iso(exp * 1000) };
    },
  );

  app.delete<{ Params: IdParams }>(
    '/recordings/:id',
    { config: { permission: 'recordings:delete' }, schema: { params: idParams } },
    async (request, reply) => {
      const row = await visibleRecording(request, request.params.id);
      // Already gone: DELETE is idempotent, and the first reason (e.g. expired) is kept.
      if (row.status === 'deleted' || row.status === 'expired') return reply.code(204).send();
      if (row.status === 'recording' || row.status === 'processing') {
        throw new CallrouteError(
          'CR_ERR_RECORDING_NOT_READY',
          `recording ${row.id} is ${row.status}; delete it once it is ready`,
          { status: row.status },
        );
      }
      const removed = await removeRecordingFiles(row, { recordingsDir: cfg.dir, asteriskRoot: cfg.asteriskRoot });
      if (removed.failures.length > 0) {
        request.log.error({ recordingId: row.id, failures: removed.failures }, 'recording files not deleted');
        throw new Error(`recording ${row.id}: files could not be deleted`);
      }
      const by = describeActor(principalOf(request).actor);
      await store.run(markRecordingRemoved(row.id, 'deleted', `deleted through the API by ${by}`, now()), { transaction: true });
      request.log.info({ recordingId: row.id, bytesFreed: removed.bytesFreed }, 'recording deleted');
      return reply.code(204).send();
    },
  );

  app.post(
    '/recordings/purge',
    {
      config: { permission: 'installation' },
      schema: {
        response: {
          200: {
            type: 'object',
            additionalProperties: false,
            required: ['checked', 'purged', 'bytesFreed', 'failures'],
            properties: {
              checked: { type: 'integer' },
              purged: { type: 'integer' },
              bytesFreed: { type: 'integer' },
              failures: {
                type: 'array',
                items: {
                  type: 'object',
                  additionalProperties: false,
                  properties: { recordingId: { type: 'integer' }, error: { type: 'string' } },
                },
              },
            },
          },
        },
      },
    },
    async (request) =>
      purgeExpiredRecordings({ store, recordingsDir: cfg.dir, asteriskRoot: cfg.asteriskRoot, now, logger: request.log, nodeId }),
  );
}

/**
 * GET /r/:id?exp=&sig= — no Authorization header: for players that cannot send one. The signature is
 * checked before the recording is looked up, so an unsigned request learns nothing about which ids exist.
 */
export function signedLinkRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, recordings: cfg, media, now } = deps;
  const audioDeps: AudioDeps = { recordingsDir: cfg.dir, keys: cfg.keys, readPlaintext: media.readPlaintext };
  app.route<{ Params: IdParams; Querystring: Record<string, unknown> }>({
    method: ['GET', 'HEAD'],
    url: '/r/:id',
    config: { public: true },
    schema: { params: idParams },
    handler: async (request, reply) => {
      const { id } = request.params;
      // A repeated parameter arrives as an array: anything but one string is simply not a valid link.
      const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      const { exp, sig } = request.query;
      const check = checkRecordingLink(id, one(exp), one(sig), cfg.linkSecret, Math.floor(now() / 1000));
      if (check === 'invalid') throw new CallrouteError('CR_ERR_LINK_INVALID', 'link signature is not valid for this recording');
      if (check === 'expired') throw new CallrouteError('CR_ERR_LINK_EXPIRED', 'link has expired; ask for a new one');
      const row = await store.run(findRecording(id));
      if (!row) throw recordingNotFound(id);
      // For the audit log's entry of this play (the link's issuer is in the entry of its POST .../link).
      request.auditAccountId = row.accountId;
      return sendRecordingAudio(request, reply, row, audioDeps);
    },
  });
}
