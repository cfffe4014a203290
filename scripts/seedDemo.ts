/**
 * Gives a fresh start-up something to call and someone to sign in as:
 * - when the database has no tracking numbers, a "Demo" account with +15551230000 routed to
 *   +15550001111 (a sipp phone on 127.0.0.1:5080);
 * - when it has no people, an operator (the whole installation) and an owner of the Demo account,
 *   each with a random password, written to the file given by --sign-in-file (mode 600) for the start
 *   command to print. Change them after the first sign-in (POST /v1/auth/password).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { hashPassword } from '../src/auth/passwords.js';
import { loadConfig } from '../src/config/loadConfig.js';
import { createAccount, listAccounts } from '../src/persistence/accountRepository.js';
import { openDatabase } from '../src/persistence/openDatabase.js';
import { sqliteStore } from '../src/persistence/store.js';
import { createTrackingNumber, trackingNumbersOf } from '../src/persistence/trackingNumberRepository.js';
import { createUser, listUsers, putMembership } from '../src/persistence/userRepository.js';
import { flagValue } from './cliArgs.js';

export const DEMO_DID = '+15551230000';
export const DEMO_DESTINATION = '+15550001111';

const config = loadConfig();
const store = sqliteStore(openDatabase(config.dbPath));
if ((await store.run(trackingNumbersOf())).length === 0) {
  const account = await store.run(createAccount({ name: 'Demo' }));
  await store.run(createTrackingNumber({
    accountId: account.id,
    did: DEMO_DID,
    destination: DEMO_DESTINATION,
    label: 'demo',
    source: 'demo',
    medium: 'none',
    campaign: 'getting-started',
  }));
  process.stdout.write(`seeded demo tracking number ${DEMO_DID} → ${DEMO_DESTINATION}\n`);
}

export const OPERATOR_EMAIL = 'operator@callroute.local';
export const DEMO_OWNER_EMAIL = 'owner@demo.callroute.local';

const signInFile = flagValue(process.argv.slice(2), '--sign-in-file');
if ((await store.run(listUsers())).length === 0) {
  const now = Date.now();
  const password = () => randomBytes(15).toString('base64url');
  const operatorPassword = password();
  const ownerPassword = password();
  await store.run(createUser({ email: OPERATOR_EMAIL, name: 'Operator', operator: true, passwordHash: await hashPassword(operatorPassword) }, now));
  const demo = (await store.run(listAccounts())).find((a) => a.name === 'Demo');
  const lines = [`operator (whole installation)\t${OPERATOR_EMAIL}\t${operatorPassword}`];
  if (demo) {
    const owner = await store.run(createUser({ email: DEMO_OWNER_EMAIL, name: 'Demo owner', passwordHash: await hashPassword(ownerPassword) }, now));
    await store.run(putMembership(owner.id, { accountId: demo.id }, 'owner', now), { transaction: true });
    lines.push(`owner of the Demo account\t${DEMO_OWNER_EMAIL}\t${ownerPassword}`);
  }
  if (signInFile) writeFileSync(signInFile, `${lines.join('\n')}\n`, { mode: 0o600 });
  process.stdout.write('created the first people (their passwords are printed when callroute is running)\n');
}
await store.close();
