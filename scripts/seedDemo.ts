/**
 * Gives a fresh start-up something to call: when the database has no tracking numbers, it adds
 * a "Demo" account with +15551230000 routed to +15550001111 (a sipp phone on 127.0.0.1:5080).
 */
import { loadConfig } from '../src/config/loadConfig.js';
import { createAccount } from '../src/persistence/accountRepository.js';
import { openDatabase } from '../src/persistence/openDatabase.js';
import { createTrackingNumber, listTrackingNumbers } from '../src/persistence/trackingNumberRepository.js';

export const DEMO_DID = '+15551230000';
export const DEMO_DESTINATION = '+15550001111';

const config = loadConfig();
const db = openDatabase(config.dbPath);
if (listTrackingNumbers(db).length === 0) {
  const account = createAccount(db, { name: 'Demo' });
  createTrackingNumber(db, {
    accountId: account.id,
    did: DEMO_DID,
    destination: DEMO_DESTINATION,
    label: 'demo',
    source: 'demo',
    medium: 'none',
    campaign: 'getting-started',
  });
  process.stdout.write(`seeded demo tracking number ${DEMO_DID} → ${DEMO_DESTINATION}\n`);
}
db.$client.close();
