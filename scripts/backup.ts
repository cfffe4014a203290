/**
 * Online backup of callroute's database, while the router runs, with the erasure list beside it:
 *
 *   npm run backup -- /var/backups/callroute
 *
 * writes callroute-<time>.db (a consistent snapshot by SQLite's backup API) and erasures-<time>.jsonl.
 * Restore with `npm run restore -- <backup.db>` (scripts/restore.ts), which re-applies every erasure.
 */
import { loadConfig } from '../src/config/loadConfig.js';
import { backupDatabase } from '../src/privacy/backupRestore.js';

const outDir = process.argv[2];
if (!outDir) {
  process.stderr.write('usage: npm run backup -- OUTDIR\n');
  process.exit(2);
}
try {
  const config = loadConfig();
  const done = await backupDatabase({ dbPath: config.dbPath, erasureList: config.privacy.erasureList, outDir });
  process.stdout.write(`backup: ${done.database}\nerasure list (${done.entries} erasures): ${done.erasures}\n`);
} catch (err) {
  process.stderr.write(`backup failed: ${(err as Error).message}\n`);
  process.exit(1);
}
