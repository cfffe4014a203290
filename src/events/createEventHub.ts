import type { Logger } from 'pino';
import { eventsAfter, lastEventId } from '../persistence/eventRepository.js';
import type { Db } from '../persistence/openDatabase.js';
import type { EventRow } from '../persistence/schema.js';
import { eventView, type EventEnvelope } from './eventView.js';

/** Gets each event with its rendered view (rendered once, whatever the number of listeners). */
export type EventListener = (event: EventRow, view: EventEnvelope) => void;

/** Events read per look at the outbox; more wait for the next look, a few ms later. */
const BATCH = 500;

/**
 * Hands each new event of the outbox to the listeners in this process (the live feed), in order.
 * It reads the outbox only while someone listens, on its own timer: writers (the call path) never
 * wait for it, and a listener that throws is dropped, not retried.
 */
export function createEventHub(deps: { db: Db; logger: Pick<Logger, 'warn'>; pollMs?: number }) {
  const listeners = new Set<EventListener>();
  let position = 0;
  let timer: NodeJS.Timeout | undefined;

  function poll(): void {
    for (;;) {
      const batch = eventsAfter(deps.db, position, BATCH);
      const last = batch[batch.length - 1];
      if (!last) return;
      position = last.id;
      for (const event of batch) {
        const view = eventView(event);
        for (const listener of listeners) {
          try {
            listener(event, view);
          } catch (err) {
            listeners.delete(listener);
            deps.logger.warn({ err }, 'live feed listener failed; dropped');
          }
        }
      }
      if (batch.length < BATCH) return;
    }
  }

  return {
    /** Listens from the next event on; returns the position it starts after and the way to stop. */
    subscribe(listener: EventListener): { from: number; unsubscribe: () => void } {
      if (listeners.size === 0) {
        position = lastEventId(deps.db);
        timer = setInterval(poll, deps.pollMs ?? 200);
        timer.unref();
      }
      listeners.add(listener);
      return {
        from: position,
        unsubscribe: () => {
          listeners.delete(listener);
          if (listeners.size === 0) clearInterval(timer);
        },
      };
    },
    /** Delivers what is new now (tests; the timer does it otherwise). */
    poll,
    get listeners(): number {
      return listeners.size;
    },
    close(): void {
      listeners.clear();
      clearInterval(timer);
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
