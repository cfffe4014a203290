import { CallrouteError, type ErrorCode } from '../../errors.js';

export interface AriHttpErrorInit {
  /** HTTP status; 0 when no response arrived (connection refused or reset, timeout, client closed). */
  status: number;
  method: string;
  /** Resource path under `/ari`, without the query string (it can carry caller numbers). */
  path: string;
  /** ARI's own `message` from the JSON error body, when there was one. */
  ariMessage?: string;
  timedOut?: boolean;
  cause?: unknown;
}

function codeFor(status: number): ErrorCode {
  if (status === 0) return 'CR_ERR_ARI_UNREACHABLE';
  if (status === 401) return 'CR_ERR_ARI_AUTH';
  return 'CR_ERR_ARI_HTTP';
}

/**
 * Every failed ARI request rejects with this. It is a `CallrouteError`, so one error catalog covers it:
 * status 0 → `CR_ERR_ARI_UNREACHABLE`, 401 → `CR_ERR_ARI_AUTH`, any other non-2xx → `CR_ERR_ARI_HTTP`.
 * Callers decide by `status` (see `isChannelGone`), never by `ariMessage` text.
 */
export class AriHttpError extends CallrouteError {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly ariMessage: string | undefined;
  readonly timedOut: boolean;

  constructor(init: AriHttpErrorInit) {
    const what = init.status === 0 ? (init.timedOut ? 'timed out' : 'no response') : String(init.status);
    const suffix = init.ariMessage ? `: ${init.ariMessage}` : '';
    super(codeFor(init.status), `ARI ${init.method} ${init.path} failed (${what})${suffix}`, {
      status: init.status,
      method: init.method,
      path: init.path,
      ariMessage: init.ariMessage,
    });
    this.name = 'AriHttpError';
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.ariMessage = init.ariMessage;
    this.timedOut = init.timedOut ?? false;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

// Channel operations whose only documented 409 is "Channel not in a Stasis application": the channel has left
// our control (hung up and on its way out, or already continued into the dialplan). Other 409s (bridge busy,
// recording name taken, channel id already exists on create) mean something else, hence the path check.
const NOT_IN_STASIS_409 = /^\/channels\/[^/]+\/(?:answer|ring|dial|continue|variable)$/;

/**
 * True when an ARI request failed because the channel no longer exists or is no longer ours:
 * 404, 422 (bridges/addChannel: "Channel not found or not in Stasis"), or 409 on a channel operation
 * (answer, ring, dial, continue, variable). Decided by HTTP status, never by message text.
 *
 * @example
 * try { await ari.channels.answer(id) } catch (err) { if (isChannelGone(err)) return release(); throw err }
 */
export function isChannelGone(err: unknown): boolean {
  if (!(err instanceof AriHttpError)) return false;
  if (err.status === 404 || err.status === 422) return true;
  return err.status === 409 && err.method === 'POST' && NOT_IN_STASIS_409.test(err.path);
}

/**
 * Awaits a cleanup request (hang up a channel, destroy a bridge, stop a recording) whose target being gone already is
 * the goal, not an error: such a failure is dropped (isChannelGone covers every 404), any other goes to `onFailure`,
 * which logs it. Never rejects, so a release can go on to its next step.
 */
export async function ignoringGone(request: Promise<unknown>, onFailure: (err: unknown) => void): Promise<void> {
  try {
    await request;
  } catch (err) {
    if (!isChannelGone(err)) onFailure(err);
  }
}

/** True for an ARI 404 (channel, bridge, recording or application not found). */
export function isNotFound(err: unknown): boolean {
  return err instanceof AriHttpError && err.status === 404;
}

/**
 * True when stopping a live recording failed because it is not running any more. Asterisk sometimes answers
 * 409 "Recording not in session" while RecordingFinished still arrives: treat it like 404.
 */
export function isRecordingNotActive(err: unknown): boolean {
  return err instanceof AriHttpError && (err.status === 404 || err.status === 409);
}
