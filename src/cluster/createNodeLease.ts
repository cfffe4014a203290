import type { Logger } from 'pino';
import { iso } from '../isoTime.js';
import type { CallRecordRepository } from '../persistence/callRecordRepository.js';
import { lapsedNodesWithCalls, renewNodeLease, type NodeLease } from '../persistence/nodeLeaseRepository.js';
import type { Db } from '../persistence/openDatabase.js';

export interface NodeLeaseDeps {
  db: Db;
  /** This node (NODE_ID). */
  nodeId: string;
  records: Pick<CallRecordRepository, 'listUnfinishedOf' | 'finish'>;
  /** The recordings still being made of a call whose node is gone: said missing, with why. */
  recordingsLost: (callId: number, reason: string) => void;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How long a lease lasts without renewal (NODE_LEASE_SECONDS); it is renewed five times as often. */
  ttlMs: number;
  clock?: () => number;
}

/**
 * This node's lease on life in the shared database, and the duty of every live node: the calls of a
 * node whose lease lapsed (its router killed, its machine gone) are finished as reconciled, since
 * nobody else will. A call the gone node's Asterisk may still carry is not touched while the lease
 * lasts. Each renewal and each check is one short synchronous transaction, off any call's path.
 */
export function createNodeLease(deps: NodeLeaseDeps) {
  const { db, nodeId, records, logger, ttlMs } = deps;
  const clock = deps.clock ?? Date.now;
  let timer: NodeJS.Timeout | undefined;

  const finishCallsOf = (lease: NodeLease): number => {
    const reason = `node ${lease.nodeId} stopped renewing its lease (last ${iso(lease.renewedAt)}, lapsed ${iso(lease.expiresAt)})`;
    let finished = 0;
    for (const row of records.listUnfinishedOf(lease.nodeId)) {
      // The last moment the node was known alive: the call lasted at least until then.
      const endedAt = Math.max(row.answeredAt ?? row.arrivedAt, lease.renewedAt);
      records.finish(row.id, {
        disposition: row.answeredAt !== null ? 'answered' : 'failed',
        sipCode: row.answeredAt !== null ? 200 : null,
        hangupCause: null,
        endedBy: 'system',
        answeredAt: row.answeredAt,
        endedAt,
        reconciled: true,
        reconciledReason: reason,
      });
      deps.recordingsLost(row.id, reason);
      finished += 1;
    }
    return finished;
  };

  /** Renews this node's lease, then finishes the calls of nodes whose leases lapsed. */
  const tick = (starting = false): { renewed: boolean; finished: number } => {
    const now = clock();
    let finished = 0;
    try {
      const before = renewNodeLease(db, nodeId, now, ttlMs, starting);
      if (before && before.expiresAt < now) {
        // Paused or cut off from the database for longer than the lease: other nodes may have
        // finished this node's calls meanwhile (their records then say so).
        logger.warn({ node: nodeId, lapsedAt: iso(before.expiresAt) }, "this node's lease had lapsed; renewed");
      }
      for (const lease of lapsedNodesWithCalls(db, nodeId, now)) {
        const n = finishCallsOf(lease);
        finished += n;
        logger.warn({ node: lease.nodeId, calls: n, renewedAt: iso(lease.renewedAt) }, "finished the calls of a node whose lease lapsed");
      }
      return { renewed: true, finished };
    } catch (err) {
      // Locked by another process, or the database away: tried again at the next turn.
      logger.error({ err, node: nodeId }, 'renewing the node lease failed');
      return { renewed: false, finished };
    }
  };

  return {
    start(): void {
      tick(true);
      timer = setInterval(() => tick(), Math.max(200, Math.floor(ttlMs / 5)));
      timer.unref();
    },
    tick: () => tick(),
    stop(): void {
      if (timer) clearInterval(timer);
    },
  };
}
