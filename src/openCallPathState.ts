/**
 * What the router's call path reads and writes, on the database the configuration names: the SQLite
 * file (the default) or a PostgreSQL database several nodes share (CALLROUTE_DB_URL). The call path
 * asks the same things of either; what differs is where the answers come from:
 *
 * - SQLite: every read is one prepared statement on the local file and every write a synchronous
 *   statement (microseconds), as the router has always done;
 * - PostgreSQL: a round trip the caller must not wait for, and a server that may be away for a while.
 *   The numbers, the caller privacy rules and the route plans are held in memory (read again when
 *   their version moves), records and recordings are written behind the call in order per call, and
 *   arrivals are attributed as they are written (docs/persistence.md).
 */
import type { Logger } from 'pino';
import type { Config } from './config/loadConfig.js';
import { arrivalAttribution, callAttribution } from './persistence/attributionRepository.js';
import { createCallRecordRepository } from './persistence/callRecordRepository.js';
import { allCallerPrivacyRules, everyCallerPrivacyRule } from './persistence/callerPrivacyRepository.js';
import { openDatabase } from './persistence/openDatabase.js';
import { createCallRecordsBehind } from './persistence/postgres/callRecordsBehind.js';
import { openPostgres } from './persistence/postgres/openPostgres.js';
import { createWriteBehindCallRecords } from './persistence/postgres/writeBehindCallRecords.js';
import { insertRecording, listRecordingsForCall, markRecordingMissing, markRecordingStopped } from './persistence/recordingRepository.js';
import { createRoutePlanCache, loadRoutePlan, takeNextAction } from './persistence/routePlanRepository.js';
import type { CallRow, RecordingChannels } from './persistence/schema.js';
import { isTransientDatabaseError } from './persistence/sqliteErrors.js';
import { postgresStore, runOnSqlite, sqliteStore, type Store } from './persistence/store.js';
import { createTrackingNumberCache, findByDid, listTrackingNumbers, routeTableVersion } from './persistence/trackingNumberRepository.js';
import type { RoutableNumber } from './routing/resolveRoute.js';
import type { RoutePlan } from './routing/routePlan/types.js';
import { channelsOnReportFiles, type EndReportTailDeps } from './telephony/dialplanHook/createEndReportTail.js';
import type { CallSessionDeps } from './telephony/session/callSessionDeps.js';
import type { SessionRegistryDeps } from './telephony/session/createSessionRegistry.js';
import { TIMED_OUT, withinMs } from './withinMs.js';

/** How long a stop waits for records still queued for PostgreSQL (then they are given up, and logged). */
const WRITES_DRAIN_MS = 5_000;

export interface CallPathState {
  store: Store;
  /** For the start log line: which database, without credentials. */
  database: string;
  /** The registry's records, and reconciliation's (listUnfinished awaited). */
  records: SessionRegistryDeps['records'] & { listUnfinished(): CallRow[] | Promise<CallRow[]> };
  recordingStore: CallSessionDeps['recordingStore'];
  /** Runs `then` once the recording's stop is written (the transcode job it queues names the row). */
  whenStopWritten(recordingId: number, then: () => void): void;
  findNumber: (did: string) => RoutableNumber | undefined;
  /** Sources of the do-not-record and restricted callers' copy in memory. */
  callerPrivacy: { version: () => number | Promise<number>; rules: () => ReturnType<typeof allCallerPrivacyRules> | Promise<ReturnType<typeof allCallerPrivacyRules>> };
  /** The session's own attribution (SQLite); on PostgreSQL arrivals are attributed as they are written. */
  attribute?: CallSessionDeps['attribute'];
  routePlan: (id: number) => RoutePlan | undefined;
  takeNextAction: (plan: RoutePlan, state: Parameters<typeof takeNextAction>[2]) => ReturnType<typeof takeNextAction>;
  /** What the routing table sync reads. */
  routeTable: { version: () => number | Promise<number>; numbers: () => RoutableNumber[] | Promise<RoutableNumber[]> };
  /** How the end report tail treats records: what to retry, when its files may go. */
  endReports: Pick<EndReportTailDeps, 'isRetryable' | 'writesApplied'>;
  /** After an API write: the copies in memory are read again if it changed them (awaited before the API answers). */
  refresh(): Promise<void>;
  /** Before the router takes calls or reads the end reports in `reportFile`. */
  ready(reportFile: string): Promise<void>;
  /** After the router stopped taking calls: what is queued is written (bounded), then the database is closed. */
  close(): Promise<void>;
}

export async function openCallPathState(config: Config, logger: Logger): Promise<CallPathState> {
  return config.dbUrl ? openOnPostgres(config.dbUrl, config, logger) : openOnSqlite(config);
}

