import { stat, unlink } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import type { RecordingRow } from '../persistence/schema.js';

export interface RecordingFileDirs {
  /** config.recordings.dir: `row.path` is relative to it. */
  recordingsDir: string;
  /** config.recordings.asteriskRoot: where Asterisk's spool WAVs are, when set. */
  asteriskRoot?: string;
}

/** Asterisk's default recording spool; live-recording names are relative to it. */
export const ASTERISK_RECORDING_SPOOL = 'var/spool/asterisk/recording';

/** `base/rel`, or null when `rel` would leave `base` (a path in the database never escapes its directory). */
export function inside(base: string, rel: string): string | null {
  const full = resolve(base, rel);
  const r = relative(resolve(base), full);
  return r === '' || r.startsWith('..') || isAbsolute(r) ? null : full;
}

/** Every file a recording may have left: the stored file, a kept WAV beside it, Asterisk's spool WAVs. */
export function recordingFiles(row: RecordingRow, dirs: RecordingFileDirs): string[] {
  const files: string[] = [];
  if (row.path) {
    const stored = inside(dirs.recordingsDir, row.path);
    if (stored) {
      files.push(stored);
      const ext = extname(stored);
      if (ext !== '.wav') files.push(`${stored.slice(0, stored.length - ext.length)}.wav`);
    }
  }
  if (dirs.asteriskRoot !== undefined) {
    let names: unknown = [];
    try {
      names = JSON.parse(row.asteriskNames);
    } catch {
      names = [];
    }
    const spool = join(dirs.asteriskRoot, ASTERISK_RECORDING_SPOOL);
    for (const name of Array.isArray(names) ? names : []) {
      const wav = typeof name === 'string' ? inside(spool, `${name}.wav`) : null;
      if (wav) files.push(wav);
    }
  }
  return files;
}

export interface RemovedFiles {
  removed: string[];
  bytesFreed: number;
  /** Files that exist but could not be removed (a missing file is not a failure). */
  failures: Array<{ file: string; error: string }>;
}

/** Deletes every file of a recording; idempotent. */
export async function removeRecordingFiles(row: RecordingRow, dirs: RecordingFileDirs): Promise<RemovedFiles> {
  const out: RemovedFiles = { removed: [], bytesFreed: 0, failures: [] };
  for (const file of recordingFiles(row, dirs)) {
    try {
      const { size } = await stat(file);
      await unlink(file);
      out.removed.push(file);
      out.bytesFreed += size;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue;
      out.failures.push({ file, error: code ?? (err instanceof Error ? err.message : String(err)) });
    }
  }
  return out;
}
