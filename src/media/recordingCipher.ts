/**
 * Recording encryption at rest: AES-256-GCM, one key id per file so keys can rotate (old files keep
 * naming the key they were written with; keep that key in config until they are purged).
 *
 * File format "CRE1":
 *   'CRE1' | key-id length (1 byte) | key id (UTF-8) | 12-byte IV | ciphertext | 16-byte GCM tag
 * The header (magic, key id, IV) is authenticated as AAD, so swapping the key id is detected too.
 *
 * Why one GCM message and not a chunked, seekable format: a call recording is small (an hour of
 * 32 kb/s MP3 is 14 MB), and GCM must verify the tag before any plaintext is trusted, so the reader
 * decrypts the whole file, checks the tag, and serves byte ranges from the verified buffer. A chunked
 * format (per-chunk tags, chunk index and a last-chunk flag in the AAD) would only pay off for files
 * too large to hold in memory, which recordings are not.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { CallrouteError } from '../errors.js';

const MAGIC = Buffer.from('CRE1', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;

function header(keyId: string, iv: Buffer): Buffer {
  const id = Buffer.from(keyId, 'utf8');
  if (id.length === 0 || id.length > 255) throw new CallrouteError('CR_ERR_CONFIG', `recording key id must be 1–255 bytes: ${keyId}`);
  return Buffer.concat([MAGIC, Buffer.from([id.length]), id, iv]);
}

function checkKey(keyId: string, key: Buffer): void {
  if (key.length !== 32) throw new CallrouteError('CR_ERR_CONFIG', `recording key ${keyId} must be 32 bytes, is ${key.length}`);
}

/**
 * Encrypts `plainPath` into `outPath` (temp file then rename, mode 0600). Streams: memory stays flat.
 *
 * @example await encryptFile('rec.mp3.plain', 'rec.mp3', 'k2026', keys.get('k2026')!)
 */
export async function encryptFile(plainPath: string, outPath: string, keyId: string, key: Buffer): Promise<void> {
  checkKey(keyId, key);
  const iv = randomBytes(IV_BYTES);
  const head = header(keyId, iv);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(head);
  const tmp = `${outPath}.${randomBytes(6).toString('hex')}.tmp`;
  let first = true;
  // Prepends the header and appends the tag around the cipher stream.
  const frame = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (first) {
        first = false;
        this.push(head);
      }
      cb(null, chunk);
    },
    flush(cb) {
      if (first) this.push(head);
      this.push(cipher.getAuthTag());
      cb();
    },
  });
  try {
    await pipeline(createReadStream(plainPath), cipher, frame, createWriteStream(tmp, { mode: 0o600 }));
    await rename(tmp, outPath);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** True when the file starts with the CRE1 magic (an encrypted recording). */
export async function isEncryptedFile(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    return bytesRead === MAGIC.length && b.equals(MAGIC);
  } finally {
    await fh.close();
  }
}

/** Key id a CRE1 file was encrypted with, or null for a clear file. */
export function encryptedKeyId(data: Buffer): string | null {
  if (data.length < MAGIC.length + 1 || !data.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const len = data[MAGIC.length] ?? 0;
  return data.subarray(MAGIC.length + 1, MAGIC.length + 1 + len).toString('utf8');
}

/**
 * The audio of a stored recording: a clear file as it is, an encrypted one decrypted and verified.
 * Throws CR_ERR_RECORDING_KEY_UNKNOWN when the file's key id is not in `keys`, and
 * CR_ERR_RECORDING_CORRUPT when the file is truncated or was altered (the GCM tag does not match).
 *
 * @example const audio = await readRecordingPlaintext(path, config.recordings.keys)
 */
export async function readRecordingPlaintext(filePath: string, keys: ReadonlyMap<string, Buffer>): Promise<Buffer> {
  const data = await readFile(filePath);
  if (!data.subarray(0, MAGIC.length).equals(MAGIC)) return data;
  const idLen = data[MAGIC.length] ?? 0;
  const ivStart = MAGIC.length + 1 + idLen;
  const bodyStart = ivStart + IV_BYTES;
  if (idLen === 0 || data.length < bodyStart + TAG_BYTES) {
    throw new CallrouteError('CR_ERR_RECORDING_CORRUPT', 'encrypted recording is truncated', { path: filePath });
  }
  const keyId = data.subarray(MAGIC.length + 1, ivStart).toString('utf8');
  const key = keys.get(keyId);
  if (!key) throw new CallrouteError('CR_ERR_RECORDING_KEY_UNKNOWN', `recording is encrypted with key "${keyId}", which is not configured`, { path: filePath, keyId });
  checkKey(keyId, key);
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(ivStart, bodyStart));
  decipher.setAAD(data.subarray(0, bodyStart));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(data.subarray(bodyStart, data.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new CallrouteError('CR_ERR_RECORDING_CORRUPT', 'encrypted recording failed authentication (tampered, truncated or wrong key)', { path: filePath, keyId });
  }
}
