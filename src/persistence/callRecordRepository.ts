import { and, eq, sql, type SQL } from 'drizzle-orm';
import { heldBy } from './nodeScope.js';
import type { Db } from './openDatabase.js';
import { calls, events, type CallDisposition, type CallRow } from './schema.js';

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
  /** The caller's processing is restricted in this account (a privacy request): see calls.restricted. */
  restricted?: boolean;
  /** The carrier INVITE's SIP Call-ID: one record per attempt (see insertArrival). */
  sipCallId?: string | null;
}

export interface CallFinish {
  disposition: CallDisposition;
  sipCode: number | null;
  hangupCause: number | null;
  endedBy: string;
  answeredAt: number | null;
  endedAt: number;
  reconciled?: boolean;
  /** Why reconciliation finished it (kept with `reconciled`). */
  reconciledReason?: string | null;
  /** Route-plan outcome: the step that answered, who answered, and every destination tried. */
  route?: { step: string | null; answeredDestination: string | null; tried: Array<{ step: string; target: string; result: string }> };
}

/** Where the router sends a call: the route-plan step ('destination' for a number without a plan) and what it rings. */
export interface CallRouting {
  step: string | null;
  destinations: string[];
}

/** Seconds between two ms timestamps, to the millisecond; null when either is missing. */
export function secondsBetween(from: number | null, to: number | null): number | null {
  if (from === null || to === null) return null;
  return Math.max(0, to - from) / 1000;
}

/** The columns a call's outcome sets (but its route), from when it arrived and how it ended. */
export function outcomeOf(arrivedAt: number, f: CallFinish) {
  return {
    disposition: f.disposition,
    sipCode: f.sipCode,
    hangupCause: f.hangupCause,
    endedBy: f.endedBy,
    answeredAt: f.answeredAt,
    endedAt: f.endedAt,
    ringSeconds: secondsBetween(arrivedAt, f.answeredAt ?? f.endedAt),
    talkSeconds: f.answeredAt === null ? 0 : secondsBetween(f.answeredAt, f.endedAt),
    reconciled: f.reconciled ?? false,
    reconciledReason: f.reconciledReason ?? null,
  };
}

/** Every column an arrival sets: one prepared insert serves every call, whichever fields it has. */
const ARRIVAL_KEYS = [
  'accountId', 'trackingNumberId', 'did', 'callerNumber', 'callerName', 'source', 'medium', 'campaign', 'destination',
  'arrivedAt', 'inboundChannelId', 'outboundChannelId', 'bridgeId', 'dialplanHandOff', 'visitId', 'landingPage',
  'referrer', 'utm', 'clickIds', 'firstVisitAt', 'firstTimeCaller', 'restricted', 'sipCallId',
] as const satisfies ReadonlyArray<keyof CallArrival>;
// A field added to CallArrival and not listed above would be dropped silently: make it a type error.
const arrivalKeysComplete: [Exclude<keyof CallArrival, (typeof ARRIVAL_KEYS)[number]>] extends [never] ? true : never = true;
void arrivalKeysComplete;

/**
 * A value bound when a prepared statement runs. Drizzle binds it through the column's encoder
 * (a boolean column gets 0/1) although its typings for `set()` take no placeholders. The encoder
 * is not null-safe (it would store a null boolean as 0): nullable booleans use `rawSlot`. Typed
 * `never` by default, which fits whatever type the column asks for.
 */
function slot<T = never>(name: string): T {
  return sql.placeholder(name) as unknown as T;
}
/** A value bound as given, no encoder: for a nullable boolean, pass 1, 0 or null. */
function rawSlot(name: string): SQL {
  return sql`${sql.placeholder(name)}`;
}

const arrivalPlaceholders = {
  ...(Object.fromEntries(ARRIVAL_KEYS.map((k) => [k, slot(k)])) as Record<(typeof ARRIVAL_KEYS)[number], never>),
  firstTimeCaller: rawSlot('firstTimeCaller'),
};

/** The arrival's columns as a row to insert: absent fields null, the flags false. */
export function arrivalRow(a: CallArrival) {
  const values: Record<string, unknown> = {};
  for (const k of ARRIVAL_KEYS) values[k] = a[k] ?? null;
  return { ...values, dialplanHandOff: a.dialplanHandOff ?? false, restricted: a.restricted ?? false } as typeof values & CallArrival;
}

/** The arrival row bound to the prepared statements (a nullable boolean as 1, 0 or null: see rawSlot). */
function arrivalValues(a: CallArrival): Record<string, unknown> {
  return { ...arrivalRow(a), firstTimeCaller: a.firstTimeCaller == null ? null : a.firstTimeCaller ? 1 : 0 };
}

