import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';

/**
 * One erasure as the erasure list keeps it: when, who (the subject's keyed hash only, never the
 * number or visitor id), and in which account (null: every account).
 */
export interface ErasureEntry {
  at: number;
  subjectHash: string;
  accountId: number | null;
  /** For a request about an agency: the accounts it reached (accountId is then null). */
  accountIds?: number[];
}

/**
 * Appends an erasure to the list (JSON lines, fsynced before the erasure runs). The list lives
 * beside the database, not in it: restoring an older backup of the database re-applies every
 * erasure on the list (scripts/restore.ts), so a backup never brings an erased person back.
 */
export async function appendErasure(path: string, entry: ErasureEntry): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const file = await open(path, 'a', 0o600);
  try {
    await file.write(`${JSON.stringify(entry)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Every entry of a list file; a missing file is an empty list, a line that is not an entry is skipped. */
export async function readErasureList(path: string): Promise<ErasureEntry[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: ErasureEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as Partial<ErasureEntry>;
      if (typeof e.subjectHash !== 'string' || typeof e.at !== 'number') continue;
      const entry: ErasureEntry = { at: e.at, subjectHash: e.subjectHash, accountId: typeof e.accountId === 'number' ? e.accountId : null };
      if (Array.isArray(e.accountIds) && e.accountIds.every((id) => typeof id === 'number')) entry.accountIds = e.accountIds;
      out.push(entry);
    } catch {
      // A torn last line (a crash mid-append) holds no complete entry.
    }
  }
  return out;
}
