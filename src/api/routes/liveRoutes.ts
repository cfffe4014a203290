import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callView } from '../../events/callView.js';
import type { EventHub } from '../../events/createEventHub.js';
import { eventView, isRestrictedCall, type EventEnvelope } from '../../events/eventView.js';
import { callsInProgress } from '../../persistence/callQueries.js';
import { eventsAfter } from '../../persistence/eventRepository.js';
import type { EventRow } from '../../persistence/schema.js';
import { canSeeRow, holds, principalOf, requestedAccounts } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

/**
 * A client whose socket holds more than this unsent is too slow for the feed: it is dropped (its
 * EventSource reconnects with Last-Event-ID and catches up from the outbox), never buffered without bound.
 */
export const LIVE_MAX_BUFFERED_BYTES = 256 * 1024;
/** A comment line this often keeps proxies from closing a quiet feed. */
const HEARTBEAT_MS = 15_000;
/** A reconnecting client (Last-Event-ID) is replayed at most this many events; older gaps: a fresh snapshot. */
const REPLAY_MAX = 1_000;

const FEED_TYPES = new Set(['call.arrived', 'call.routed', 'call.answered', 'call.ended', 'call.modified', 'recording.ready', 'recording.deleted', 'recording.expired', 'voicemail.left']);

/**
 * GET /v1/live: server-sent events, authenticated like the rest of the API (a key, or the browser's
 * session cookie, which EventSource sends). First a `snapshot` event with the calls in progress the
 * caller may see, then every call and recording event of those accounts as it is committed, each
 * with its stream position as the SSE id. A restricted caller's calls only to who handles privacy;
 * recording events only to who may see recordings.
 */
export function liveRoutes(app: FastifyInstance, { store }: RouteDeps, hub: EventHub): void {
  app.get<{ Querystring: { accountId?: number } }>(
    '/live',
    {
      config: { permission: 'calls:read' },
      // A HEAD of a stream that never ends would never end either.
      exposeHeadRoute: false,
      schema: { querystring: { type: 'object', additionalProperties: false, properties: { accountId: { type: 'integer', minimum: 1 } } } },
    },
    async (request, reply) => {
      const accounts = requestedAccounts(request, request.query.accountId);
      const shows = visibility(request, accounts);
      const lastSeen = Number(request.headers['last-event-id']);

      const raw = reply.raw;
      reply.hijack();
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      let closed = false;
      const close = (): void => {
        if (closed) return;
        closed = true;
        subscription?.unsubscribe();
        clearInterval(heartbeat);
        raw.destroy();
      };
      const write = (chunk: string): void => {
        if (closed) return;
        raw.write(chunk);
        if (raw.writableLength > LIVE_MAX_BUFFERED_BYTES) {
          request.log.info({ buffered: raw.writableLength }, 'live feed client too slow; dropped');
          close();
        }
      };
      const send = (e: EventRow, view: EventEnvelope = eventView(e)): void => {
        if (shows(e, view)) write(`id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(view)}\n\n`);
      };

      // Live events wait until the replay (or the snapshot) is written, so the feed stays in order.
      let held: Array<[EventRow, EventEnvelope]> | null = [];
      const subscription = await hub.subscribe((e, view) => (held ? held.push([e, view]) : send(e, view))).catch((err: unknown) => {
        // The response is ours since hijack: end it rather than leave the client waiting.
        request.log.warn({ err }, 'live feed could not start; connection closed');
        raw.destroy();
        return null;
      });
      if (!subscription) return;
      write('retry: 3000\n\n');
      const replay = Number.isSafeInteger(lastSeen) && lastSeen > 0 && subscription.from - lastSeen <= REPLAY_MAX;
      if (replay) {
        for (const e of await store.run(eventsAfter(lastSeen, REPLAY_MAX, accounts))) if (e.id <= subscription.from) send(e);
      } else {
        const inProgress = (await store.run(callsInProgress(accounts))).filter((row) => canSeeRow(request, row)).map(callView);
        write(`id: ${subscription.from}\nevent: snapshot\ndata: ${JSON.stringify({ calls: inProgress })}\n\n`);
      }
      for (const [e, view] of held) send(e, view);
      held = null;
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      raw.on('close', close);
      raw.on('error', close);
      // Gone while the replay was read: no 'close' will come now.
      if (raw.destroyed) close();
    },
  );
}

/** What one feed may be shown, decided once at connect from the principal's grants. */
function visibility(request: FastifyRequest, accounts: readonly number[] | undefined) {
  const p = principalOf(request);
  const inScope = (id: number | null) => id !== null && (accounts === undefined || accounts.includes(id));
  return (e: EventRow, view: EventEnvelope): boolean => {
    if (!FEED_TYPES.has(e.type) || !inScope(e.accountId)) return false;
    const id = e.accountId as number;
    if (isRestrictedCall(view) && !(p.operator || holds(p, 'privacy:manage', id))) return false;
    if (!e.type.startsWith('call.') && !(p.operator || holds(p, 'recordings:read', id))) return false;
    return true;
  };
}
