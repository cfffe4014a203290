import { inArray, type Column, type SQL } from 'drizzle-orm';

/**
 * Rows a node looks after (its calls to reconcile, its recordings' files, its media jobs): its own,
 * and those written before nodes had names (node_id ''), which were all one machine's.
 */
export function heldBy(column: Column, nodeId: string): SQL {
  return inArray(column, [...new Set([nodeId, ''])]);
}
