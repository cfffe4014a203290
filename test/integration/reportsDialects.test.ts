/**
 * The reports on both dialects (issue 21): the same calls give the same calls-by-source (medium,
 * campaign, landing page), with and without a tag, and the same timeline, on SQLite and PostgreSQL —
 * the rollup's whole days and the partial days at a range's ends alike.
 */
import { describe, expect, it } from 'vitest';
import { callReport, callsOverTime, REPORT_GROUPS } from '../../src/persistence/callReports.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { affected, postgresStore, sqliteStore, type Store } from '../../src/persistence/store.js';
import { usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();
const DAY = 86_400_000;
const START = Date.parse('2026-05-01T00:00:00.000Z');

/** 1 200 calls over 40 days and three accounts, some tagged, some with landing pages and no source. */
async function fill(store: Store): Promise<void> {
  await store.run(
    function* ({ db, t }) {
      for (const name of ['a', 'b', 'c']) yield* affected(db.insert(t.accounts).values({ name, createdAt: 1, updatedAt: 1 }));
      const sources = ['google', 'bing', null, 'Google', 'facebook'];
      const batch = [];
      for (let i = 0; i < 1_200; i++) {
        const answered = i % 3 !== 0;
        batch.push({
          accountId: 1 + (i % 3),
          did: '+15551230000',
          source: sources[i % sources.length] ?? null,
          medium: i % 4 === 0 ? 'cpc' : null,
          campaign: i % 7 === 0 ? 'spring' : null,
          landingPage: i % 5 === 0 ? null : `https://acme.example/p${i % 4}${i % 2 === 0 ? '?utm_source=x' : ''}`,
          arrivedAt: START + Math.floor((i / 1_200) * 40 * DAY) + (i % 13) * 3_600_000,
          finished: true,
          disposition: answered ? ('answered' as const) : ('no-answer' as const),
          firstTimeCaller: i % 4 === 1 ? true : i % 4 === 2 ? false : null,
          tags: i % 6 === 0 ? JSON.stringify(['Quote', 'new']) : null,
          inboundChannelId: `c-${i}`,
        });
      }
      for (let i = 0; i < batch.length; i += 200) yield* affected(db.insert(t.calls).values(batch.slice(i, i + 200)));
    },
    { transaction: true },
  );
}

async function everyReport(store: Store) {
  const ranges: Array<[number, number]> = [
    [START, START + 42 * DAY],
    [START + 3 * DAY + 5 * 3_600_000, START + 17 * DAY + 2 * 3_600_000],
    [START + 5 * DAY + 1, START + 5 * DAY + 9 * 3_600_000],
  ];
  const out: unknown[] = [];
  for (const groupBy of REPORT_GROUPS) {
    for (const [from, to] of ranges) {
      for (const accountIds of [undefined, [2], []]) {
        out.push(await store.run(callReport({ groupBy, from, to, ...(accountIds === undefined ? {} : { accountIds }) })));
      }
      out.push(await store.run(callReport({ groupBy, from, to, tag: 'quote' })));
    }
  }
  out.push(await store.run(callsOverTime({ from: START, to: START + 40 * DAY, interval: 'day' })));
  out.push(await store.run(callsOverTime({ from: START + DAY, to: START + 3 * DAY, interval: 'hour', accountIds: [1, 3] })));
  return out;
}

describe('reports on both dialects', () => {
  it('count the same calls the same way', async () => {
    const sqlite = sqliteStore(openDatabase(':memory:'));
    const pg = postgresStore(await databases.fresh());
    await fill(sqlite);
    await fill(pg);
    const fromSqlite = await everyReport(sqlite);
    const whole = fromSqlite[0] as { totals: { calls: number; answered: number } };
    expect(whole.totals).toMatchObject({ calls: 1_200, answered: 800 });
    expect((fromSqlite[3] as { totals: { calls: number } }).totals.calls).toBe(200);
    expect(await everyReport(pg)).toEqual(fromSqlite);
  });
});