function openOnSqlite(config: Config): CallPathState {
  const db = openDatabase(config.dbPath);
  const store = sqliteStore(db);
  return {
    store,
    database: `sqlite ${config.dbPath}`,
    records: createCallRecordRepository(db, { nodeId: config.nodeId }),
    recordingStore: {
      insert: (r) => runOnSqlite(db, insertRecording({ ...r, nodeId: config.nodeId }), { transaction: true }).id,
      stopped: (id, at) => void runOnSqlite(db, markRecordingStopped(id, at), { transaction: true }),
      missing: (id, reason) => void runOnSqlite(db, markRecordingMissing(id, reason), { transaction: true }),
      activeForCall: (callId) => {
        const row = runOnSqlite(db, listRecordingsForCall(callId)).find((r) => r.status === 'recording');
        return row ? { id: row.id, channels: row.channels } : undefined;
      },
    },
    whenStopWritten: (_id, then) => then(),
    findNumber: (did) => findByDid(db, did),
    callerPrivacy: { version: () => routeTableVersion(db), rules: () => allCallerPrivacyRules(db) },
    attribute: (number, callerNumber, now) =>
      arrivalAttribution(callAttribution(db, { trackingNumberId: number.id, poolId: number.poolId ?? null, accountId: number.accountId, callerNumber, now }), number),
    // One more indexed lookup, only for numbers that use a route plan.
    routePlan: (id) => loadRoutePlan(db, id),
    takeNextAction: (plan, state) => takeNextAction(db, plan, state),
    routeTable: { version: () => routeTableVersion(db), numbers: () => listTrackingNumbers(db) },
    // The file busy for a moment: the report is written when it is free, in order, not skipped.
    endReports: { isRetryable: isTransientDatabaseError },
    refresh: async () => undefined,
    ready: async () => undefined,
    close: async () => {
      db.$client.close();
    },
  };
}

async function openOnPostgres(url: string, config: Config, logger: Logger): Promise<CallPathState> {
  const store = postgresStore(await openPostgres(url));
  const onError = (what: string) => (err: unknown) => logger.warn({ err }, `${what} could not be read; the copy held is kept`);
  const numbers = createTrackingNumberCache(store, { onError: onError('tracking numbers') });
  const plans = createRoutePlanCache(store, { onError: onError('route plans') });
  const writer = createWriteBehindCallRecords({ store, nodeId: config.nodeId, logger: logger.child({ component: 'call-records' }), attributeArrivals: true });
  const records = createCallRecordsBehind({ store, writer, nodeId: config.nodeId });
  /** route_table_version as of the numbers' copy, looked at now (a look in progress is joined). */
  const numbersVersion = async (): Promise<number> => {
    await numbers.refresh();
    return Number(numbers.version());
  };
  /** Recordings whose stop is queued: the write, so their transcode job waits for it. */
  const stopWrites = new Map<number, Promise<void>>();
  return {
    store,
    database: `postgres ${hostOf(url)}`,
    records,
    recordingStore: {
      insert: (r) => writer.insertRecording(r),
      stopped: (id, at) => void stopWrites.set(id, writer.markRecordingStopped(id, at)),
      missing: (id, reason) => writer.markRecordingMissing(id, reason),
      activeForCall: (callId): { id: number; channels: RecordingChannels } | undefined => writer.activeRecordingOf(callId),
    },
    whenStopWritten(id, then) {
      const written = stopWrites.get(id) ?? Promise.resolve();
      stopWrites.delete(id);
      void written.then(then);
    },
    findNumber: numbers.findByDid,
    // route_table_version is looked at once per tick for all three: through the numbers' copy.
    callerPrivacy: { version: numbersVersion, rules: () => store.run(everyCallerPrivacyRule()) },
    routePlan: plans.plan,
    takeNextAction: (plan, state) => plans.takeNextAction(plan, state),
    // Through the copy the router answers from: a number the dialplan's table has, the router knows
    // too (a call the table cannot take asks the router; its copy must not be behind the table).
    routeTable: { version: numbersVersion, numbers: () => [...numbers.current().values()] },
    endReports: { writesApplied: writer },
    async refresh() {
      await Promise.all([numbers.refresh(), plans.refresh()]);
    },
    async ready(reportFile) {
      await Promise.all([writer.ready(), numbers.refresh(), plans.refresh(), records.preload(channelsOnReportFiles(reportFile))]);
      numbers.start();
      plans.start();
    },
    async close() {
      numbers.stop();
      plans.stop();
      const drained = (await withinMs(writer.drain(), WRITES_DRAIN_MS)) !== TIMED_OUT;
      if (!drained) logger.error({ pending: writer.pending }, 'the database did not take every call record write before the stop; the end reports on file write theirs at the next start');
      writer.close();
      await plans.settled();
      await store.close();
    },
  };
}

/** The URL's host, port and database, without its user and password. */
function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return 'postgres';
  }
}
