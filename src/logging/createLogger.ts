import { pino, type Logger } from 'pino';

export type { Logger };

/** The one root logger; fastify and every call session log through children of it. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return destination ? pino({ level }, destination) : pino({ level });
}
