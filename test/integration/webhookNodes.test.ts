/**
 * Two routers on one database each run a webhook dispatcher (issue 21, several nodes): every event
 * still reaches the receiver once per endpoint — the fan-out moves the shared position in the same
 * transaction as the deliveries it queues, and a delivery is claimed before its attempt — while a
 * receiver that fails once still gets its retry. Two connections to one SQLite file, and two
 * connection pools to one PostgreSQL database.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createWebhookDispatcher } from '../../src/integrations/webhooks/createWebhookDispatcher.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { createCallRecordStore } from '../../src/persistence/callRecordStore.js';
import type { Store } from '../../src/persistence/store.js';
import { twoNodesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';
import { insertRow } from '../support/storeRows.js';
import { waitFor } from '../callflow/harness/waitFor.js';

const databases = usePostgresDatabases();

describe.each(twoNodesOfBothDialects(databases))('webhook dispatchers of two nodes on one %s database', (_dialect, openTwo) => {
  it('deliver every event once per endpoint, and retry a failed one once', async () => {
    const [nodeA, nodeB] = await openTwo();
    const byEvent = new Map<string, number>();
    let failFirst = true;
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = `${req.url} ${(JSON.parse(body) as { id: string }).id}`;
        byEvent.set(id, (byEvent.get(id) ?? 0) + 1);
        // One receiver answers 500 to the first request it ever gets: that delivery is retried.
        res.statusCode = failFirst && req.url === '/b' ? 500 : 200;
        if (req.url === '/b') failFirst = false;
        res.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const accountId = (await insertRow(nodeA, 'accounts', { name: 'Acme', createdAt: 1, updatedAt: 1 })).id;
    for (const path of ['/a', '/b']) {
      await insertRow(nodeA, 'webhookEndpoints', { accountId, url: `${base}${path}`, eventTypes: '["*"]', secret: 'whsec_test_0123456789abcdef', createdAt: 1, updatedAt: 1 });
    }
    const dispatcher = (store: Store) =>
      createWebhookDispatcher({
        store,
        logger: createLogger('silent'),
        settings: { timeoutMs: 2_000, retryHours: 1, retryBaseMs: 20, concurrency: 8, allowedNetworks: ['127.0.0.1/32'] },
        pollMs: 10,
      });
    const dispatchers = [dispatcher(nodeA), dispatcher(nodeB)];
    await Promise.all(dispatchers.map((d) => d.start()));
    try {
      // 40 calls, each arrived, answered and ended: 120 events, written through both nodes.
      const records = [createCallRecordStore(nodeA, { nodeId: 'node-a' }), createCallRecordStore(nodeB, { nodeId: 'node-b' })];
      for (let i = 0; i < 40; i++) {
        const r = records[i % 2]!;
        const id = await r.insertArrival({
          accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: null, medium: null,
          campaign: null, destination: '+15559870000', arrivedAt: Date.now(), inboundChannelId: `c-${i}`, outboundChannelId: null, bridgeId: null,
        });
        await r.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: Date.now(), endedAt: Date.now() + 1 });
      }
      await waitFor(() => byEvent.size === 240, { timeoutMs: 20_000, message: 'every event at both endpoints' });
      // Time for a second delivery of anything to show.
      await new Promise((r) => setTimeout(r, 500));
      const counts = [...byEvent.entries()];
      expect(counts.filter(([, n]) => n > 1).map(([id]) => id)).toEqual([expect.stringMatching(/^\/b /)]);
      expect(counts.filter(([, n]) => n > 1).map(([, n]) => n)).toEqual([2]);
      expect(counts).toHaveLength(240);
    } finally {
      await Promise.all(dispatchers.map((d) => d.stop()));
      await new Promise<void>((r) => receiver.close(() => r()));
      await nodeA.close();
      await nodeB.close();
    }
  }, 60_000);
});
