import { isAbsolute, join, normalize, posix, resolve, sep } from 'node:path';
import { CallrouteError } from '../errors.js';

export type RecordingFormat = 'mp3' | 'opus';

export const RECORDING_EXTENSIONS: Readonly<Record<RecordingFormat, string>> = Object.freeze({ mp3: 'mp3', opus: 'opus' });

export interface RecordingPathParts {
  accountId: number | null;
  callId: number;
  recordingId: number;
  /** When the call arrived (ms since the epoch); its UTC date names the folders. */
  callArrivedAt: number;
  format: RecordingFormat;
}

/**
 * Path of a stored recording relative to the recordings directory (always `/`-separated, as stored
 * in the row): `<account or 'unassigned'>/<YYYY>/<MM>/<DD>/call-<callId>-rec-<recordingId>.<ext>`.
 *
 * @example recordingRelativePath({ accountId: 7, callId: 42, recordingId: 3, callArrivedAt: Date.UTC(2026, 0, 5, 23, 59), format: 'mp3' })
 * // '7/2026/01/05/call-42-rec-3.mp3'
 */
export function recordingRelativePath(p: RecordingPathParts): string {
  const d = new Date(p.callArrivedAt);
  if (Number.isNaN(d.getTime())) throw new CallrouteError('CR_ERR_INTERNAL', `bad call time ${p.callArrivedAt}`);
  const two = (n: number): string => String(n).padStart(2, '0');
  return posix.join(
    p.accountId === null ? 'unassigned' : String(p.accountId),
    String(d.getUTCFullYear()),
    two(d.getUTCMonth() + 1),
    two(d.getUTCDate()),
    `call-${p.callId}-rec-${p.recordingId}.${RECORDING_EXTENSIONS[p.format]}`,
  );
}

/**
 * Absolute path of a stored recording from the relative path in its row. Refuses a path that
 * would leave the recordings directory (a corrupted or hand-edited row).
 */
export function resolveRecordingPath(recordingsDir: string, relativePath: string): string {
  const root = resolve(recordingsDir);
  const full = resolve(root, normalize(relativePath));
  if (isAbsolute(relativePath) || !full.startsWith(root + sep)) {
    throw new CallrouteError('CR_ERR_INTERNAL', `recording path outside the recordings directory: ${relativePath}`);
  }
  return full;
}

/** Where the router sees the WAV Asterisk recorded under `name` (Asterisk's spool, under its filesystem root). */
export function asteriskRecordingWavPath(asteriskRoot: string, name: string): string {
  if (name.includes('/') || name.includes('\0') || name === '..' || name === '.') {
    throw new CallrouteError('CR_ERR_INTERNAL', `bad Asterisk recording name: ${name}`);
  }
  return join(asteriskRoot, 'var/spool/asterisk/recording', `${name}.wav`);
}
