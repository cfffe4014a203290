import { iso, isoOrNull } from '../isoTime.js';
import type { CallRow } from '../persistence/schema.js';
import { parseDestinationsTried } from '../routing/routePlan/recordOutcome.js';

/**
 * A call as everything outside callroute sees it: the API's call resource, the payload of call
 * events (webhooks, the live feed), a privacy export. One mapping, so a webhook receiver and an API
 * client read the same fields.
 */
export function callView(row: CallRow) {
  return {
    ...row,
    arrivedAt: iso(row.arrivedAt),
    answeredAt: isoOrNull(row.answeredAt),
    endedAt: isoOrNull(row.endedAt),
    destinationsTried: parseDestinationsTried(row.destinationsTried),
    utm: parseJsonObject(row.utm),
    clickIds: parseJsonObject(row.clickIds),
    firstVisitAt: isoOrNull(row.firstVisitAt),
    recordingPauses: recordingPausesView(row.recordingPauses),
    tags: parseTags(row.tags),
  };
}
export type CallView = ReturnType<typeof callView>;

export interface RecordingPause {
  pausedAt: number;
  resumedAt: number | null;
}

/** calls.recording_pauses as stored (JSON), [] when none. */
export function parseRecordingPauses(json: string | null): RecordingPause[] {
  if (json === null) return [];
  const parsed = JSON.parse(json) as unknown;
  return Array.isArray(parsed) ? (parsed as RecordingPause[]) : [];
}

export function recordingPausesView(json: string | null) {
  return parseRecordingPauses(json).map((p) => ({ pausedAt: iso(p.pausedAt), resumedAt: isoOrNull(p.resumedAt) }));
}

/** calls.tags as stored (a JSON array of strings), [] when none or unreadable. */
export function parseTags(json: string | null): string[] {
  if (!json) return [];
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

/** A JSON object column (utm tags, click ids) as an object; null when absent or unreadable. */
export function parseJsonObject(json: string | null): Record<string, string> | null {
  if (!json) return null;
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : null;
  } catch {
    return null;
  }
}
