/**
 * The PostgreSQL dialect of the schema beside SQLite's (issue 21): the same tables, columns, keys and
 * indexes in the drizzle definitions and in the migrated database, and triggers that leave the same
 * rows behind: events with the same payloads, the same report rollup, the same routing table version.
 */
import { getTableConfig as pgTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteTableConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { is, SQL } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/persistence/openDatabase.js';
import * as pgSchema from '../../src/persistence/postgres/schema.js';
import * as sqliteSchema from '../../src/persistence/schema.js';
import { usePostgresDatabases } from '../support/postgresDatabases.js';

const databases = usePostgresDatabases();

type AnyConfig = ReturnType<typeof sqliteTableConfig> | ReturnType<typeof pgTableConfig>;

/** What must agree between the dialects: everything but the column types. */
function shape(config: AnyConfig) {
  const defaultOf = (d: unknown) => (is(d, SQL) ? 'sql' : d);
  return {
    columns: config.columns
      .map((c) => ({
        name: c.name,
        notNull: c.notNull,
        primary: c.primary,
        // A key's default differs in kind (SQLite's rowid, PostgreSQL's identity); the writes below use both.
        hasDefault: c.primary ? 'key' : c.hasDefault,
        default: defaultOf(c.default),
      }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    indexes: config.indexes
      .map((i) => ({ name: i.config.name, unique: i.config.unique, on: i.config.columns.map((c) => (c as { name: string }).name), partial: i.config.where !== undefined }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name))),
    primaryKeys: config.primaryKeys.map((k) => k.columns.map((c) => c.name)),
    foreignKeys: config.foreignKeys
      .map((f) => {
        const r = f.reference();
        return { columns: r.columns.map((c) => c.name), to: r.foreignColumns.map((c) => `${(c.table as unknown as { [k: symbol]: string })[Symbol.for('drizzle:Name')]}.${c.name}`), onDelete: f.onDelete ?? 'no action' };
      })
      .sort((a, b) => a.columns.join().localeCompare(b.columns.join())),
    checks: config.checks.map((c) => c.name),
  };
}

const sqliteTables = new Map((Object.values(sqliteSchema) as unknown[]).filter((v): v is SQLiteTable => is(v, SQLiteTable)).map((t) => [sqliteTableConfig(t).name, sqliteTableConfig(t)]));
const pgTables = new Map((Object.values(pgSchema) as unknown[]).filter((v): v is PgTable => is(v, PgTable)).map((t) => [pgTableConfig(t).name, pgTableConfig(t)]));

describe('the PostgreSQL schema', () => {
  it('has every table of SQLite’s, with the same columns, keys, indexes and checks', () => {
    expect([...pgTables.keys()].sort()).toEqual([...sqliteTables.keys()].sort());
    expect(sqliteTables.size).toBeGreaterThan(30);
    for (const [name, config] of sqliteTables) {
      expect({ table: name, ...shape(pgTables.get(name)!) }).toEqual({ table: name, ...shape(config) });
    }
  });

  it('is what its migrations make: every table, column and index in the database', async () => {
    const db = await databases.fresh();
    const { rows: columns } = await db.$client.query<{ table_name: string; column_name: string; is_nullable: string }>(
      "select table_name, column_name, is_nullable from information_schema.columns where table_schema = 'public'",
    );
    const { rows: indexes } = await db.$client.query<{ indexname: string }>("select indexname from pg_indexes where schemaname = 'public'");
    for (const [name, config] of pgTables) {
      const inDb = columns.filter((c) => c.table_name === name).map((c) => `${c.column_name} ${c.is_nullable === 'NO' ? 'not null' : 'null'}`).sort();
      expect({ table: name, columns: inDb }).toEqual({ table: name, columns: config.columns.map((c) => `${c.name} ${c.notNull ? 'not null' : 'null'}`).sort() });
      for (const index of config.indexes) expect(indexes.map((i) => i.indexname)).toContain(index.config.name);
    }
  });

  it('migrates once when several routers start together (an advisory lock)', async () => {
    const first = await databases.fresh();
    const { openPostgres } = await import('../../src/persistence/postgres/openPostgres.js');
    const again = await Promise.all([openPostgres(first.url), openPostgres(first.url), openPostgres(first.url)]);
    const { rows } = await first.$client.query<{ n: number }>('select count(*) as n from drizzle.__drizzle_migrations');
    expect(rows[0]?.n).toBe(2);
    await Promise.all(again.map((db) => db.$client.end()));
  });
});

/**
 * One sequence of changes, written with drizzle to either dialect's tables (both query builders
 * take the same calls; SQLite's are awaitable too), so the triggers' work can be compared.
 */
async function writeTheSameChanges(db: any, t: typeof sqliteSchema | typeof pgSchema): Promise<void> {
  const [account] = await db.insert(t.accounts).values({ name: 'Acme', createdAt: 1, updatedAt: 1 }).returning();
  const accountId = account.id as number;
  await db.update(t.accounts).set({ timeZone: 'Europe/Lisbon' });
  const [number] = await db.insert(t.trackingNumbers).values({ accountId, did: '+15551230000', destination: '+15559870000', source: 'google', createdAt: 1, updatedAt: 1 }).returning();
  await db.update(t.trackingNumbers).set({ enabled: false, label: 'ads' });
  const base = { accountId, trackingNumberId: number.id, did: '+15551230000', callerNumber: '+15557654321', source: 'google', medium: 'cpc', destination: '+15559870000' };
  // Answered in two steps, answered and ended in one, refused at once, and one of no account.
  const [a] = await db.insert(t.calls).values({ ...base, arrivedAt: 86_400_000 * 3 + 5, inboundChannelId: 'c1', firstTimeCaller: true }).returning();
  const [b] = await db.insert(t.calls).values({ ...base, arrivedAt: 86_400_000 * 3 + 9, inboundChannelId: 'c2', firstTimeCaller: false, dialplanHandOff: true }).returning();
  await db.insert(t.calls).values({ ...base, arrivedAt: 86_400_000 * 4, inboundChannelId: 'c3', finished: true, disposition: 'rejected', sipCode: 503, endedAt: 86_400_000 * 4 + 3 });
  await db.insert(t.calls).values({ ...base, accountId: null, arrivedAt: 86_400_000 * 4, inboundChannelId: 'c4', finished: true, disposition: 'rejected', sipCode: 404, endedAt: 86_400_000 * 4 + 1 });
  const { eq } = await import('drizzle-orm');
  await db.update(t.calls).set({ answeredAt: 86_400_000 * 3 + 6, disposition: 'answered' }).where(eq(t.calls.id, a.id));
  await db.update(t.calls).set({ finished: true, endedAt: 86_400_000 * 3 + 60, talkSeconds: 54 }).where(eq(t.calls.id, a.id));
  await db.update(t.calls).set({ finished: true, answeredAt: 86_400_000 * 3 + 10, endedAt: 86_400_000 * 3 + 20, disposition: 'answered', reconciled: true }).where(eq(t.calls.id, b.id));
  // A source moved: the rollup moves the call from one row to another.
  await db.update(t.calls).set({ source: 'bing' }).where(eq(t.calls.id, b.id));
  const [rec] = await db.insert(t.recordings).values({ callId: a.id, accountId, status: 'processing', channels: 'mixed', asteriskNames: '[]', startedAt: 86_400_000 * 3 + 6 }).returning();
  await db.update(t.recordings).set({ status: 'ready', readyAt: 86_400_000 * 3 + 70, durationSeconds: 54.5, sizeBytes: 1000 }).where(eq(t.recordings.id, rec.id));
  await db.update(t.recordings).set({ status: 'deleted', deletedAt: 86_400_000 * 3 + 80, statusReason: 'asked' }).where(eq(t.recordings.id, rec.id));
  const [pool] = await db.insert(t.numberPools).values({ accountId, name: 'web', createdAt: 1, updatedAt: 1 }).returning();
  await db.update(t.numberPools).set({ exhaustedCount: 1 }).where(eq(t.numberPools.id, pool.id));
  await db.update(t.numberPools).set({ name: 'website' }).where(eq(t.numberPools.id, pool.id));
  await db.delete(t.numberPools).where(eq(t.numberPools.id, pool.id));
  const [plan] = await db.insert(t.routePlans).values({ accountId, name: 'p', timeZone: 'UTC', definition: '{}', createdAt: 1, updatedAt: 1 }).returning();
  await db.delete(t.routePlans).where(eq(t.routePlans.id, plan.id));
  await db.insert(t.callerPrivacyRules).values({ accountId, callerNumber: '+15557654321', rule: 'do-not-record', createdAt: 1, createdBy: 'test' });
  await db.delete(t.calls).where(eq(t.calls.inboundChannelId, 'c3'));
}

/** What the triggers left: events without their random uid, the rollup, the routing table's version. */
async function whatTriggersWrote(db: any, t: typeof sqliteSchema | typeof pgSchema) {
  const { asc } = await import('drizzle-orm');
  const events = (await db.select().from(t.events).orderBy(asc(t.events.id))) as { type: string; accountId: number; callId: number | null; occurredAt: number; payload: string }[];
  const rollup = await db.select().from(t.callReportDays).orderBy(asc(t.callReportDays.day), asc(t.callReportDays.source));
  const [version] = await db.select().from(t.routeTableVersion);
  return {
    events: events.map((e) => ({ type: e.type, accountId: e.accountId, callId: e.callId, occurredAt: e.occurredAt, payload: JSON.parse(e.payload) as unknown })),
    rollup,
    version: version.version as number,
  };
}

/** Configuration events are stamped with the clock: compare that they are stamped, not when. */
function withoutClock(written: Awaited<ReturnType<typeof whatTriggersWrote>>) {
  return { ...written, events: written.events.map((e) => (e.type === 'configuration.changed' || e.type === 'number.changed' ? { ...e, occurredAt: e.occurredAt > 1_600_000_000_000 } : e)) };
}

describe('the PostgreSQL triggers', () => {
  it('write what SQLite’s write: the same events and payloads, rollup and routing table version', async () => {
    const sqlite = openDatabase(':memory:');
    await writeTheSameChanges(sqlite, sqliteSchema);
    const pg = await databases.fresh();
    await writeTheSameChanges(pg, pgSchema);
    const fromSqlite = withoutClock(await whatTriggersWrote(sqlite, sqliteSchema));
    const fromPg = withoutClock(await whatTriggersWrote(pg, pgSchema));
    expect(fromSqlite.events.map((e) => e.type)).toEqual([
      'configuration.changed', 'number.changed', 'number.changed', 'call.arrived', 'call.arrived', 'call.arrived', 'call.ended', 'call.answered', 'call.ended',
      'call.answered', 'call.ended', 'recording.ready', 'recording.deleted', 'configuration.changed', 'configuration.changed', 'configuration.changed',
      'configuration.changed', 'configuration.changed',
    ]);
    expect(fromSqlite.version).toBe(4);
    expect(fromPg).toEqual(fromSqlite);
  });

  it('keep the audit log append-only', async () => {
    const pg = await databases.fresh();
    await pg.insert(pgSchema.auditLog).values({ at: 1, actorKind: 'system', actor: 'test', action: 'x' } as never);
    await expect(pg.update(pgSchema.auditLog).set({ action: 'y' })).rejects.toMatchObject({ cause: { message: 'audit_log is append-only' } });
  });
});