/** A call's row before its outcome: not finished, nothing about how it ended. */
export const NO_OUTCOME = {
  finished: false,
  disposition: null,
  sipCode: null,
  hangupCause: null,
  endedBy: null,
  answeredAt: null,
  endedAt: null,
  ringSeconds: null,
  talkSeconds: null,
  reconciled: false,
  reconciledReason: null,
  routeStep: null,
  answeredDestination: null,
  destinationsTried: null,
} as const;

/**
 * What a retried attempt (same SIP Call-ID) writes over the refused record it takes over: the new
 * arrival (`excluded`, SQLite's name for the row that was to be inserted), and no outcome yet.
 */
export const TAKE_OVER_REFUSED = {
  ...(Object.fromEntries(ARRIVAL_KEYS.map((k) => [k, sql.raw(`excluded.${calls[k].name}`)])) as Record<(typeof ARRIVAL_KEYS)[number], never>),
  nodeId: sql.raw('excluded.node_id') as unknown as string,
  ...NO_OUTCOME,
};

/**
 * Writes call records: one row when the call arrives, its outcome at release. Every write is
 * one synchronous statement (better-sqlite3), so nothing async can interleave with it. The writes
 * a call makes are statements prepared once: building and compiling the SQL again for every call
 * cost the router more CPU than running it (a CPU profile of the bench's refused calls).
 */
