import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one root logger; fastify and every call session log through children of it. By default it
 * writes stdout asynchronously: a synchronous write blocks the event loop, and with it every call's
 * routing answer, whenever stdout is a pipe its reader drains slowly (journald, a supervisor, the
 * bench's harness). Call `flushLogger` before exiting.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      // Secrets never reach a log line, whoever logs the object they sit in.
      redact: { paths: SECRET_PATHS, censor: '[redacted]' },
      serializers: { req: requestForLog },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

const SECRET_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  // Session and known-browser cookies, should a request's headers ever be logged.
  'req.headers.cookie',
  'headers.cookie',
  'res.headers["set-cookie"]',
  'config.adminToken',
  'config.ari.password',
  // Its password, where the URL carries one.
  'config.dbUrl',
  'config.recordings.linkSecret',
  'config.privacy.hashSecret',
  'config.recordings.keys',
];

/** Query parameters that are credentials: a signed link's signature. */
const SECRET_QUERY = /([?&](?:sig|token)=)[^&#]*/gi;

/**
 * A request as fastify logs it ("incoming request"), with the signature of a signed link cut
 * from its URL (a player's GET /r/:id?exp&sig= is a bearer credential for minutes).
 */
function requestForLog(req: { method?: string; url?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
  return { method: req.method, url: req.url?.replace(SECRET_QUERY, '$1[redacted]'), remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}

/** Writes out what the asynchronous destination still holds. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
