import { asc, eq, sql } from 'drizzle-orm';
import { CallrouteError } from '../errors.js';
import type { Db } from './openDatabase.js';
import { trackingNumbers, type AnnouncementMode, type RecordingChannels, type TrackingNumberRow } from './schema.js';
import { isForeignKeyViolation, isUniqueViolation } from './constraintViolations.js';
import { row, rows, runOnSqlite, type Store, type Work } from './store.js';
import { createVersionedCache } from './versionedCache.js';

/** Values as stored: `did` already E.164, `destination` E.164 or a sip: URI (the caller validates). */
export interface TrackingNumberInput {
  accountId: number;
  did: string;
  destination: string;
  label?: string | null;
  ringTimeoutSeconds?: number;
  enabled?: boolean;
  source?: string | null;
  medium?: string | null;
  campaign?: string | null;
  /** Record answered calls (default true). */
  recordingEnabled?: boolean;
  recordingChannels?: RecordingChannels;
  announcement?: AnnouncementMode;
  /** Set only with announcement 'custom' (the caller checks it exists). */
  announcementId?: number | null;
  /** The visitor-level pool (the caller checks it is of the same account). */
  poolId?: number | null;
  /** Route plan calls follow (same account; the caller checks); null: ring `destination`. */
  routePlanId?: number | null;
  /** Concurrent calls to this number beyond which callers get busy; null: no cap. */
  maxConcurrentCalls?: number | null;
}

export type TrackingNumberPatch = Partial<TrackingNumberInput>;

/**
 * Turns constraint failures into domain errors. `details.field` names the input property;
 * the HTTP layer prefixes it with the request part.
 */
function rethrowConstraint(err: unknown, did: string | undefined, accountId: number | undefined): never {
  // The only unique key on tracking_numbers besides the primary key is did.
  if (isUniqueViolation(err)) {
    const what = did === undefined ? 'tracking number' : `tracking number ${did}`;
    throw new CallrouteError('CR_ERR_DUPLICATE_DID', `${what} already exists`, { field: 'did' });
  }
  if (isForeignKeyViolation(err)) {
    const what = accountId === undefined ? 'account' : `account ${accountId}`;
    throw new CallrouteError('CR_ERR_VALIDATION', `${what} does not exist`, { field: 'accountId' });
  }
  throw err;
}

/** Throws CR_ERR_DUPLICATE_DID (field did) or CR_ERR_VALIDATION (field accountId) on constraint failures. */
export function createTrackingNumber(input: TrackingNumberInput, now: number = Date.now()): Work<TrackingNumberRow> {
  return function* ({ db, t }) {
    try {
      return (yield* row(db.insert(t.trackingNumbers).values({ ...input, createdAt: now, updatedAt: now }).returning()))!;
    } catch (err) {
      rethrowConstraint(err, input.did, input.accountId);
    }
  };
}

export function trackingNumbersOf(filter: { accountId?: number } = {}): Work<TrackingNumberRow[]> {
  return function* ({ db, t }) {
    const q = db.select().from(t.trackingNumbers);
    const filtered = filter.accountId === undefined ? q : q.where(eq(t.trackingNumbers.accountId, filter.accountId));
    return yield* rows(filtered.orderBy(asc(t.trackingNumbers.id)));
  };
}

/** trackingNumbersOf on SQLite, synchronously (the router's routing table there). */
export function listTrackingNumbers(db: Db, filter: { accountId?: number } = {}): TrackingNumberRow[] {
  return runOnSqlite(db, trackingNumbersOf(filter));
}

export function getTrackingNumber(id: number): Work<TrackingNumberRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.trackingNumbers).where(eq(t.trackingNumbers.id, id)));
  };
}

/** Returns the updated row, or undefined when no tracking number has this id. Same errors as create. */
export function updateTrackingNumber(id: number, patch: TrackingNumberPatch, now: number = Date.now()): Work<TrackingNumberRow | undefined> {
  return function* ({ db, t }) {
    try {
      return yield* row(db.update(t.trackingNumbers).set({ ...patch, updatedAt: now }).where(eq(t.trackingNumbers.id, id)).returning());
    } catch (err) {
      rethrowConstraint(err, patch.did, patch.accountId);
    }
  };
}

export function setTrackingNumberEnabled(id: number, enabled: boolean, now: number = Date.now()): Work<TrackingNumberRow | undefined> {
  return updateTrackingNumber(id, { enabled }, now);
}

/** The number of a DID (E.164), enabled or not: findByDid's query on either dialect. */
export function trackingNumberOfDid(did: string): Work<TrackingNumberRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.trackingNumbers).where(eq(t.trackingNumbers.did, did)).limit(1));
  };
}

type FindByDidStatement = { get(values: { did: string }): TrackingNumberRow | undefined };

/** One prepared statement per database handle, built on first use (tests open many databases). */
const findByDidStatements = new WeakMap<Db, FindByDidStatement>();

/**
 * The version triggers bump on every change to tracking_numbers (migration 0010): the router
 * rewrites Asterisk's routing table when it moves. One primary-key read.
 */
/** route_table_version: bumped by triggers on every change to a number or a caller privacy rule. */
export function currentRouteTableVersion(): Work<number> {
  return function* ({ db, t }) {
    const { routeTableVersion: table } = t;
    return (yield* row(db.select({ version: table.version }).from(table).where(eq(table.id, 1))))?.version ?? 0;
  };
}

export function routeTableVersion(db: Db): number {
  return runOnSqlite(db, currentRouteTableVersion());
}

/**
 * The router's per-call lookup: one prepared statement, one probe of the unique index on `did`.
 * `did` must already be E.164 (normalise with `normalizeNumber` first); disabled numbers are returned
 * too, so the router can reject them with CR_ERR_NUMBER_DISABLED rather than CR_ERR_DID_NOT_FOUND.
 *
 * @example findByDid(db, '+15551234567') // TrackingNumberRow | undefined
 */
export function findByDid(db: Db, did: string): TrackingNumberRow | undefined {
  let stmt = findByDidStatements.get(db);
  if (!stmt) {
    stmt = db
      .select()
      .from(trackingNumbers)
      .where(eq(trackingNumbers.did, sql.placeholder('did')))
      .limit(1)
      .prepare();
    findByDidStatements.set(db, stmt);
  }
  return stmt.get({ did });
}

/**
 * Every tracking number by DID, in memory (the router's per-call lookup where a database read would be
 * a network round trip: PostgreSQL). Read again when route_table_version moves, on a timer and after
 * API writes; await `refresh()` once before taking calls. Disabled numbers are kept, as findByDid
 * returns them (a rejection says why).
 */
export function createTrackingNumberCache(store: Store, options: { intervalMs?: number; onError?: (err: unknown) => void } = {}) {
  const cache = createVersionedCache<ReadonlyMap<string, TrackingNumberRow>>({
    version: () => store.run(currentRouteTableVersion()),
    load: async () => new Map((await store.run(trackingNumbersOf())).map((n) => [n.did, n])),
    initial: new Map(),
    ...options,
  });
  return { ...cache, findByDid: (did: string): TrackingNumberRow | undefined => cache.current().get(did) };
}
