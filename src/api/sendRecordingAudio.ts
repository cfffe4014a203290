import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CallrouteError } from '../errors.js';
import { inside } from '../media/removeRecordingFiles.js';
import type { RecordingRow } from '../persistence/schema.js';

export interface AudioDeps {
  recordingsDir: string;
  keys: ReadonlyMap<string, Buffer>;
  /** Decrypts a file stored encrypted (recordingCipher's readRecordingPlaintext). */
  readPlaintext: (filePath: string, keys: ReadonlyMap<string, Buffer>) => Promise<Buffer>;
}

const CONTENT_TYPE_BY_FORMAT: Readonly<Record<string, string>> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  ogg: 'audio/ogg',
  wav: 'audio/wav',
};

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * One `Range: bytes=…` against a body of `size` bytes (RFC 9110 §14). Null means "ignore the header
 * and send everything": absent, not bytes, malformed, or several ranges (allowed; a multipart answer
 * is not worth it for audio players, which ask for one range).
 *
 * @example parseRange('bytes=0-99', 1000)  // { start: 0, end: 99 }
 * @example parseRange('bytes=-100', 1000)  // { start: 900, end: 999 }
 * @example parseRange('bytes=2000-', 1000) // 'unsatisfiable'
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== '' && Number(b) < start) return null;
  if (start >= size) return 'unsatisfiable';
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string | undefined): boolean {
  if (header === undefined || etag === undefined) return false;
  return header.split(',').some((t) => {
    const tag = t.trim().replace(/^W\//, '');
    return tag === '*' || tag === etag;
  });
}

function notServable(row: RecordingRow, why?: string): CallrouteError {
  const reason = why ?? row.statusReason;
  return new CallrouteError(
    'CR_ERR_RECORDING_NOT_READY',
    `recording ${row.id} is ${row.status}${reason ? ` (${reason})` : ''}; there is no audio to serve`,
    { status: row.status },
  );
}

/**
 * Answers GET/HEAD for a recording's audio: Content-Type, Content-Length, ETag (the SHA-256 of the
 * audio as served), Accept-Ranges, one byte range (206 / 416), If-None-Match (304) and If-Range.
 * Files in clear stream from disk; encrypted files (AES-256-GCM, a whole-file tag) must be decrypted
 * entirely before any byte can be trusted, so they are decrypted into memory and sliced.
 */
export async function sendRecordingAudio(
  request: FastifyRequest,
  reply: FastifyReply,
  row: RecordingRow,
  deps: AudioDeps,
): Promise<FastifyReply> {
  if (row.status !== 'ready' || !row.path) throw notServable(row);
  const file = inside(deps.recordingsDir, row.path);
  if (!file) throw notServable(row, 'stored path is outside the recordings directory');

  const etag = row.sha256 ? `"${row.sha256}"` : undefined;
  const contentType =
    row.contentType ?? (row.format ? CONTENT_TYPE_BY_FORMAT[row.format] : undefined) ?? 'application/octet-stream';
  void reply.header('accept-ranges', 'bytes').header('cache-control', 'private, no-cache');
  if (etag) void reply.header('etag', etag);

  if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();

  let size: number;
  let plaintext: Buffer | undefined;
  try {
    if (row.keyId !== null) {
      plaintext = await deps.readPlaintext(file, deps.keys);
      size = plaintext.length;
    } else {
      size = (await stat(file)).size;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    request.log.warn({ recordingId: row.id, file }, 'recording file is missing');
    throw notServable(row, 'its file is missing from storage');
  }

  // If-Range: a range is only valid against the representation the client already has.
  const ifRange = request.headers['if-range'];
  const rangeHeader = ifRange === undefined || ifRange === etag ? request.headers.range : undefined;
  const range = parseRange(rangeHeader, size);
  if (range === 'unsatisfiable') {
    throw new CallrouteError('CR_ERR_RANGE_NOT_SATISFIABLE', `range ${rangeHeader ?? ''} is outside the ${size} bytes`, {
      field: 'headers.range',
      headers: { 'content-range': `bytes */${size}` },
    });
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? size - 1;
  const length = size === 0 ? 0 : end - start + 1;
  void reply.header('content-type', contentType).header('content-length', String(length));
  if (range) void reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`);

  if (request.method === 'HEAD' || length === 0) return reply.send();
  if (plaintext) return reply.send(plaintext.subarray(start, end + 1));
  return reply.send(createReadStream(file, { start, end }));
}
