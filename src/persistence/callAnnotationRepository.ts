import { eq } from 'drizzle-orm';
import { appendEvent } from './eventRepository.js';
import type { Db } from './openDatabase.js';
import { calls, type CallRow, type LeadStatus } from './schema.js';

/** What people (or their CRM) say about a call; each field optional, null clears it. */
export interface CallAnnotation {
  tags?: string[];
  notes?: string | null;
  value?: number | null;
  leadStatus?: LeadStatus | null;
}

/**
 * Writes the annotation and its call.modified event (the call as it now is, and which fields
 * changed) in one transaction. Undefined when there is no such call.
 */
export function annotateCall(db: Db, id: number, a: CallAnnotation, now: number): CallRow | undefined {
  return db.transaction((tx) => {
    const set: Partial<typeof calls.$inferInsert> = {};
    if (a.tags !== undefined) set.tags = a.tags.length > 0 ? JSON.stringify(a.tags) : null;
    if (a.notes !== undefined) set.notes = a.notes;
    if (a.value !== undefined) set.value = a.value;
    if (a.leadStatus !== undefined) set.leadStatus = a.leadStatus;
    const row = tx.update(calls).set(set).where(eq(calls.id, id)).returning().get();
    if (!row) return undefined;
    if (row.accountId !== null) {
      appendEvent(tx as unknown as Db, { type: 'call.modified', accountId: row.accountId, callId: id, occurredAt: now, payload: { call: row, changed: Object.keys(set) } });
    }
    return row;
  });
}
