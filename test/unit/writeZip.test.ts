import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeZip } from '../../src/privacy/writeZip.js';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeZip (stored entries, read back by unzip)', () => {
  it('writes an archive unzip tests clean and extracts byte for byte, UTF-8 names included', async () => {
    dir = mkdtempSync(join(tmpdir(), 'callroute-zip-'));
    const audio = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));
    const entries = [
      { name: 'subject.json', data: Buffer.from('{"calls":[]}\n') },
      { name: 'calls.csv', data: Buffer.from('id,caller\n1,Zoë\n') },
      { name: 'recordings/call-1-recording-1.mp3', data: audio },
      { name: 'empty.txt', data: Buffer.alloc(0) },
    ];
    const path = join(dir, 'export.zip');
    const { bytes } = await writeZip(path, entries, new Date('2026-12-06T10:20:30Z'));
    expect(statSync(path).size).toBe(bytes);
    expect(execFileSync('unzip', ['-tq', path]).toString()).toMatch(/No errors detected/);
    const listing = execFileSync('unzip', ['-Z1', path]).toString().trim().split('\n');
    expect(listing).toEqual(entries.map((e) => e.name));
    execFileSync('unzip', ['-q', path, '-d', join(dir, 'out')]);
    for (const e of entries) expect(readFileSync(join(dir, 'out', e.name)).equals(e.data), e.name).toBe(true);
  });
});
