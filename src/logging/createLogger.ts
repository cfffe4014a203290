import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger; fastify and every call session log through children of it. By default it
 * writes stdout asynchronously: a synchronous write blocks the event loop, and with it every call's
 * routing answer, whenever stdout is a pipe its reader drains slowly (journald, a supervisor, the
 * bench's harness). Call `flushLogger` before exiting.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level }, destination ?? pino.destination({ dest: 1, sync: false }));
}

/** Writes out what the asynchronous destination still holds. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
