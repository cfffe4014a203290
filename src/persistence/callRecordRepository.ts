import { and, eq } from 'drizzle-orm';
import type { Db } from './openDatabase.js';
import { calls, type CallDisposition, type CallRow } from './schema.js';

export interface CallArrival {
  accountId: number | null;
  trackingNumberId: number | null;
  did: string;
  callerNumber: string | null;
  callerName: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  destination: string | null;
  arrivedAt: number;
  inboundChannelId: string;
  outboundChannelId: string | null;
  bridgeId: string | null;
  /** Handed back to the dialplan after the routing decision (see dialplanHandOff). */
  dialplanHandOff?: boolean;
  /** The web visit the call belongs to and what it said (pool numbers), and the caller's history. */
  visitId?: number | null;
  landingPage?: string | null;
  referrer?: string | null;
  utm?: string | null;
  clickIds?: string | null;
  firstVisitAt?: number | null;
  firstTimeCaller?: boolean | null;
}

export interface CallFinish {
  disposition: CallDisposition;
  sipCode: number | null;
  hangupCause: number | null;
  endedBy: string;
  answeredAt: number | null;
  endedAt: number;
  reconciled?: boolean;
  /** Route-plan outcome: the step that answered, who answered, and every destination tried. */
  route?: { step: string | null; answeredDestination: string | null; tried: Array<{ step: string; target: string; result: string }> };
}

/** Seconds between two ms timestamps, to the millisecond; null when either is missing. */
function secondsBetween(from: number | null, to: number | null): number | null {
  if (from === null || to === null) return null;
  return Math.max(0, to - from) / 1000;
}

/**
 * Writes call records: one row when the call arrives, its outcome at release. Every write is
 * one synchronous statement (better-sqlite3), so nothing async can interleave with it.
 */
export function createCallRecordRepository(db: Db) {
  return {
    /** Inserts the unfinished row of an arriving call and returns its id. */
    insertArrival(a: CallArrival): number {
      const row = db.insert(calls).values({ ...a, finished: false }).returning({ id: calls.id }).get();
      return row.id;
    },

    /**
     * A call refused before anything was dialed (unknown number, a cap, overload): its row is
     * written finished, in one statement. Returns its id.
     */
    insertRefused(a: CallArrival, r: { disposition: CallDisposition; sipCode: number; hangupCause: number; endedAt: number }): number {
      const row = db
        .insert(calls)
        .values({
          ...a,
          finished: true,
          disposition: r.disposition,
          sipCode: r.sipCode,
          hangupCause: r.hangupCause,
          endedBy: 'router',
          answeredAt: null,
          endedAt: r.endedAt,
          ringSeconds: secondsBetween(a.arrivedAt, r.endedAt),
          talkSeconds: 0,
        })
        .returning({ id: calls.id })
        .get();
      return row.id;
    },

    /** Remembers the answer time, so a router restart mid-call can still finish the record correctly. */
    markAnswered(id: number, answeredAt: number, leg: { outboundChannelId: string; destination: string } | null = null): void {
      db.update(calls)
        .set(leg ? { answeredAt, outboundChannelId: leg.outboundChannelId, destination: leg.destination } : { answeredAt })
        .where(eq(calls.id, id))
        .run();
    },

    /** Writes the outcome once: a row already finished is left alone (release is idempotent). */
    finish(id: number, f: CallFinish): void {
      const row = db.select({ arrivedAt: calls.arrivedAt }).from(calls).where(eq(calls.id, id)).get();
      if (!row) return;
      const ringEnd = f.answeredAt ?? f.endedAt;
      db.update(calls)
        .set({
          finished: true,
          disposition: f.disposition,
          sipCode: f.sipCode,
          hangupCause: f.hangupCause,
          endedBy: f.endedBy,
          answeredAt: f.answeredAt,
          endedAt: f.endedAt,
          ringSeconds: secondsBetween(row.arrivedAt, ringEnd),
          talkSeconds: f.answeredAt === null ? 0 : secondsBetween(f.answeredAt, f.endedAt),
          reconciled: f.reconciled ?? false,
          ...(f.route
            ? { routeStep: f.route.step, answeredDestination: f.route.answeredDestination, destinationsTried: JSON.stringify(f.route.tried) }
            : {}),
        })
        .where(and(eq(calls.id, id), eq(calls.finished, false)))
        .run();
    },

    /** Rows left unfinished by a crash or a restart, oldest first. */
    listUnfinished(): CallRow[] {
      return db.select().from(calls).where(eq(calls.finished, false)).orderBy(calls.id).all();
    },

    /** The row of a call by its inbound channel, finished or not: one probe of the unique index on it. */
    findByInboundChannel(inboundChannelId: string): CallRow | undefined {
      return db.select().from(calls).where(eq(calls.inboundChannelId, inboundChannelId)).get();
    },

    get(id: number): CallRow | undefined {
      return db.select().from(calls).where(eq(calls.id, id)).get();
    },
  };
}

export type CallRecordRepository = ReturnType<typeof createCallRecordRepository>;
