import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getAccount } from '../../persistence/accountRepository.js';
import {
  createAnnouncement,
  deleteAnnouncement,
  finishAnnouncement,
  getAnnouncement,
  listAnnouncements,
  trackingNumbersUsingAnnouncement,
} from '../../persistence/announcementRepository.js';
import { routePlansUsingAnnouncement } from '../../persistence/routePlanRepository.js';
import type { AnnouncementRow } from '../../persistence/schema.js';
import { idParams, iso, isoTime, type IdParams, accountFilterQuery, listResponse } from '../apiSchemas.js';
import { canSee } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

/** Where uploaded announcements go under Asterisk's sounds directory; Asterisk plays them as `callroute/<file>`. */
export const ANNOUNCEMENT_SOUNDS_DIR = 'var/lib/asterisk/sounds/callroute';
export const ANNOUNCEMENT_MAX_BYTES = 10 * 1024 * 1024;

const announcementDto = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'accountId', 'name', 'soundName', 'durationSeconds', 'createdAt'],
  properties: {
    id: { type: 'integer' },
    accountId: { type: ['integer', 'null'] },
    name: { type: 'string' },
    soundName: { type: 'string' },
    durationSeconds: { type: ['number', 'null'] },
    createdAt: isoTime,
  },
} as const;

function toAnnouncementDto(row: AnnouncementRow) {
  return {
    id: row.id,
    accountId: row.accountId,
    name: row.name,
    soundName: row.soundName,
    durationSeconds: row.durationSeconds,
    createdAt: iso(row.createdAt),
  };
}

/**
 * Recognises the containers ffmpeg is asked to read by their first bytes, so a JSON document or a
 * PDF sent as octet-stream gets a clear 400 instead of an ffmpeg failure.
 */
export function looksLikeAudio(b: Buffer): boolean {
  const ascii = (start: number, s: string) => b.subarray(start, start + s.length).toString('latin1') === s;
  return (
    (ascii(0, 'RIFF') && (ascii(8, 'WAVE') || ascii(8, 'AVI '))) ||
    ascii(0, 'ID3') ||
    (b.length > 1 && b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) || // MPEG audio frame sync (MP3, AAC ADTS)
    ascii(0, 'OggS') ||
    ascii(0, 'fLaC') ||
    (ascii(0, 'FORM') && (ascii(8, 'AIFF') || ascii(8, 'AIFC'))) ||
    ascii(0, '#!AMR') ||
    ascii(0, '.snd') ||
    ascii(4, 'ftyp') || // MP4 / M4A
    ascii(0, 'caff') || // Core Audio
    (b[0] === 0x30 && b[1] === 0x26 && b[2] === 0xb2 && b[3] === 0x75) || // ASF / WMA
    (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) // Matroska / WebM
  );
}

/** runFfmpeg's error for a run that finished with a non-zero exit code (as opposed to one that never ran). */
function ffmpegRejectedInput(err: unknown): boolean {
  if (!(err instanceof CallrouteError) || err.code !== 'CR_ERR_MEDIA') return false;
  const exitCode = err.details?.exitCode;
  return typeof exitCode === 'number' && exitCode !== 0;
}

