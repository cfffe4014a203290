import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { resolveRecordingPath } from '../../media/recordingPaths.js';
import { csvField } from '../../persistence/callReports.js';
import type { Store } from '../../persistence/store.js';
import { findPrivacyRequest } from '../../persistence/privacyRepository.js';
import type { CallRow, RecordingRow, VisitRow } from '../../persistence/schema.js';
import { exportFileName, exportFileOf, type PrivacyExportSettings } from '../../privacy/exportFiles.js';
import { writeZip, type ZipEntry } from '../../privacy/writeZip.js';
import { recordAudit } from '../audit.js';
import { iso } from '../apiSchemas.js';
import { checkLink, signLink } from '../recordingLinks.js';
import type { MediaDeps, RecordingsApiConfig } from './routeDeps.js';

/** What the signed link of an export signs: never a recording's id. */
const linkSubject = (requestId: number): string => `export:${requestId}`;

const EXPORT_README = `This archive holds what callroute stores about one person, found by a privacy request:
- subject.json: every call record, recording (metadata) and web visit, as the API shows them;
- calls.csv and visits.csv: the same calls and visits as tables;
- recordings/: the audio of each call recording, decrypted, as it was stored.
`;

function csv(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): Buffer {
  return Buffer.from([header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n', 'utf8');
}

/**
 * The archive's files: JSON of what access shows, CSV tables, and each stored recording's audio in
 * plaintext (an encrypted file is decrypted; a recording whose file is gone is listed in the JSON only).
 */
export async function exportEntries(
  found: { calls: CallRow[]; recordings: RecordingRow[]; visits: VisitRow[] },
  json: unknown,
  deps: { recordings: Pick<RecordingsApiConfig, 'dir' | 'keys'>; media: Pick<MediaDeps, 'readPlaintext'> },
): Promise<{ entries: ZipEntry[]; audioFiles: number }> {
  const entries: ZipEntry[] = [
    { name: 'README.txt', data: Buffer.from(EXPORT_README, 'utf8') },
    { name: 'subject.json', data: Buffer.from(`${JSON.stringify(json, null, 2)}\n`, 'utf8') },
    {
      name: 'calls.csv',
      data: csv(
        ['id', 'arrivedAt', 'did', 'callerNumber', 'callerName', 'disposition', 'talkSeconds', 'source', 'medium', 'campaign', 'landingPage', 'referrer'],
        found.calls.map((c) => [c.id, iso(c.arrivedAt), c.did, c.callerNumber, c.callerName, c.disposition, c.talkSeconds, c.source, c.medium, c.campaign, c.landingPage, c.referrer]),
      ),
    },
    {
      name: 'visits.csv',
      data: csv(
        ['id', 'visitorId', 'firstVisitAt', 'lastSeenAt', 'landingPage', 'referrer', 'source', 'medium', 'campaign'],
        found.visits.map((v) => [v.id, v.visitorId, iso(v.firstVisitAt), iso(v.lastSeenAt), v.landingPage, v.referrer, v.source, v.medium, v.campaign]),
      ),
    },
  ];
  let audioFiles = 0;
  for (const rec of found.recordings) {
    if (rec.status !== 'ready' || !rec.path) continue;
    const file = resolveRecordingPath(deps.recordings.dir, rec.path);
    let data: Buffer;
    try {
      data = await deps.media.readPlaintext(file, deps.recordings.keys);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    entries.push({ name: `recordings/call-${rec.callId}-recording-${rec.id}.${rec.format ?? 'audio'}`, data });
    audioFiles += 1;
  }
  return { entries, audioFiles };
}

/** Writes the archive of a request; returns its file name and the link that downloads it until it expires. */
export async function writeExport(
  requestId: number,
  entries: readonly ZipEntry[],
  settings: PrivacyExportSettings,
  link: { secret: string; publicBaseUrl: string; nowMs: number },
): Promise<{ file: string; bytes: number; url: string; expiresAt: string }> {
  await mkdir(settings.dir, { recursive: true, mode: 0o700 });
  const file = exportFileName(requestId);
  const { bytes } = await writeZip(join(settings.dir, file), entries, new Date(link.nowMs));
  const exp = Math.floor(link.nowMs / 1000) + settings.ttlSeconds;
  const sig = signLink(linkSubject(requestId), exp, link.secret);
  return { file, bytes, url: `${link.publicBaseUrl}/privacy-exports/${requestId}?exp=${exp}&sig=${sig}`, expiresAt: iso(exp * 1000) };
}

/**
 * GET /privacy-exports/:id?exp&sig: the archive of an export request, for whoever holds its signed
 * link until it expires (handed to the person by the account's owner). Each download is an audit entry.
 */
export function privacyExportLinkRoutes(
  app: FastifyInstance,
  deps: { store: Store; now: () => number; linkSecret: string; exports: PrivacyExportSettings },
): void {
  app.get<{ Params: { id: number }; Querystring: Record<string, unknown> }>(
    '/privacy-exports/:id',
    // No automatic HEAD: it would run the handler, and each run is a download in the audit log.
    { config: { public: true }, exposeHeadRoute: false, schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'integer', minimum: 1 } } } } },
    async (request, reply) => {
      const { id } = request.params;
      const one = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
      const check = checkLink(linkSubject(id), one(request.query.exp), one(request.query.sig), deps.linkSecret, Math.floor(deps.now() / 1000));
      if (check === 'invalid') throw new CallrouteError('CR_ERR_LINK_INVALID', 'link signature is not valid for this export');
      if (check === 'expired') throw new CallrouteError('CR_ERR_LINK_EXPIRED', 'link has expired; ask for a new export');
      const row = await deps.store.run(findPrivacyRequest(id));
      const path = row?.kind === 'export' ? exportFileOf(deps.exports, row.result) : null;
      const info = path ? await stat(path).catch(() => null) : null;
      if (!row || !path || !info) throw new CallrouteError('CR_ERR_NOT_FOUND', `export ${id} is no longer kept; ask for a new one`);
      request.auditAccountId = row.accountId;
      await recordAudit(deps.store, request, { action: 'privacy.export.download', target: `/privacy-exports/${id}`, actor: 'signed link' }, deps.now());
      return reply
        .header('content-type', 'application/zip')
        .header('content-length', info.size)
        .header('content-disposition', `attachment; filename="callroute-privacy-export-${id}.zip"`)
        .header('cache-control', 'private, no-store')
        .send(createReadStream(path));
    },
  );
}
