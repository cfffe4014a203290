import type { Logger } from 'pino';
import { eventsAfter, lastEventId } from '../persistence/eventRepository.js';
import type { EventRow } from '../persistence/schema.js';
import type { Store } from '../persistence/store.js';
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
export function createEventHub(deps: { store: Store; logger: Pick<Logger, 'warn'>; pollMs?: number }) {
  const listeners = new Set<EventListener>();
  let position = 0;
  let timer: NodeJS.Timeout | undefined;
  /** Set while someone listens: the position read and the timer started. */
  let started: Promise<void> | null = null;
  /** The look in progress; one at a time, so events are handed on in order. */
  let looking: Promise<void> | null = null;

  async function lookOnce(): Promise<void> {
    for (;;) {
      const batch = await deps.store.run(eventsAfter(position, BATCH));
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

  /** Delivers what is new now (the timer calls it; tests too). */
  function poll(): Promise<void> {
    looking ??= lookOnce().finally(() => {
      looking = null;
    });
    return looking;
  }

  function stop(): void {
    clearInterval(timer);
    started = null;
  }

  return {
    /** Listens from the next event on; resolves to the position it starts after and the way to stop. */
    async subscribe(listener: EventListener): Promise<{ from: number; unsubscribe: () => void }> {
      started ??= deps.store.run(lastEventId()).then((id) => {
        position = id;
        timer = setInterval(() => {
          // A database that does not answer (restarting): the next look tries again.
          poll().catch((err: unknown) => deps.logger.warn({ err }, 'live feed could not read the event stream'));
        }, deps.pollMs ?? 200);
        timer.unref();
      });
      const starting = started;
      try {
        await starting;
      } catch (err) {
        // The database did not answer: the next subscriber tries again.
        if (started === starting) started = null;
        throw err;
      }
      listeners.add(listener);
      return {
        from: position,
        unsubscribe: () => {
          listeners.delete(listener);
          if (listeners.size === 0) stop();
        },
      };
    },
    poll,
    get listeners(): number {
      return listeners.size;
    },
    close(): void {
      listeners.clear();
      stop();
    },
  };
}

export type EventHub = ReturnType<typeof createEventHub>;
