/**
 * A change made on one node reaches another node's routing table (issue 21): node A writes a number,
 * then changes it, turns it off and adds a caller privacy rule through its own connection; node B's
 * routing table sync, looking at route_table_version at its usual interval (250 ms), writes each change
 * into its Asterisk's AstDB (the fake ARI) with nobody telling it — on SQLite (two connections to one
 * file) and on PostgreSQL (two pools). The stated time: within one look, plus the write.
 */
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { everyCallerPrivacyRule } from '../../src/persistence/callerPrivacyRepository.js';
import { affected, row, type Store } from '../../src/persistence/store.js';
import { createTrackingNumberCache, currentRouteTableVersion, trackingNumbersOf } from '../../src/persistence/trackingNumberRepository.js';
import { createCallerPrivacyCache } from '../../src/privacy/callerPrivacy.js';
import { createRouteTableSync } from '../../src/telephony/dialplanHook/createRouteTableSync.js';
import { ROUTE_TABLE_GATE } from '../../src/telephony/dialplanHook/routeTable.js';
import { createSessionTestbed, until } from '../unit/fakes/sessionTestbed.js';
import { twoNodesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

const LOOK_MS = 250;

const dialects = twoNodesOfBothDialects(databases);

/** An account with +15551230000 routed to +15550001111, written through one node. */
function provisionNumber(node: Store): Promise<{ accountId: number; numberId: number }> {
  return node.run(
    function* ({ db, t }) {
      const account = (yield* row(db.insert(t.accounts).values({ name: 'Acme', createdAt: 1, updatedAt: 1 }).returning()))!;
      const number = (yield* row(db.insert(t.trackingNumbers).values({ accountId: account.id, did: '+15551230000', destination: '+15550001111', createdAt: 1, updatedAt: 1 }).returning()))!;
      return { accountId: account.id, numberId: number.id };
    },
    { transaction: true },
  );
}

describe.each(dialects)('routing tables of two nodes on one %s database', (_name, open) => {
  it(`take a change made on the other node at their next look (every ${LOOK_MS} ms)`, async () => {
    const [nodeA, nodeB] = await open();
    // Node B's Asterisk: the testbed's fake ARI (its own database plays no part here).
    const tb = createSessionTestbed({ numbers: [{ did: '+15559990000' }] });
    const sync = createRouteTableSync({
      ari: tb.fake.client,
      version: () => nodeB.run(currentRouteTableVersion()),
      numbers: () => nodeB.run(trackingNumbersOf()),
      callerRules: () => nodeB.run(everyCallerPrivacyRule()),
      policy: { rejectSipCode: 404, outboundEndpoint: 'destinations', defaultCountryCode: '1' },
      logger: pino({ level: 'silent' }),
      maxConcurrentCalls: 100,
      maxCallsPerSecond: 20,
      mayRoute: () => true,
      intervalMs: LOOK_MS,
    });
    const entry = (key: string) => {
      const generation = (tb.fake.globals.get(ROUTE_TABLE_GATE) ?? '').split('~')[3];
      const value = tb.fake.astdb.get(`callroute_route/${key}`) ?? '';
      return value.split('~')[0] === generation ? value : '';
    };
    /** Node A's change, then how long until node B's Asterisk has it. */
    const took = async (change: Parameters<Store['run']>[0], seen: () => boolean, what: string): Promise<number> => {
      await nodeA.run(change, { transaction: true });
      const t0 = performance.now();
      await until(seen, what, 5_000);
      return performance.now() - t0;
    };
    try {
      sync.start();
      sync.connected();
      const { accountId, numberId } = await provisionNumber(nodeA);
      await until(() => entry('5551230000').includes('+15550001111'), 'node B to write the number');
      const times = [
        await took(function* ({ db, t }) {
          yield* affected(db.update(t.trackingNumbers).set({ destination: '+15550002222' }).where(eq(t.trackingNumbers.id, numberId)));
        }, () => entry('5551230000').includes('+15550002222'), 'node B to write the new destination'),
        await took(function* ({ db, t }) {
          yield* affected(db.insert(t.callerPrivacyRules).values({ accountId, callerNumber: '+15557654321', rule: 'do-not-record', createdAt: 1, createdBy: 'test' }));
        }, () => entry(`q~${accountId}~+15557654321`) !== '', 'node B to carry the do-not-record caller'),
        await took(function* ({ db, t }) {
          yield* affected(db.update(t.trackingNumbers).set({ enabled: false }).where(eq(t.trackingNumbers.id, numberId)));
        }, () => entry('5551230000') === '', 'node B to drop the number node A turned off'),
      ];
      // One look at most, and the writes to AstDB (the fake answers at once); slack for a busy box.
      for (const ms of times) expect(ms).toBeLessThan(LOOK_MS + 750);
    } finally {
      await sync.stop();
      tb.close();
      await Promise.all([nodeA.close(), nodeB.close()]);
    }
  });

  it(`keep node B's call path copies (numbers by DID, caller rules) in step with node A's changes at their next look`, async () => {
    const [nodeA, nodeB] = await open();
    const numbers = createTrackingNumberCache(nodeB, { intervalMs: LOOK_MS });
    const rules = createCallerPrivacyCache({ version: () => nodeB.run(currentRouteTableVersion()), rules: () => nodeB.run(everyCallerPrivacyRule()), intervalMs: LOOK_MS });
    await Promise.all([numbers.refresh(), rules.refresh()]);
    numbers.start();
    rules.start();
    try {
      expect(numbers.findByDid('+15551230000')).toBeUndefined();
      const { accountId, numberId } = await provisionNumber(nodeA);
      await until(() => numbers.findByDid('+15551230000')?.destination === '+15550001111', 'node B to know the new number', LOOK_MS + 750);
      await nodeA.run(function* ({ db, t }) {
        yield* affected(db.update(t.trackingNumbers).set({ enabled: false }).where(eq(t.trackingNumbers.id, numberId)));
        yield* affected(db.insert(t.callerPrivacyRules).values({ accountId, callerNumber: '+15557654321', rule: 'restricted', createdAt: 1, createdBy: 'test' }));
      }, { transaction: true });
      await until(() => numbers.findByDid('+15551230000')?.enabled === false && rules.lookup(accountId, '+15557654321') === 'restricted', 'node B to see the number off and the caller restricted', LOOK_MS + 750);
    } finally {
      numbers.stop();
      rules.stop();
      await Promise.all([nodeA.close(), nodeB.close()]);
    }
  });
});
