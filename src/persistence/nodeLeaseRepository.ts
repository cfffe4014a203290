import { and, eq, inArray, lt, ne, sql } from 'drizzle-orm';
import { outcomeOf } from './callRecordRepository.js';
import { affected, row, rows, type Work } from './store.js';

export interface NodeLease {
  nodeId: string;
  startedAt: number;
  renewedAt: number;
  expiresAt: number;
}

/**
 * Renews this node's lease to `now + ttlMs` (the first renewal writes its row; `starting`: the
 * router has just started, which the lease's startedAt then says). Returns the lease as it was.
 * Run it as a transaction.
 */
export function renewNodeLease(nodeId: string, now: number, ttlMs: number, starting = false): Work<NodeLease | undefined> {
  return function* ({ db, t }) {
    const before = yield* row(db.select().from(t.nodeLeases).where(eq(t.nodeLeases.nodeId, nodeId)));
    yield* affected(
      db
        .insert(t.nodeLeases)
        .values({ nodeId, startedAt: now, renewedAt: now, expiresAt: now + ttlMs })
        .onConflictDoUpdate({ target: t.nodeLeases.nodeId, set: { renewedAt: now, expiresAt: now + ttlMs, ...(starting ? { startedAt: now } : {}) } }),
    );
    return before;
  };
}

/**
 * Nodes other than `nodeId` whose lease lapsed before `now` and that still have unfinished calls:
 * their routers are gone, and their calls wait for a live node to finish them.
 */
export function lapsedNodesWithCalls(nodeId: string, now: number): Work<NodeLease[]> {
  return function* ({ db, t }) {
    const { nodeLeases, calls } = t;
    return yield* rows(
      db
        .select()
        .from(nodeLeases)
        .where(
          and(
            ne(nodeLeases.nodeId, nodeId),
            lt(nodeLeases.expiresAt, now),
            sql`exists (select 1 from ${calls} where ${eq(calls.finished, false)} and ${calls.nodeId} = ${nodeLeases.nodeId})`,
          ),
        )
        .orderBy(nodeLeases.nodeId),
    );
  };
}

/**
 * Finishes the unfinished calls of a node whose lease lapsed, as reconciled with `reason`: answered
 * ones as answered, the rest failed, ended no earlier than the node's last renewal (the last moment
 * it was known alive, so the call lasted at least until then); their recordings still being made
 * are missing, for the same reason. Returns the calls' ids. Run it as a transaction.
 */
export function finishCallsOfLapsedNode(lease: NodeLease, reason: string): Work<number[]> {
  return function* ({ db, t }) {
    const { calls, recordings } = t;
    const unfinished = yield* rows(
      db
        .select({ id: calls.id, arrivedAt: calls.arrivedAt, answeredAt: calls.answeredAt })
        .from(calls)
        .where(and(eq(calls.finished, false), eq(calls.nodeId, lease.nodeId)))
        .orderBy(calls.id),
    );
    for (const call of unfinished) {
      const answered = call.answeredAt !== null;
      const outcome = outcomeOf(call.arrivedAt, {
        disposition: answered ? 'answered' : 'failed',
        sipCode: answered ? 200 : null,
        hangupCause: null,
        endedBy: 'system',
        answeredAt: call.answeredAt,
        endedAt: Math.max(call.answeredAt ?? call.arrivedAt, lease.renewedAt),
        reconciled: true,
        reconciledReason: reason,
      });
      yield* affected(db.update(calls).set({ finished: true, ...outcome }).where(and(eq(calls.id, call.id), eq(calls.finished, false))));
    }
    const ids = unfinished.map((c) => c.id);
    if (ids.length > 0) {
      yield* affected(
        db
          .update(recordings)
          .set({ status: 'missing', statusReason: reason })
          .where(and(inArray(recordings.callId, ids), eq(recordings.status, 'recording'))),
      );
    }
    return ids;
  };
}

export function listNodeLeases(): Work<NodeLease[]> {
  return function* ({ db, t }) {
    return yield* rows(db.select().from(t.nodeLeases).orderBy(t.nodeLeases.nodeId));
  };
}
