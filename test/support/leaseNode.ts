/**
 * A node for the kill -9 test (test/integration/nodeKilled.test.ts), as a process of its own: it
 * renews its lease in PostgreSQL (CALLROUTE_TEST_DB_URL, NODE_ID, NODE_LEASE_MS) as a router does,
 * writes two call records as its router would (one answered, one ringing), prints their ids as one
 * JSON line and then just lives until it is killed.
 */
import { pino } from 'pino';
import { createNodeLease } from '../../src/cluster/createNodeLease.js';
import { openPostgres } from '../../src/persistence/postgres/openPostgres.js';
import { createWriteBehindCallRecords } from '../../src/persistence/postgres/writeBehindCallRecords.js';
import { postgresStore } from '../../src/persistence/store.js';

const url = process.env.CALLROUTE_TEST_DB_URL ?? '';
const nodeId = process.env.NODE_ID ?? 'node-a';
const ttlMs = Number(process.env.NODE_LEASE_MS ?? 3_000);
const logger = pino({ level: 'silent' });

const store = postgresStore(await openPostgres(url));
const lease = createNodeLease({ store, nodeId, logger, ttlMs });
await lease.start();
const records = createWriteBehindCallRecords({ store, nodeId, logger });
await records.ready();
const now = Date.now();
const call = (n: number) => ({
  accountId: 1, trackingNumberId: null, did: '+15551230000', callerNumber: `+1555765432${n}`, callerName: null, source: null, medium: null,
  campaign: null, destination: '+15559870000', arrivedAt: now, inboundChannelId: `${nodeId}-${now}.${n}`, outboundChannelId: null, bridgeId: null,
});
const talking = records.insertArrival(call(1));
records.markAnswered(talking, now + 1_000);
const ringing = records.insertArrival(call(2));
await records.drain();
process.stdout.write(`${JSON.stringify({ talking, ringing })}\n`);
setInterval(() => {}, 60_000);
