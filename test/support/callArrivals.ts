/**
 * Call record fixtures for the suites of the records written behind the call (PostgreSQL): an arrival
 * on a fresh inbound channel, an answered call's outcome, a database with the account they belong to.
 */
import type { CallArrival } from '../../src/persistence/callRecordRepository.js';
import { affected, postgresStore, type Store } from '../../src/persistence/store.js';
import type { PostgresDatabases } from './postgresDatabases.js';

let channel = 0;

/** An arrival in account 1, on a channel no other arrival of the run has. */
export const callArrival = (over: Partial<CallArrival> = {}): CallArrival => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: 'google', medium: null,
  campaign: null, destination: '+15559870000', arrivedAt: 1_000, inboundChannelId: `node-a-${++channel}.1`, outboundChannelId: null, bridgeId: null, ...over,
});

/** The outcome of a call answered at `at` that talked 30 s. */
export const answeredFinish = (at: number) => ({ disposition: 'answered' as const, sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: at, endedAt: at + 30_000 });

/** A fresh PostgreSQL database with account 1 in it. */
export async function postgresWithAccount(databases: PostgresDatabases): Promise<Store> {
  const store = postgresStore(await databases.fresh());
  await store.run(function* ({ db, t }) {
    yield* affected(db.insert(t.accounts).values({ name: 'a', createdAt: 1, updatedAt: 1 }));
  });
  return store;
}