function isAudioContentType(value: string | undefined): boolean {
  const type = (value ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return type.startsWith('audio/') || type === 'application/octet-stream';
}

interface UploadQuery {
  name: string;
  accountId?: number;
}

/** Admin only. Uploads take the raw audio as the body (no multipart), converted to what Asterisk plays. */
export function announcementRoutes(app: FastifyInstance, { store, recordings: cfg, media, now }: RouteDeps): void {
  const soundsDir = join(cfg.asteriskRoot, ANNOUNCEMENT_SOUNDS_DIR);

  // Encapsulated: the raw-body parsers apply to these routes only. Every content type is read as bytes,
  // so the handler can answer a clear 400 for a non-audio one (instead of fastify's bare 415).
  void app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ANNOUNCEMENT_MAX_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    raw.post<{ Querystring: UploadQuery; Body: Buffer | undefined }>(
      '/announcements',
      {
        bodyLimit: ANNOUNCEMENT_MAX_BYTES,
        config: { permission: 'configuration:write' },
        schema: {
          querystring: {
            type: 'object',
            additionalProperties: false,
            required: ['name'],
            properties: {
              name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' },
              accountId: { type: 'integer', minimum: 1 },
            },
          },
          response: { 201: announcementDto },
        },
      },
      async (request, reply) => {
        const contentType = request.headers['content-type'];
        if (!isAudioContentType(contentType)) {
          throw new CallrouteError(
            'CR_ERR_NOT_AUDIO',
            `headers.content-type must be audio/* or application/octet-stream (got ${contentType ?? 'none'})`,
            { field: 'headers.content-type' },
          );
        }
        const body = request.body;
        if (!Buffer.isBuffer(body) || body.length === 0) {
          throw new CallrouteError('CR_ERR_NOT_AUDIO', 'body is empty; send the audio file as the request body', { field: 'body' });
        }
        if (!looksLikeAudio(body)) {
          throw new CallrouteError(
            'CR_ERR_NOT_AUDIO',
            'body is not a recognised audio file (WAV, MP3, AAC, Ogg/Opus, FLAC, AIFF, AMR, AU, CAF, M4A, WMA or WebM)',
            { field: 'body' },
          );
        }
        const { name, accountId = null } = request.query;
        // An installation-wide announcement (no account) is the operator's to add (canSee(null)).
        if (accountId === null && !canSee(request, null)) {
          throw new CallrouteError('CR_ERR_VALIDATION', 'querystring.accountId is required: only the operator adds shared announcements', {
            field: 'querystring.accountId',
          });
        }
        if (accountId !== null && (!(await store.run(getAccount(accountId))) || !canSee(request, accountId))) {
          throw new CallrouteError('CR_ERR_VALIDATION', `account ${accountId} does not exist`, { field: 'querystring.accountId' });
        }
        // The row first: its id names the file. A failed conversion removes both.
        const row = await store.run(createAnnouncement({ accountId, name: name.trim(), soundName: '' }, now()));
        const base = `announcement-${row.id}`;
        const out = join(soundsDir, base);
        try {
          await mkdir(soundsDir, { recursive: true });
          const { durationSeconds } = await media.convertAnnouncement(body, out, media.ffmpeg());
          const done = await store.run(finishAnnouncement(row.id, { soundName: `callroute/${base}`, durationSeconds }));
          request.log.info({ announcementId: row.id, durationSeconds }, 'announcement converted');
          return reply.code(201).send(toAnnouncementDto(done ?? row));
        } catch (err) {
          await store.run(deleteAnnouncement(row.id));
          await unlink(`${out}.wav`).catch(() => undefined);
          // The upload's fault (not decodable, no audio, too long): 400 naming the body. ffmpeg missing, a
          // timeout or a disk error is ours, and goes to the error handler as a 500.
          if (err instanceof CallrouteError && err.code === 'CR_ERR_VALIDATION') {
            request.log.info({ err, announcementId: row.id }, 'announcement refused');
            throw new CallrouteError('CR_ERR_VALIDATION', `body: ${err.message}`, { field: 'body' });
          }
          if (ffmpegRejectedInput(err)) {
            request.log.info({ err, announcementId: row.id }, 'announcement refused');
            throw new CallrouteError('CR_ERR_NOT_AUDIO', 'body could not be decoded as audio', { field: 'body' });
          }
          throw err;
        }
      },
    );
  });

  app.get<{ Querystring: { accountId?: number } }>(
    '/announcements',
    {
      config: { permission: 'configuration:read' },
      schema: {
        querystring: accountFilterQuery,
        response: {
          200: listResponse('announcements', announcementDto),
        },
      },
    },
    async (request) => {
      const { accountId } = request.query;
      const rows = await store.run(listAnnouncements(accountId === undefined ? {} : { accountId }));
      return { announcements: rows.filter((row) => sharedOrVisible(request, row.accountId)).map(toAnnouncementDto) };
    },
  );

  app.get<{ Params: IdParams }>(
    '/announcements/:id',
    { config: { permission: 'configuration:read' }, schema: { params: idParams, response: { 200: announcementDto } } },
    async (request) => {
      const row = await store.run(getAnnouncement(request.params.id));
      if (!row || !sharedOrVisible(request, row.accountId)) throw notFound(request.params.id);
      return toAnnouncementDto(row);
    },
  );

  // What the announcement sounds like, for the dashboard's player: the WAV Asterisk plays (8 kHz mono,
  // at most a few hundred KiB), sent whole.
  app.route<{ Params: IdParams }>({
    method: ['GET', 'HEAD'],
    url: '/announcements/:id/audio',
    config: { permission: 'configuration:read' },
    schema: { params: idParams },
    handler: async (request, reply) => {
      const { id } = request.params;
      const row = await store.run(getAnnouncement(id));
      if (!row || !sharedOrVisible(request, row.accountId)) throw notFound(id);
      const audio = await readFile(join(soundsDir, `announcement-${id}.wav`)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') throw new CallrouteError('CR_ERR_NOT_FOUND', `announcement ${id} has no audio file`, { field: 'params.id' });
        throw err;
      });
      void reply.header('content-type', 'audio/wav').header('cache-control', 'private, no-cache').header('content-length', String(audio.length));
      return request.method === 'HEAD' ? reply.send() : reply.send(audio);
    },
  });

  const writable = { config: { permission: 'configuration:write' as const }, schema: { params: idParams } };
  app.delete<{ Params: IdParams }>('/announcements/:id', writable, async (request, reply) => {
    const { id } = request.params;
    const current = await store.run(getAnnouncement(id));
    // Shared announcements are seen by every account but deleted by the operator only (canSee(null)).
    if (!current || !canSee(request, current.accountId)) throw notFound(id);
    const users = await store.run(trackingNumbersUsingAnnouncement(id));
    if (users.length > 0) {
      throw new CallrouteError(
        'CR_ERR_ANNOUNCEMENT_IN_USE',
        `announcement ${id} is played by tracking number${users.length > 1 ? 's' : ''} ${users.join(', ')}; change them first`,
        { field: 'params.id' },
      );
    }
    const plans = await store.run(routePlansUsingAnnouncement(id));
    if (plans.length > 0) {
      throw new CallrouteError(
        'CR_ERR_ANNOUNCEMENT_IN_USE',
        `announcement ${id} is played by route plan${plans.length > 1 ? 's' : ''} ${plans.join(', ')} (whisper or voicemail greeting); change them first`,
        { field: 'params.id' },
      );
    }
    await store.run(deleteAnnouncement(id));
    await unlink(join(soundsDir, `announcement-${id}.wav`)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') request.log.warn({ err, announcementId: id }, 'announcement file not deleted');
    });
    return reply.code(204).send();
  });
}

/** Installation-wide announcements (no account) are offered to every account; the rest to their own. */
function sharedOrVisible(request: FastifyRequest, accountId: number | null): boolean {
  return accountId === null || canSee(request, accountId);
}

function notFound(id: number): CallrouteError {
  return new CallrouteError('CR_ERR_NOT_FOUND', `announcement ${id} not found`, { field: 'params.id' });
}
