import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { summarize, type Summary } from './stats.js';

/**
 * Webhook receivers for the bench's fan-out phase: plain HTTP servers on loopback that answer 200
 * at once and note, per delivery and event type, how long after the event it arrived (its
 * occurredAt). call.ended is the one to read: its occurredAt is when its row was written, where a
 * call the dialplan ran has call.answered stamped with the answer time but learnt at its end.
 */
export async function startWebhookReceivers(count: number) {
  const lagsMs = new Map<string, number[]>();
  let received = 0;
  const servers: Server[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        received++;
        try {
          const event = JSON.parse(body) as { type: string; occurredAt: string };
          const occurredAt = Date.parse(event.occurredAt);
          if (Number.isFinite(occurredAt)) lagsMs.set(event.type, [...(lagsMs.get(event.type) ?? []), Date.now() - occurredAt]);
        } catch {
          // not an event: counted, no lag
        }
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
  }
  return {
    urls: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`),
    reset(): void {
      received = 0;
      lagsMs.clear();
    },
    get received(): number {
      return received;
    },
    lag(type: string): Summary {
      return summarize(lagsMs.get(type) ?? []);
    },
    /** Waits until deliveries stop coming for `quietMs` (at most `maxMs`). */
    async settle(quietMs = 3_000, maxMs = 120_000): Promise<void> {
      const deadline = Date.now() + maxMs;
      let last = -1;
      let since = Date.now();
      while (Date.now() < deadline) {
        if (received !== last) {
          last = received;
          since = Date.now();
        } else if (Date.now() - since >= quietMs) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    async stop(): Promise<void> {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
