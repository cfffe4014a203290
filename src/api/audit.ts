import type { FastifyReply, FastifyRequest } from 'fastify';
import { appendAudit } from '../persistence/auditRepository.js';
import type { Store } from '../persistence/store.js';
import { describeActor, type Actor } from './principal.js';

export interface AuditEvent {
  /** e.g. auth.login, recording.play, or the route ("PATCH /v1/tracking-numbers/:id"). */
  action: string;
  target?: string | null;
  /** Defaults to the account the handler found the row in (request.auditAccountId). */
  accountId?: number | null;
  /** Never a secret: no bodies, passwords, tokens or codes. */
  detail?: Record<string, unknown>;
  /** For requests without a principal (sign-in): who it was, or who it claimed to be. */
  actor?: string;
  actorUserId?: number | null;
}

/** Appends one entry for this request: who (the principal, or `actor`), what, where, from which address. */
export function recordAudit(store: Store, request: FastifyRequest, event: AuditEvent, at: number, as?: Actor): Promise<void> {
  const actor = as ?? request.principal?.actor;
  return store.run(appendAudit(
    {
      actorKind: actor?.kind ?? 'anonymous',
      actorUserId: actor?.kind === 'user' ? actor.userId : actor?.kind === 'api-key' ? actor.userId : (event.actorUserId ?? null),
      actorKeyId: actor?.kind === 'api-key' ? actor.keyId : null,
      actor: actor ? describeActor(actor) : (event.actor ?? 'anonymous'),
      accountId: event.accountId !== undefined ? event.accountId : request.auditAccountId,
      action: event.action,
      target: event.target ?? null,
      detail: event.detail ? JSON.stringify(event.detail) : null,
      ip: request.ip,
    },
    at,
  ));
}

/** Whether a GET of audio is the start of a play or download (a player's later Range requests are not). */
function startsPlayback(request: FastifyRequest): boolean {
  const range = request.headers.range;
  return range === undefined || /^bytes=0-/.test(range);
}

/**
 * The onResponse hook of /v1 (and the signed links): every successful change (any method but GET/HEAD)
 * and every playback or download of a recording becomes an entry. Refusals are not entries, except
 * failed sign-ins, which the sign-in route records itself.
 */
export function createAuditHook(store: Store, now: () => number): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    if (reply.statusCode >= 400 || request.routeOptions.url === undefined) return;
    const route = request.routeOptions.url;
    const path = request.url.split('?')[0] ?? request.url;
    const read = request.method === 'GET' || request.method === 'HEAD';
    if (read) {
      const audio = route === '/v1/recordings/:id/audio' || route === '/r/:id';
      if (!audio || request.method === 'HEAD' || !startsPlayback(request)) return;
      // Playing and downloading are one request to the server; both are 'recording.play'.
      await recordAudit(store, request, { action: 'recording.play', target: path, detail: { via: route === '/r/:id' ? 'signed link' : 'api' } }, now());
      return;
    }
    // The sign-in routes record their own entries (with what matters to them).
    if (route.startsWith('/v1/auth/')) return;
    await recordAudit(store, request, { action: `${request.method} ${route}`, target: path, detail: { status: reply.statusCode } }, now());
  };
}
