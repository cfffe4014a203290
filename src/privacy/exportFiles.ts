import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Where exports are written and how long their link (and file) lives. */
export interface PrivacyExportSettings {
  dir: string;
  ttlSeconds: number;
}

/** The file an export request wrote: its name carries random bytes, so it cannot be guessed on disk. */
export function exportFileName(requestId: number): string {
  return `export-${requestId}-${randomBytes(8).toString('hex')}.zip`;
}

/** The archive an export request's stored result names, inside the exports directory; null when none. */
export function exportFileOf(settings: PrivacyExportSettings, result: string): string | null {
  const file = (JSON.parse(result) as { file?: unknown }).file;
  return typeof file === 'string' && /^export-\d+-[0-9a-f]{16}\.zip$/.test(file) ? join(settings.dir, file) : null;
}

/**
 * Removes the archives whose link has expired (written more than ttlSeconds ago): an export is a copy
 * of personal data and lives only as long as its link. Returns how many went.
 */
export async function removeExpiredExports(settings: PrivacyExportSettings, nowMs: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir(settings.dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    if (!/^export-\d+-[0-9a-f]{16}\.zip(\.part)?$/.test(name)) continue;
    const path = join(settings.dir, name);
    const info = await stat(path).catch(() => null);
    if (info && info.mtimeMs + settings.ttlSeconds * 1000 <= nowMs) {
      await rm(path, { force: true });
      removed += 1;
    }
  }
  return removed;
}
