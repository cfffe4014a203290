import { and, desc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import { CallrouteError } from '../errors.js';
import { jsonArrayHasText } from './dialectSql.js';
import { inAccounts } from './inAccounts.js';
import type { calls as sqliteCalls, CallDisposition, CallRow, LeadStatus } from './schema.js';
import { affected, row, rows, type Work } from './store.js';

export const CALLS_DEFAULT_LIMIT = 50;
export const CALLS_MAX_LIMIT = 500;

export interface CallFilter {
  /** Inclusive lower bound on arrived_at (ms). */
  from?: number;
  /** Exclusive upper bound on arrived_at (ms). */
  to?: number;
  /** Only these accounts (an empty list matches nothing); undefined: every account. */
  accountIds?: readonly number[];
  /** E.164, as stored. */
  did?: string;
  disposition?: CallDisposition;
  source?: string;
  medium?: string;
  campaign?: string;
  firstTimeCaller?: boolean;
  /** E.164, as stored. */
  callerNumber?: string;
  /** Calls carrying this tag (compared without case). */
  tag?: string;
  /**
   * Free text: the calls whose caller number holds these digits, or whose caller name, a tag or the
   * notes hold the text (without case). A scan of the calls the other filters leave: the dashboard's
   * search box, never the call path.
   */
  search?: string;
  leadStatus?: LeadStatus;
  /** Restricted records (calls.restricted) only in these accounts; undefined: everywhere. */
  restrictedIn?: readonly number[];
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
  /** 1–500, default 50. */
  limit?: number;
}

export interface CallPage {
  calls: CallRow[];
  /** Null on the last page. */
  nextCursor: string | null;
}

interface CallCursor {
  arrivedAt: number;
  id: number;
}

/** Encodes the keyset position (arrivedAt, id) of the last row of a page. Opaque to clients. */
export function encodeCallCursor(c: CallCursor): string {
  return Buffer.from(`v1:${c.arrivedAt}:${c.id}`, 'utf8').toString('base64url');
}

/** Throws CR_ERR_VALIDATION (details.field `cursor`) for anything encodeCallCursor did not produce. */
export function decodeCallCursor(cursor: string): CallCursor {
  const m = /^v1:(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const arrivedAt = Number(m?.[1]);
  const id = Number(m?.[2]);
  if (!m || !Number.isSafeInteger(arrivedAt) || !Number.isSafeInteger(id)) {
    throw new CallrouteError('CR_ERR_VALIDATION', 'cursor is not valid', { field: 'cursor' });
  }
  return { arrivedAt, id };
}

/**
 * Calls newest first (arrived_at desc, id desc) with keyset pagination, so a page costs the same
 * however deep it is and rows inserted meanwhile never shift later pages. The (account_id, arrived_at),
 * (did, arrived_at) and (arrived_at) indexes serve the common filters; disposition and source filter
 * the rows those indexes yield.
 */
export function listCalls(filter: CallFilter = {}): Work<CallPage> {
  return function* ({ db, t, dialect }) {
    const { calls } = t;
    const limit = Math.min(Math.max(Math.trunc(filter.limit ?? CALLS_DEFAULT_LIMIT), 1), CALLS_MAX_LIMIT);
    const where: SQL[] = [];
    if (filter.from !== undefined) where.push(gte(calls.arrivedAt, filter.from));
    if (filter.to !== undefined) where.push(lt(calls.arrivedAt, filter.to));
    if (filter.accountIds !== undefined) where.push(inAccounts(calls.accountId, filter.accountIds));
    if (filter.did !== undefined) where.push(eq(calls.did, filter.did));
    if (filter.disposition !== undefined) where.push(eq(calls.disposition, filter.disposition));
    if (filter.source !== undefined) where.push(eq(calls.source, filter.source));
    if (filter.medium !== undefined) where.push(eq(calls.medium, filter.medium));
    if (filter.campaign !== undefined) where.push(eq(calls.campaign, filter.campaign));
    if (filter.firstTimeCaller !== undefined) where.push(eq(calls.firstTimeCaller, filter.firstTimeCaller));
    if (filter.callerNumber !== undefined) where.push(eq(calls.callerNumber, filter.callerNumber));
    if (filter.tag !== undefined) where.push(jsonArrayHasText(dialect, calls.tags, filter.tag));
    if (filter.search !== undefined) where.push(matchesSearch(calls, filter.search));
    if (filter.leadStatus !== undefined) where.push(eq(calls.leadStatus, filter.leadStatus));
    if (filter.restrictedIn !== undefined) {
      const shown = or(eq(calls.restricted, false), inAccounts(calls.accountId, filter.restrictedIn));
      if (shown) where.push(shown);
    }
    if (filter.cursor !== undefined) {
      const c = decodeCallCursor(filter.cursor);
      const after = or(lt(calls.arrivedAt, c.arrivedAt), and(eq(calls.arrivedAt, c.arrivedAt), lt(calls.id, c.id)));
      if (after) where.push(after);
    }
    const found = yield* rows(db.select().from(calls).where(and(...where)).orderBy(desc(calls.arrivedAt), desc(calls.id)).limit(limit + 1));
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = found.length > limit && last ? encodeCallCursor({ arrivedAt: last.arrivedAt, id: last.id }) : null;
    return { calls: page, nextCursor };
  };
}

export function getCall(id: number): Work<CallRow | undefined> {
  return function* ({ db, t }) {
    return yield* row(db.select().from(t.calls).where(eq(t.calls.id, id)));
  };
}

/** Calls not finished yet (in progress, or left by a crash until reconciled), oldest first; the partial index on finished serves it. */
export function callsInProgress(accountIds?: readonly number[], limit = 1000): Work<CallRow[]> {
  return function* ({ db, t }) {
    const { calls } = t;
    const where = accountIds === undefined ? eq(calls.finished, false) : and(eq(calls.finished, false), inAccounts(calls.accountId, accountIds));
    return yield* rows(db.select().from(calls).where(where).orderBy(calls.arrivedAt).limit(limit));
  };
}

/** LIKE's wildcards in what a person typed, taken literally (escaped with `\`). */
function likeLiteral(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** See CallFilter.search (the same SQL on both dialects). */
function matchesSearch(calls: typeof sqliteCalls, text: string): SQL {
  const words = likeLiteral(text.trim().toLowerCase());
  const digits = text.replace(/\D/g, '');
  const byText = sql`(lower(${calls.callerName}) like ${words} escape '\\' or lower(${calls.tags}) like ${words} escape '\\' or lower(${calls.notes}) like ${words} escape '\\')`;
  // "(555) 123-4567" and "5551234567" find +15551234567: the digits, whatever the punctuation.
  return digits.length >= 3 ? sql`(${calls.callerNumber} like ${likeLiteral(digits)} escape '\\' or ${byText})` : byText;
}

/** Stores the call's recording pauses (JSON: src/events/callView.ts's RecordingPause list) as they now are. */
export function saveRecordingPauses(callId: number, pausesJson: string): Work<void> {
  return function* ({ db, t }) {
    yield* affected(db.update(t.calls).set({ recordingPauses: pausesJson }).where(eq(t.calls.id, callId)));
  };
}
