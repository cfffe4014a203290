import { and, eq, lt, ne, sql } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { calls, nodeLeases } from './schema.js';

export interface NodeLease {
  nodeId: string;
  startedAt: number;
  renewedAt: number;
  expiresAt: number;
}

/**
 * Renews this node's lease to `now + ttlMs` (the first renewal writes its row; `starting`: the
 * router has just started, which the lease's startedAt then says). Returns the lease as it was.
 */
export function renewNodeLease(db: Db, nodeId: string, now: number, ttlMs: number, starting = false): NodeLease | undefined {
  return withoutWaiting(db, () => db.transaction((tx) => {
    const before = tx.select().from(nodeLeases).where(eq(nodeLeases.nodeId, nodeId)).get();
    tx.insert(nodeLeases)
      .values({ nodeId, startedAt: now, renewedAt: now, expiresAt: now + ttlMs })
      .onConflictDoUpdate({ target: nodeLeases.nodeId, set: { renewedAt: now, expiresAt: now + ttlMs, ...(starting ? { startedAt: now } : {}) } })
      .run();
    return before;
  }));
}

/**
 * Runs `work` with no busy wait: when another process holds the write lock it fails at once
 * (SQLITE_BUSY) instead of holding the event loop, and every call on it, for the busy timeout.
 * For periodic work that simply tries again at its next turn.
 */
export function withoutWaiting<T>(db: Db, work: () => T): T {
  const waited = db.$client.pragma('busy_timeout', { simple: true }) as number;
  db.$client.pragma('busy_timeout = 0');
  try {
    return work();
  } finally {
    db.$client.pragma(`busy_timeout = ${Number(waited)}`);
  }
}

/**
 * Nodes other than `nodeId` whose lease lapsed before `now` and that still have unfinished calls:
 * their routers are gone, and their calls wait for a live node to finish them.
 */
export function lapsedNodesWithCalls(db: Db, nodeId: string, now: number): NodeLease[] {
  return db
    .select()
    .from(nodeLeases)
    .where(
      and(
        ne(nodeLeases.nodeId, nodeId),
        lt(nodeLeases.expiresAt, now),
        sql`exists (select 1 from ${calls} where ${calls.finished} = 0 and ${calls.nodeId} = ${nodeLeases.nodeId})`,
      ),
    )
    .all();
}

export function listNodeLeases(db: Db): NodeLease[] {
  return db.select().from(nodeLeases).orderBy(nodeLeases.nodeId).all();
}
