/**
 * The README, CONTRIBUTING.md and docs/ point only at what exists: every relative link resolves to a
 * file (and its #heading, when it names one), and every repository path quoted in backticks
 * (`src/…`, `scripts/…`, `test/…`) is a file or directory of the repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PAGES = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(ROOT, 'docs')).filter((n) => n.endsWith('.md')).map((n) => `docs/${n}`)];
/** Where a quoted path is one of ours. */
const REPO_DIRS = ['src/', 'scripts/', 'test/', 'bench/', 'docs/', 'web/', 'drizzle/', 'asterisk-config/', 'deploy/'];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function headingsOf(text: string): Set<string> {
  const out = new Set<string>();
  let inFence = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const m = !inFence && /^#{1,6} (.+)$/.exec(line);
    if (m) out.add(slug(m[1] as string));
  }
  return out;
}

/** The text outside fenced code blocks (commands and examples are not links). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '');
}

describe('links in the README and docs/', () => {
  it.each(PAGES)('%s: every relative link and quoted repository path exists', (page) => {
    const text = readFileSync(join(ROOT, page), 'utf8');
    const broken: string[] = [];
    for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target as string)) continue;
      const [path, anchor] = (target as string).split('#');
      const file = path ? resolve(dirname(join(ROOT, page)), path) : join(ROOT, page);
      if (!existsSync(file)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor && file.endsWith('.md') && !headingsOf(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
    }
    for (const [, quoted] of prose(text).matchAll(/`([^`\s]+)`/g)) {
      const path = (quoted as string).replace(/[:#].*$/, '').replace(/[.,)]+$/, '');
      if (!REPO_DIRS.some((d) => path.startsWith(d)) || /[*<>{}]/.test(path)) continue;
      if (!existsSync(join(ROOT, path))) broken.push(`\`${quoted}\`: not in the repository`);
    }
    expect(broken).toEqual([]);
  });

  it('the README is short enough to read in five minutes (under 150 lines)', () => {
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThan(150);
  });
});
