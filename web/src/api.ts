/**
 * The dashboard talks to the public API only, with the browser's session cookie (same origin; the
 * API checks the Origin of writes). A 401 sends the person to the sign-in page.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** A request with a body of the caller's own (an audio file, for one); answered as `api` answers. */
export async function send<T>(path: string, init: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, credentials: 'same-origin' });
  if (res.status === 401) {
    location.assign(`/sign-in?next=${encodeURIComponent(location.pathname + location.hash)}`);
    throw new ApiError(401, 'CR_ERR_UNAUTHORIZED', 'signed out');
  }
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string; field?: string } };
  if (!res.ok) throw new ApiError(res.status, json.error?.code ?? 'CR_ERR_INTERNAL', json.error?.message ?? `HTTP ${res.status}`, json.error?.field);
  return json as T;
}

export interface Me {
  actor: string;
  user: { id: number; email: string; name: string | null } | null;
  operator: boolean;
  accounts: Array<{ accountId: number; name: string | null; permissions: string[] }>;
}

export interface Account {
  id: number;
  name: string;
  /** IANA zone the account reads times in; null: the browser's. */
  timeZone: string | null;
}

export interface Call {
  id: number;
  accountId: number | null;
  trackingNumberId: number | null;
  did: string;
  callerNumber: string | null;
  callerName: string | null;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  destination: string | null;
  finished: boolean;
  /** Asterisk's dialplan dialed it (the router decided): its answer time comes at its end. */
  dialplanHandOff: boolean;
  disposition: string | null;
  arrivedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  ringSeconds: number | null;
  talkSeconds: number | null;
  firstTimeCaller: boolean | null;
  recordingStatus: string | null;
  landingPage: string | null;
  referrer: string | null;
  utm: Record<string, string> | null;
  clickIds: Record<string, string> | null;
  routeStep: string | null;
  answeredDestination: string | null;
  destinationsTried: Array<{ step: string; target: string; outcome: string }>;
  tags: string[];
  notes: string | null;
  value: number | null;
  leadStatus: string | null;
  /** Finished by the router, not by the call's own end (a restart, a node gone): `reconciledReason` says why. */
  reconciled: boolean;
  reconciledReason: string | null;
  /** The node (NODE_ID) whose router took the call; '' before nodes had names. */
  nodeId: string;
  /** The carrier INVITE's SIP Call-ID, to find the call in a carrier's or Asterisk's logs. */
  sipCallId: string | null;
}

export interface Recording {
  id: number;
  status: string;
  channels: string;
  durationSeconds: number | null;
  contentType: string | null;
}

/** May the signed-in person do this in the account (from /v1/auth/me; the operator may do all)? */
export function may(me: Me, permission: string, accountId: number | null): boolean {
  if (me.operator) return true;
  return me.accounts.some((a) => a.accountId === accountId && a.permissions.includes(permission));
}

/** An API refusal as the person reads it: its message, which names the field. */
export function problem(e: unknown): string {
  return e instanceof ApiError ? e.message : String(e);
}