export function createCallRecordRepository(db: Db, { nodeId = '' }: { nodeId?: string } = {}) {
  const byId = slot('id');
  const ownNode = heldBy(calls.nodeId, nodeId);
  const statements = {
    // One record per attempt (SIP Call-ID): a carrier that retries a refused call, on this node or
    // another, sends the same Call-ID; the retry takes the refused record over instead of adding one.
    insertArrival: db
      .insert(calls)
      .values({ ...arrivalPlaceholders, nodeId, finished: false })
      .onConflictDoUpdate({ target: calls.sipCallId, set: TAKE_OVER_REFUSED, setWhere: sql`${calls.finished} = 1 and ${calls.answeredAt} is null` })
      .returning({ id: calls.id })
      .prepare(),
    /** The rare arrival whose Call-ID a live or answered call holds already (a duplicated INVITE): its own record, without it. */
    insertArrivalWithoutCallId: db
      .insert(calls)
      .values({ ...arrivalPlaceholders, sipCallId: null, nodeId, finished: false })
      .returning({ id: calls.id })
      .prepare(),
    byCallId: db.select({ id: calls.id }).from(calls).where(eq(calls.sipCallId, slot('sipCallId'))).prepare(),
    insertRefused: db
      .insert(calls)
      .values({
        ...arrivalPlaceholders,
        nodeId,
        finished: true,
        disposition: slot('disposition'),
        sipCode: slot('sipCode'),
        hangupCause: slot('hangupCause'),
        endedBy: 'router',
        answeredAt: null,
        endedAt: slot('endedAt'),
        ringSeconds: slot('ringSeconds'),
        talkSeconds: 0,
      })
      // A refusal of an attempt already recorded (the same Call-ID) adds nothing.
      .onConflictDoNothing({ target: calls.sipCallId })
      .returning({ id: calls.id })
      .prepare(),
    markAnswered: db.update(calls).set({ answeredAt: slot('answeredAt') }).where(eq(calls.id, byId)).prepare(),
    markAnsweredLeg: db
      .update(calls)
      .set({ answeredAt: slot('answeredAt'), outboundChannelId: slot('outboundChannelId'), destination: slot('destination') })
      .where(eq(calls.id, byId))
      .prepare(),
    arrivedAt: db.select({ arrivedAt: calls.arrivedAt }).from(calls).where(eq(calls.id, byId)).prepare(),
    byInboundChannel: db.select().from(calls).where(eq(calls.inboundChannelId, slot('channel'))).prepare(),
    byId: db.select().from(calls).where(eq(calls.id, byId)).prepare(),
    insertEvent: db
      .insert(events)
      .values({ type: slot('type'), accountId: slot('accountId'), callId: slot('callId'), occurredAt: slot('occurredAt'), payload: slot('payload') })
      .prepare(),
  };
  const outcome = {
    finished: true,
    disposition: slot('disposition'),
    sipCode: slot('sipCode'),
    hangupCause: slot('hangupCause'),
    endedBy: slot('endedBy'),
    answeredAt: slot('answeredAt'),
    endedAt: slot('endedAt'),
    ringSeconds: slot('ringSeconds'),
    talkSeconds: slot('talkSeconds'),
    reconciled: slot('reconciled'),
    reconciledReason: slot('reconciledReason'),
  };
  const unfinishedById = and(eq(calls.id, byId), eq(calls.finished, false));
  const finishStatements = {
    plain: db.update(calls).set(outcome).where(unfinishedById).prepare(),
    withRoute: db
      .update(calls)
      .set({ ...outcome, routeStep: slot('routeStep'), answeredDestination: slot('answeredDestination'), destinationsTried: slot('destinationsTried') })
      .where(unfinishedById)
      .prepare(),
  };

  return {
    /**
     * Inserts the unfinished row of an arriving call and returns its id. With `routedTo` (a call
     * whose destination is already decided) its call.routed event is written in the same transaction.
     */
    insertArrival(a: CallArrival, routedTo?: CallRouting): number {
      const insert = (): number => {
        const values = arrivalValues(a);
        const row = statements.insertArrival.get(values) as { id: number } | undefined;
        return row ? row.id : (statements.insertArrivalWithoutCallId.get(values) as { id: number }).id;
      };
      if (!routedTo) return insert();
      return db.$client.transaction(() => {
        const id = insert();
        this.routed(id, routedTo, a.arrivedAt);
        return id;
      })();
    },

    /**
     * The call.routed event: the router decided where the call goes (a route-plan step and the
     * destinations it rings). Calls the dialplan routes by itself from the table get theirs with
     * their arrival row. The other call events come from triggers (migration 0020).
     */
    routed(id: number, route: CallRouting, at: number): void {
      const row = statements.byId.get({ id });
      if (!row || row.accountId === null) return;
      const payload = JSON.stringify({ call: row, step: route.step, destinations: route.destinations });
      statements.insertEvent.run({ type: 'call.routed', accountId: row.accountId, callId: id, occurredAt: at, payload });
    },

    /**
     * A call refused before anything was dialed (unknown number, a cap, overload): its row is
     * written finished, in one statement. Returns its id.
     */
    insertRefused(a: CallArrival, r: { disposition: CallDisposition; sipCode: number; hangupCause: number; endedAt: number }): number {
      const values = { ...arrivalValues(a), ...r, ringSeconds: secondsBetween(a.arrivedAt, r.endedAt) };
      const row = statements.insertRefused.get(values) as { id: number } | undefined;
      // Already recorded under its Call-ID (a retry that came first, a line read twice): that record.
      return row ? row.id : (statements.byCallId.get({ sipCallId: a.sipCallId }) as { id: number }).id;
    },

    /** Remembers the answer time, so a router restart mid-call can still finish the record correctly. */
    markAnswered(id: number, answeredAt: number, leg: { outboundChannelId: string; destination: string } | null = null): void {
      if (leg) statements.markAnsweredLeg.run({ id, answeredAt, ...leg });
      else statements.markAnswered.run({ id, answeredAt });
    },

    /** Writes the outcome once: a row already finished is left alone (release is idempotent). */
    finish(id: number, f: CallFinish): void {
      const row = statements.arrivedAt.get({ id });
      if (!row) return;
      const values = { id, ...outcomeOf(row.arrivedAt, f) };
      if (!f.route) finishStatements.plain.run(values);
      else finishStatements.withRoute.run({ ...values, routeStep: f.route.step, answeredDestination: f.route.answeredDestination, destinationsTried: JSON.stringify(f.route.tried) });
    },

    /**
     * This node's rows left unfinished by a crash or a restart, oldest first. Another node's calls
     * are its own to reconcile (its Asterisk carries them), until its lease lapses (`listUnfinishedOf`).
     */
    listUnfinished(): CallRow[] {
      return db.select().from(calls).where(and(eq(calls.finished, false), ownNode)).orderBy(calls.id).all();
    },

    /** The unfinished rows of another node (one whose lease lapsed), oldest first. */
    listUnfinishedOf(otherNodeId: string): CallRow[] {
      return db.select().from(calls).where(and(eq(calls.finished, false), eq(calls.nodeId, otherNodeId))).orderBy(calls.id).all();
    },

    /** The row of a call by its inbound channel, finished or not: one probe of the unique index on it. */
    findByInboundChannel(inboundChannelId: string): CallRow | undefined {
      return statements.byInboundChannel.get({ channel: inboundChannelId });
    },

    get(id: number): CallRow | undefined {
      return statements.byId.get({ id });
    },
  };
}

export type CallRecordRepository = ReturnType<typeof createCallRecordRepository>;
