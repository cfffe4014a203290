import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder of callroute's package.json, found upwards from this file: it sits in `src/` when run
 * through tsx and in `dist/src/` when compiled, and the migrations and the version live at the root.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(resolve(dir, 'drizzle/meta/_journal.json')) || !existsSync(resolve(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('callroute package root (package.json with drizzle/) not found');
    dir = parent;
  }
  return dir;
}

/** callroute's version, as package.json says. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
