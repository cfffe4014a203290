import type { Logger } from 'pino';
import { iso } from '../isoTime.js';
import { finishCallsOfLapsedNode, lapsedNodesWithCalls, renewNodeLease } from '../persistence/nodeLeaseRepository.js';
import type { Store } from '../persistence/store.js';

export interface NodeLeaseDeps {
  store: Store;
  /** This node (NODE_ID). */
  nodeId: string;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** How long a lease lasts without renewal (NODE_LEASE_SECONDS); it is renewed five times as often. */
  ttlMs: number;
  clock?: () => number;
}

export interface LeaseTick {
  renewed: boolean;
  /** Calls of lapsed nodes this tick finished. */
  finished: number;
}

/**
 * This node's lease on life in the shared database, and the duty of every live node: the calls of a
 * node whose lease lapsed (its router killed, its machine gone) are finished as reconciled, since
 * nobody else will. A call the gone node's Asterisk may still carry is not touched while the lease
 * lasts. Each renewal, and each lapsed node's calls, is one short transaction, off any call's path;
 * on SQLite one that never waits for another process's lock (the next turn tries again).
 */
export function createNodeLease(deps: NodeLeaseDeps) {
  const { store, nodeId, logger, ttlMs } = deps;
  const clock = deps.clock ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<LeaseTick> | undefined;

  /** Renews this node's lease, then finishes the calls of nodes whose leases lapsed. */
  const tick = async (starting: boolean): Promise<LeaseTick> => {
    const now = clock();
    let finished = 0;
    try {
      const before = await store.run(renewNodeLease(nodeId, now, ttlMs, starting), { transaction: true, noWait: true });
      if (before && before.expiresAt < now) {
        // Paused or cut off from the database for longer than the lease: other nodes may have
        // finished this node's calls meanwhile (their records then say so).
        logger.warn({ node: nodeId, lapsedAt: iso(before.expiresAt) }, "this node's lease had lapsed; renewed");
      }
      for (const lease of await store.run(lapsedNodesWithCalls(nodeId, now), { noWait: true })) {
        const reason = `node ${lease.nodeId} stopped renewing its lease (last ${iso(lease.renewedAt)}, lapsed ${iso(lease.expiresAt)})`;
        const ids = await store.run(finishCallsOfLapsedNode(lease, reason), { transaction: true, noWait: true });
        finished += ids.length;
        logger.warn({ node: lease.nodeId, calls: ids.length, renewedAt: iso(lease.renewedAt) }, 'finished the calls of a node whose lease lapsed');
      }
      return { renewed: true, finished };
    } catch (err) {
      // Locked by another process, or the database away: tried again at the next turn.
      logger.error({ err, node: nodeId }, 'renewing the node lease failed');
      return { renewed: false, finished };
    }
  };

  /** One tick at a time: a slow database must not pile renewals up. */
  const once = (starting = false): Promise<LeaseTick> => {
    running ??= tick(starting).finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    start(): Promise<LeaseTick> {
      timer = setInterval(() => void once(), Math.max(200, Math.floor(ttlMs / 5)));
      timer.unref();
      return once(true);
    },
    tick: () => once(),
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}
