import { iso, isoOrNull } from '../isoTime.js';
import type { CallRow, EventRow, EventType } from '../persistence/schema.js';
import { callView } from './callView.js';

/** The payload's shape (envelope and data) that receivers see; bumped when a field changes meaning or goes. */
export const EVENT_PAYLOAD_VERSION = 1;

/**
 * An event as webhooks and the live feed send it:
 * `{ id, type, version, accountId, occurredAt, data }`. `id` is the idempotency key: the same event
 * delivered again (a retry, a redelivery) has the same id.
 */
export interface EventEnvelope {
  id: string;
  type: EventType;
  version: number;
  accountId: number | null;
  occurredAt: string;
  data: Record<string, unknown>;
}

const CALL_BOOLEANS = ['finished', 'reconciled', 'dialplanHandOff', 'restricted'] as const;

/**
 * A call snapshot as stored: the trigger's json_object (booleans 0/1) or a row the code wrote
 * (booleans true/false). Either becomes a CallRow.
 */
export function snapshotCall(raw: Record<string, unknown>): CallRow {
  const row = { ...raw } as Record<string, unknown>;
  for (const k of CALL_BOOLEANS) row[k] = row[k] === true || row[k] === 1;
  if (row.firstTimeCaller !== null && row.firstTimeCaller !== undefined) row.firstTimeCaller = row.firstTimeCaller === true || row.firstTimeCaller === 1;
  else row.firstTimeCaller = null;
  return row as unknown as CallRow;
}

function recordingView(raw: Record<string, unknown>) {
  const ms = (k: string) => (typeof raw[k] === 'number' ? (raw[k] as number) : null);
  return {
    ...raw,
    startedAt: isoOrNull(ms('startedAt')),
    stoppedAt: isoOrNull(ms('stoppedAt')),
    readyAt: isoOrNull(ms('readyAt')),
    deletedAt: isoOrNull(ms('deletedAt')),
  };
}

function numberView(raw: Record<string, unknown>) {
  return { ...raw, enabled: raw.enabled === 1 || raw.enabled === true, recordingEnabled: raw.recordingEnabled === 1 || raw.recordingEnabled === true, updatedAt: isoOrNull(typeof raw.updatedAt === 'number' ? raw.updatedAt : null) };
}

/**
 * An event about a call whose caller restricted processing (a privacy request): nobody outside
 * is told of it, and only who handles privacy sees it in the live feed.
 */
export function isRestrictedCall(envelope: EventEnvelope): boolean {
  const call = envelope.data.call as { restricted?: boolean } | undefined;
  return call?.restricted === true;
}

/** The stored event as receivers see it. */
export function eventView(e: EventRow): EventEnvelope {
  const payload = JSON.parse(e.payload) as Record<string, unknown>;
  const data: Record<string, unknown> = { ...payload };
  if (payload.call && typeof payload.call === 'object') data.call = callView(snapshotCall(payload.call as Record<string, unknown>));
  if (payload.recording && typeof payload.recording === 'object') data.recording = recordingView(payload.recording as Record<string, unknown>);
  if (payload.number && typeof payload.number === 'object') data.number = numberView(payload.number as Record<string, unknown>);
  return { id: e.uid, type: e.type, version: e.version, accountId: e.accountId, occurredAt: iso(e.occurredAt), data };
}
