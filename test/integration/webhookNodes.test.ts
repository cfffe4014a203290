/**
 * Two routers on one database each run a webhook dispatcher (issue 21, several nodes): every event
 * still reaches the receiver once per endpoint — the fan-out moves the shared position in the same
 * transaction as the deliveries it queues, and a delivery is claimed before its attempt — while a
 * receiver that fails once still gets its retry. Two connections to one SQLite file here (the
 * dispatcher does not run on PostgreSQL yet).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWebhookDispatcher } from '../../src/integrations/webhooks/createWebhookDispatcher.js';
import { createLogger } from '../../src/logging/createLogger.js';
import { createCallRecordRepository } from '../../src/persistence/callRecordRepository.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { accounts, webhookEndpoints } from '../../src/persistence/schema.js';
import { waitFor } from '../callflow/harness/waitFor.js';

const dir = mkdtempSync(join(tmpdir(), 'webhook-nodes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('webhook dispatchers of two nodes on one database', () => {
  it('deliver every event once per endpoint, and retry a failed one once', async () => {
    const file = join(dir, 'callroute.db');
    const nodeA = openDatabase(file);
    const nodeB = openDatabase(file);
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
    const accountId = nodeA.insert(accounts).values({ name: 'Acme', createdAt: 1, updatedAt: 1 }).returning().get().id;
    for (const path of ['/a', '/b']) {
      nodeA.insert(webhookEndpoints).values({ accountId, url: `${base}${path}`, eventTypes: '["*"]', secret: 'whsec_test_0123456789abcdef', createdAt: 1, updatedAt: 1 }).run();
    }
    const dispatcher = (db: typeof nodeA) =>
      createWebhookDispatcher({
        db,
        logger: createLogger('silent'),
        settings: { timeoutMs: 2_000, retryHours: 1, retryBaseMs: 20, concurrency: 8, allowedNetworks: ['127.0.0.1/32'] },
        pollMs: 10,
      });
    const dispatchers = [dispatcher(nodeA), dispatcher(nodeB)];
    dispatchers.forEach((d) => d.start());
    try {
      // 40 calls, each arrived, answered and ended: 120 events, written through both nodes.
      const records = [createCallRecordRepository(nodeA, { nodeId: 'node-a' }), createCallRecordRepository(nodeB, { nodeId: 'node-b' })];
      for (let i = 0; i < 40; i++) {
        const r = records[i % 2]!;
        const id = r.insertArrival({
          accountId, trackingNumberId: null, did: '+15551230000', callerNumber: '+15557654321', callerName: null, source: null, medium: null,
          campaign: null, destination: '+15559870000', arrivedAt: Date.now(), inboundChannelId: `c-${i}`, outboundChannelId: null, bridgeId: null,
        });
        r.finish(id, { disposition: 'answered', sipCode: 200, hangupCause: 16, endedBy: 'caller', answeredAt: Date.now(), endedAt: Date.now() + 1 });
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
      nodeA.$client.close();
      nodeB.$client.close();
    }
  }, 60_000);
});
