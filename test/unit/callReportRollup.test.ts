import { describe, expect, it } from 'vitest';
import { createCallRecordRepository } from '../../src/persistence/callRecordRepository.js';
import { callReport, REPORT_GROUPS, type ReportGroup } from '../../src/persistence/callReports.js';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import { runOnSqlite } from '../../src/persistence/store.js';
import { accounts } from '../../src/persistence/schema.js';

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

describe('calls-by-source report: whole days from the trigger-kept rollup, partial days from calls', () => {
  it('gives exactly what counting the calls gives, after inserts, finishes, edits and deletes', () => {
    const db = openDatabase(':memory:');
    const records = createCallRecordRepository(db);
    const now = Date.now();
    const ids = [1, 2, 3].map((i) => db.insert(accounts).values({ name: `A${i}`, createdAt: now, updatedAt: now }).returning().get().id);
    const r = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
    const callIds: number[] = [];
    for (let i = 0; i < 600; i++) {
      const arrivedAt = START + Math.floor(r() * 20 * DAY);
      const id = records.insertArrival({
        accountId: r() < 0.05 ? null : pick(ids),
        trackingNumberId: null,
        did: '+15551230000',
        callerNumber: `+1555000${String(i).padStart(4, '0')}`,
        callerName: null,
        source: pick(['google', 'bing', null, 'direct']),
        medium: pick(['cpc', 'organic', null]),
        campaign: pick(['spring', null]),
        destination: '+15550001111',
        arrivedAt,
        inboundChannelId: `ch-${i}`,
        outboundChannelId: null,
        bridgeId: null,
        landingPage: pick(['https://a.example/x?utm=1', 'https://a.example/y', null]),
        firstTimeCaller: pick([true, false, null]),
      });
      callIds.push(id);
      if (r() < 0.8) {
        const answered = r() < 0.6;
        records.finish(id, { disposition: answered ? 'answered' : 'busy', sipCode: answered ? 200 : 486, hangupCause: 16, endedBy: 'caller', answeredAt: answered ? arrivedAt + 1000 : null, endedAt: arrivedAt + 5000 });
      }
    }
    // Later edits and erasures move and remove counts.
    for (const id of callIds.slice(0, 40)) db.$client.prepare('UPDATE calls SET source = ?, arrived_at = arrived_at + ? WHERE id = ?').run('edited', DAY / 3, id);
    for (const id of callIds.slice(40, 80)) db.$client.prepare('DELETE FROM calls WHERE id = ?').run(id);

    const rows = db.$client.prepare('SELECT * FROM calls WHERE account_id IS NOT NULL').all() as Array<Record<string, unknown>>;
    const column: Record<ReportGroup, string> = { source: 'source', medium: 'medium', campaign: 'campaign', landingPage: 'landing_page' };
    const expected = (groupBy: ReportGroup, from: number, to: number, accountId?: number) => {
      const m = new Map<string | null, { calls: number; answered: number; firstTimeCallers: number }>();
      for (const c of rows) {
        const at = c.arrived_at as number;
        if (at < from || at >= to || (accountId !== undefined && c.account_id !== accountId)) continue;
        let v = c[column[groupBy]] as string | null;
        if (groupBy === 'landingPage' && v !== null && v.includes('?')) v = v.slice(0, v.indexOf('?'));
        const e = m.get(v) ?? { calls: 0, answered: 0, firstTimeCallers: 0 };
        e.calls += 1;
        e.answered += c.disposition === 'answered' ? 1 : 0;
        e.firstTimeCallers += c.first_time_caller === 1 ? 1 : 0;
        m.set(v, e);
      }
      return [...m.entries()].map(([value, e]) => ({ value, ...e })).sort((a, b) => b.calls - a.calls || String(a.value).localeCompare(String(b.value)));
    };
    const strip = (xs: Array<{ value: string | null; calls: number; answered: number; firstTimeCallers: number }>) =>
      xs.map(({ value, calls, answered, firstTimeCallers }) => ({ value, calls, answered, firstTimeCallers })).sort((a, b) => b.calls - a.calls || String(a.value).localeCompare(String(b.value)));
    const ranges: Array<[number, number]> = [
      [START, START + 20 * DAY],
      [START + DAY / 2, START + 7 * DAY + 3_600_000],
      [START + 2 * DAY, START + 3 * DAY],
      [START + 5 * DAY + 1, START + 5 * DAY + 9 * 3_600_000],
      [START - 10 * DAY, START + 40 * DAY],
    ];
    for (const groupBy of REPORT_GROUPS) {
      for (const [from, to] of ranges) {
        for (const accountId of [undefined, ids[0]]) {
          const got = runOnSqlite(db, callReport({ groupBy, from, to, ...(accountId === undefined ? {} : { accountIds: [accountId] }) }));
          expect(strip(got.rows), `${groupBy} ${from}-${to} account ${accountId}`).toEqual(strip(expected(groupBy, from, to, accountId)));
          expect(got.totals.calls).toBe(expected(groupBy, from, to, accountId).reduce((n, e) => n + e.calls, 0));
        }
      }
    }
  });
});
