/**
 * Restores a backup of callroute's database and re-applies every erasure made since (or ever):
 *
 *   systemctl stop callroute-router   # or stop `npm start`
 *   npm run restore -- /var/backups/callroute/callroute-2026-12-01T03-00-00Z.db [more-erasures.jsonl ...]
 *
 * The erasures come from the erasure list (PRIVACY_ERASURE_LIST), the database being replaced, and any
 * list files given (an erasure list kept with other backups). Refuses while the router answers on its
 * HTTP port.
 */
import { loadConfig } from '../src/config/loadConfig.js';
import { createLogger } from '../src/logging/createLogger.js';
import { restoreDatabase } from '../src/privacy/backupRestore.js';

const [backup, ...lists] = process.argv.slice(2);
if (!backup) {
  process.stderr.write('usage: npm run restore -- BACKUP.db [ERASURES.jsonl ...]\n');
  process.exit(2);
}
const config = loadConfig();
const running = await fetch(`http://${config.http.host}:${config.http.port}/health`, { signal: AbortSignal.timeout(1000) }).then(
  () => true,
  () => false,
);
if (running) {
  process.stderr.write(`restore: the router answers on ${config.http.host}:${config.http.port}; stop it first\n`);
  process.exit(1);
}
try {
  const report = await restoreDatabase({
    backup,
    dbPath: config.dbPath,
    erasureLists: [config.privacy.erasureList, ...lists],
    logger: createLogger('warn'),
    now: Date.now,
    recordingsDir: config.recordings.dir,
    asteriskRoot: config.recordings.asteriskRoot,
    hashSecret: config.privacy.hashSecret,
    defaultCountryCode: config.routing.defaultCountryCode,
    exports: { dir: config.privacy.exportsDir, ttlSeconds: config.privacy.exportTtlSeconds },
  });
  process.stdout.write(
    `restored ${backup} to ${config.dbPath}: ${report.entries} erasures on the lists, ${report.reapplied} re-applied (${report.calls} calls, ${report.visits} visits, ${report.recordings} recordings)\n`,
  );
} catch (err) {
  process.stderr.write(`restore failed: ${(err as Error).message}\n`);
  process.exit(1);
}
