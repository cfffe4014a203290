import { eq } from 'drizzle-orm';
import { appendEvent } from './eventRepository.js';
import type { CallRow, LeadStatus } from './schema.js';
import { row, type Work } from './store.js';

/** What people (or their CRM) say about a call; each field optional, null clears it. */
export interface CallAnnotation {
  tags?: string[];
  notes?: string | null;
  value?: number | null;
  leadStatus?: LeadStatus | null;
}

/**
 * Writes the annotation and its call.modified event (the call as it now is, and which fields
 * changed). Run it as a transaction. Undefined when there is no such call.
 */
export function annotateCall(id: number, a: CallAnnotation, now: number): Work<CallRow | undefined> {
  return function* (q) {
    const { db, t } = q;
    const set: Partial<typeof t.calls.$inferInsert> = {};
    if (a.tags !== undefined) set.tags = a.tags.length > 0 ? JSON.stringify(a.tags) : null;
    if (a.notes !== undefined) set.notes = a.notes;
    if (a.value !== undefined) set.value = a.value;
    if (a.leadStatus !== undefined) set.leadStatus = a.leadStatus;
    const call = yield* row(db.update(t.calls).set(set).where(eq(t.calls.id, id)).returning());
    if (!call) return undefined;
    if (call.accountId !== null) {
      yield* appendEvent({ type: 'call.modified', accountId: call.accountId, callId: id, occurredAt: now, payload: { call, changed: Object.keys(set) } })(q);
    }
    return call;
  };
}
