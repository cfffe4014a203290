/**
 * A session registry on a stateful fake ARI and a fresh migrated in-memory database with one
 * account and the given tracking numbers: what the CallSession and admission unit tests share.
 */
import { pino } from 'pino';
import { expect } from 'vitest';
import { createCallRecordRepository } from '../../../src/persistence/callRecordRepository.js';
import { openDatabase } from '../../../src/persistence/openDatabase.js';
import { accounts, trackingNumbers } from '../../../src/persistence/schema.js';
import { findByDid } from '../../../src/persistence/trackingNumberRepository.js';
import { createSessionRegistry, type SessionRegistry, type SessionRegistryDeps } from '../../../src/telephony/session/createSessionRegistry.js';
import { reconcileCalls } from '../../../src/telephony/session/reconcileCalls.js';
import { createFakeAri } from './createFakeAri.js';

export const DESTINATION = '+15550001111';

/** Polls (without timers, so fake timers do not stop it) until `check` holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Recording rows in memory, with the port the session uses. */
export function createMemoryRecordingStore() {
  const rows = new Map<number, { callId: number; channels: 'mixed' | 'dual'; names: string[]; status: string; reason?: string }>();
  let next = 1;
  return {
    rows,
    insert(r: { callId: number; channels: 'mixed' | 'dual'; asteriskNames: string[] }) {
      const id = next++;
      rows.set(id, { callId: r.callId, channels: r.channels, names: r.asteriskNames, status: 'recording' });
      return id;
    },
    stopped(id: number) {
      rows.get(id)!.status = 'processing';
    },
    missing(id: number, reason: string) {
      Object.assign(rows.get(id)!, { status: 'missing', reason });
    },
    activeForCall(callId: number) {
      for (const [id, r] of rows) if (r.callId === callId && r.status === 'recording') return { id, channels: r.channels };
      return undefined;
    },
  };
}

type NumberSeed = Partial<typeof trackingNumbers.$inferInsert> & { did: string };

export function createSessionTestbed(opts: { numbers: NumberSeed[]; registry?: Partial<SessionRegistryDeps> }) {
  const db = openDatabase(':memory:');
  const records = createCallRecordRepository(db);
  const now = Date.now();
  const account = db.insert(accounts).values({ name: 'Acme', createdAt: now, updatedAt: now }).returning().get();
  db.insert(trackingNumbers)
    .values(opts.numbers.map((n) => ({ accountId: account.id, destination: DESTINATION, createdAt: now, updatedAt: now, ...n })))
    .run();
  const fake = createFakeAri();
  const store = createMemoryRecordingStore();
  const stopped: number[] = [];
  const logger = pino({ level: 'silent' });
  const baseListeners = fake.client.listenerCount();
  const deps = (): SessionRegistryDeps => ({
    ari: fake.client,
    records,
    findNumber: (did) => findByDid(db, did),
    policy: { rejectSipCode: 404, outboundEndpoint: 'destinations', defaultCountryCode: '1' },
    logger,
    recordingStore: store,
    onRecordingStopped: (id) => stopped.push(id),
    // A WAV with audio is one the fake Asterisk has stored.
    recordedAudio: async (name) => (fake.stored.has(name) ? 5 : null),
    ...opts.registry,
  });
  const tb = {
    db,
    records,
    fake,
    store,
    stopped,
    registry: createSessionRegistry(deps()) as SessionRegistry,
    /** The router dies and starts again: a new registry on the same Asterisk and database. */
    restartRegistry(): SessionRegistry {
      tb.registry.close();
      tb.registry = createSessionRegistry(deps());
      return tb.registry;
    },
    /** `drainEndReports`: what the end report file holds when reconciliation reads it. `withRecords`: another node's view of the records. */
    reconcile(drainEndReports?: () => void, withRecords: Parameters<typeof reconcileCalls>[0]['records'] = records) {
      return reconcileCalls({ ari: fake.client, records: withRecords, registry: tb.registry, logger, connectedAt: Date.now(), recordingStore: store, onRecordingStopped: (id) => stopped.push(id), drainEndReports });
    },
    /** Waits for the call to end, then nothing may be left in the fake Asterisk. */
    async ended(): Promise<void> {
      await until(() => records.listUnfinished().length === 0 && tb.registry.activeCalls === 0, 'the call to end');
      expect([...fake.channels.keys()]).toEqual([]);
      expect([...fake.bridges.keys()]).toEqual([]);
    },
    /** Closes the registry; its listeners must all be gone from the ARI client. */
    close(): void {
      tb.registry.close();
      expect(fake.client.listenerCount()).toBe(baseListeners);
    },
  };
  return tb;
}

export type SessionTestbed = ReturnType<typeof createSessionTestbed>;
