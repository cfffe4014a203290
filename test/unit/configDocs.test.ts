/**
 * The configuration reference (docs/operations.md) against loadConfig: every key the code reads is
 * in the table and every key in the table is read, with the default the code falls back to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const source = readFileSync(join(REPO, 'src/config/loadConfig.ts'), 'utf8');
const docs = readFileSync(join(REPO, 'docs/operations.md'), 'utf8');

/** Keys the code reads, with the literal default when it is one (a number or a quoted string). */
function keysRead(): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const m of source.matchAll(/\b(?:str|int|address|sipCode)\('([A-Z][A-Z0-9_]+)'(?:,\s*([^,)]+))?/g)) {
    const raw = m[2]?.trim() ?? null;
    const literal = raw === null ? null : /^'[^']*'$/.test(raw) ? raw.slice(1, -1) : /^[\d_]+$/.test(raw) ? raw.replaceAll('_', '') : null;
    if (!out.has(m[1] as string) || literal !== null) out.set(m[1] as string, literal);
  }
  for (const m of source.matchAll(/\boneOf\('([A-Z][A-Z0-9_]+)',\s*\[[^\]]*\][^,]*,\s*'([^']*)'/g)) out.set(m[1] as string, m[2] as string);
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)/g)) if (!out.has(m[1] as string)) out.set(m[1] as string, null);
  return out;
}

/**
 * The table's rows: key → its default cell. A row may name several keys (`A` / `B`) with their
 * defaults in the same order (`1` / `2`). A key named in the page's prose (in backticks) but in no
 * row counts as documented, without a default.
 */
function keysDocumented(): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of docs.matchAll(/^\| (`[A-Z][A-Z0-9_]+`(?: \/ `[A-Z][A-Z0-9_]+`)*) \| ([^|]*) \|/gm)) {
    const keys = [...(m[1] as string).matchAll(/`([A-Z0-9_]+)`/g)].map((k) => k[1] as string);
    const cells = (m[2] as string).split(' / ').map((c) => c.trim());
    keys.forEach((k, i) => out.set(k, cells.length === keys.length ? (cells[i] as string) : (m[2] as string).trim()));
  }
  for (const m of docs.matchAll(/`([A-Z][A-Z0-9_]{3,})`/g)) if (!out.has(m[1] as string)) out.set(m[1] as string, '');
  return out;
}

describe('docs/operations.md configuration table', () => {
  const read = keysRead();
  const documented = keysDocumented();

  it('finds the keys on both sides', () => {
    expect(read.size).toBeGreaterThan(50);
    expect(documented.size).toBeGreaterThan(50);
  });

  it('documents every key loadConfig reads, and only those', () => {
    expect([...read.keys()].filter((k) => !documented.has(k)).sort()).toEqual([]);
    expect([...documented.keys()].filter((k) => !read.has(k)).sort()).toEqual([]);
  });

  it('gives the default the code falls back to', () => {
    const wrong: string[] = [];
    for (const [key, literal] of read) {
      const cell = documented.get(key);
      if (literal === null || literal === '' || cell === undefined) continue;
      const plain = cell.replaceAll('`', '').replace(/(\d)[ _,](?=\d{3}\b)/g, '$1');
      if (!plain.includes(literal)) wrong.push(`${key}: code ${literal}, docs "${cell}"`);
    }
    expect(wrong).toEqual([]);
  });
});
