import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { CallrouteError } from '../../errors.js';
import { AriHttpError } from './AriHttpError.js';
import { backoffDelay } from '../../backoffDelay.js';
import { ariResources } from './ariResources.js';
import { createAriTransport } from './createAriTransport.js';
import type {
  AriClient,
  AriConnectOptions,
  AriConnectionState,
  AriEvent,
  AriEventOf,
  AriEventType,
} from './types.js';

export { AriHttpError, ignoringGone, isChannelGone, isNotFound, isRecordingNotActive } from './AriHttpError.js';

/**
 * The events callroute handles. Everything else is filtered out in Asterisk: ChannelVarset alone was 63 % of
 * all events.
 */
export const DEFAULT_ARI_EVENT_TYPES: readonly AriEventType[] = Object.freeze([
  'StasisStart',
  'StasisEnd',
  'ChannelStateChange',
  'ChannelDestroyed',
  'ChannelHangupRequest',
  'Dial',
  // Not ChannelEnteredBridge / ChannelLeftBridge / BridgeDestroyed / PlaybackStarted: nothing acts on
  // them, and they were 5 of the 25 events of every call (bench/results).
  'RecordingStarted',
  'RecordingFinished',
  'RecordingFailed',
  'PlaybackFinished',
  'ChannelDtmfReceived',
]);

export interface CreateAriClientOptions {
  /** Asterisk's HTTP server, e.g. `http://127.0.0.1:8088` (REST under `/ari`, events at `/ari/events`). */
  url: string;
  username: string;
  password: string;
  /** Stasis application name. */
  app: string;
  logger: Logger;
  /** Event types allowed by the filter applied after every (re)connect. Default `DEFAULT_ARI_EVENT_TYPES`. */
  eventTypes?: AriEventType[];
  /** Bounded REST connection pool. Default 32; keep well below Asterisk's http.conf `sessionlimit`. */
  maxSockets?: number;
  /** Per REST request, including time queued for a socket; also the websocket handshake. Default 10 000. */
  requestTimeoutMs?: number;
  /** Reconnect backoff. Default 250 ms doubling up to 5 s, with jitter. */
  backoff?: { initialMs: number; maxMs: number };
  /** Websocket ping period; a connection that misses a pong for one period is dropped. 0 disables. Default 10 000. */
  pingIntervalMs?: number;
}

type AnyHandler = (event: AriEvent) => void;
type ConnectionHandler = (state: AriConnectionState) => void;

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Keeps a rejection nobody awaits (connect({ wait: false }) or close() before connecting) from being unhandled;
  // callers that awaited `promise` still see it.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Our typed ARI client: REST through a bounded keep-alive pool, events over one websocket that reconnects
 * forever with capped, jittered backoff and re-applies the event filter after every connect (Asterisk forgets it
 * when it restarts). Events that happen while disconnected are lost (Asterisk does not replay them): listen to
 * `onConnection('connected')` to resync. The typed REST resources are in ariResources.ts.
 */
export function createAriClient(opts: CreateAriClientOptions): AriClient {
  // The caller names the component (main.ts passes a child with component: 'ari'); adding it here would duplicate the key.
  const log = opts.logger.child({ app: opts.app });
  const requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
  const backoff = opts.backoff ?? { initialMs: 250, maxMs: 5_000 };
  const pingIntervalMs = opts.pingIntervalMs ?? 10_000;
  const eventTypes = [...(opts.eventTypes ?? DEFAULT_ARI_EVENT_TYPES)];
  const transport = createAriTransport({
    url: opts.url,
    username: opts.username,
    password: opts.password,
    logger: log,
    maxSockets: opts.maxSockets ?? 32,
    requestTimeoutMs,
  });
  const request = transport.request;

  const eventsUrl = new URL(opts.url);
  eventsUrl.protocol = eventsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  eventsUrl.pathname = `${eventsUrl.pathname.replace(/\/+$/, '')}/ari/events`;
  eventsUrl.search = '';
  eventsUrl.searchParams.set('app', opts.app);
  eventsUrl.searchParams.set('subscribeAll', 'false');
  // A Basic header rather than api_key=user:pass in the URL, which would end up in access logs.
  const authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;

  const handlers = new Map<string, Set<AnyHandler>>();
  const connectionHandlers = new Set<ConnectionHandler>();

  let state: AriConnectionState = 'disconnected';
  let socket: WebSocket | null = null;
  /** Bumped for every socket and on close(): async work that finds another generation is stale. */
  let generation = 0;
  let started = false;
  let closed = false;
  let attempt = 0;
  let failuresLogged = 0;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let pingTimer: NodeJS.Timeout | null = null;
  let firstConnect: Deferred | null = null;
  /** True when a connect() caller waits: then an auth failure rejects it and stops instead of retrying. */
  let waiting = false;
  let closing: Promise<void> | null = null;
  /** Once credentials have worked, a later 401 (password changed, Asterisk mid-reload) is retried, never fatal. */
  let everConnected = false;

  function notify(next: AriConnectionState): void {
    for (const handler of [...connectionHandlers]) {
      try {
        const result: unknown = handler(next);
        if (isPromiseLike(result)) {
          result.then(undefined, (err: unknown) => log.error({ err, state: next }, 'ari connection handler failed'));
        }
      } catch (err) {
        log.error({ err, state: next }, 'ari connection handler failed');
      }
    }
  }

  function dispatch(event: AriEvent): void {
    const set = handlers.get(event.type);
    if (!set || set.size === 0) return;
    // A copy: handlers commonly remove themselves (or others) while handling.
    for (const handler of [...set]) {
      try {
        const result: unknown = handler(event);
        if (isPromiseLike(result)) {
          result.then(undefined, (err: unknown) => log.error({ err, eventType: event.type }, 'ari event handler failed'));
        }
      } catch (err) {
        log.error({ err, eventType: event.type }, 'ari event handler failed');
      }
    }
  }

  function onMessage(data: RawData): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawToString(data));
    } catch (err) {
      log.warn({ err }, 'ari event is not json');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || typeof (parsed as { type?: unknown }).type !== 'string') {
      log.warn('ari event without a type');
      return;
    }
    dispatch(parsed as AriEvent);
  }

  function stopPing(): void {
    if (pingTimer) clearInterval(pingTimer);
    pingTimer = null;
  }

  function startPing(ws: WebSocket): void {
    stopPing();
    if (pingIntervalMs <= 0) return;
    let alive = true;
    ws.on('pong', () => {
      alive = true;
    });
    // Without this a peer that vanished without a FIN (host down, network cut) looks connected for hours.
    pingTimer = setInterval(() => {
      if (!alive) {
        log.warn('ari websocket missed a pong, dropping it');
        ws.terminate();
        return;
      }
      alive = false;
      ws.ping();
    }, pingIntervalMs);
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer) return;
    const delay = backoffDelay(attempt, backoff);
    attempt += 1;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      openSocket();
    }, delay);
  }

  async function applyFilterAndAnnounce(ws: WebSocket, gen: number, authFailed: () => void): Promise<void> {
    try {
      await request<void>('PUT', `/applications/${encodeURIComponent(opts.app)}/eventFilter`, {
        body: { allowed: eventTypes.map((type) => ({ type })) },
      });
    } catch (err) {
      if (gen !== generation) return;
      if (err instanceof AriHttpError && err.status === 401) {
        authFailed();
        ws.terminate();
        return;
      }
      if (err instanceof AriHttpError && err.status !== 0 && err.status < 500) {
        // A permanent refusal (e.g. an Asterisk without event filters): run unfiltered rather than not at all.
        log.error({ err }, 'ari event filter refused, events arrive unfiltered');
      } else {
        // Transient (Asterisk restarting, overloaded): "connected" promises a filter, so start over.
        log.warn({ err }, 'ari event filter failed, reconnecting');
        ws.terminate();
        return;
      }
    }
    if (gen !== generation || ws.readyState !== WebSocket.OPEN) return;
    state = 'connected';
    everConnected = true;
    attempt = 0;
    failuresLogged = 0;
    startPing(ws);
    log.info({ eventTypes: eventTypes.length }, 'ari connected');
    const pending = firstConnect;
    firstConnect = null;
    waiting = false;
    pending?.resolve();
    notify('connected');
  }

  function openSocket(): void {
    if (closed) return;
    const gen = ++generation;
    state = 'connecting';
    let upgradeStatus: number | undefined;
    let authRefused = false;
    let lastError: Error | undefined;

    const ws = new WebSocket(eventsUrl, {
      headers: { authorization },
      handshakeTimeout: requestTimeoutMs,
      perMessageDeflate: false,
    });
    socket = ws;

    ws.on('unexpected-response', (_req, res) => {
      // Asterisk answers 401 to bad credentials on the upgrade. Taking the status here (instead of parsing ws's
      // error message) and aborting the handshake ends in the usual 'error' + 'close'.
      upgradeStatus = res.statusCode;
      if (res.statusCode === 401) authRefused = true;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      if (gen !== generation) return;
      void applyFilterAndAnnounce(ws, gen, () => {
        authRefused = true;
      });
    });
    ws.on('message', (data) => {
      if (gen === generation) onMessage(data);
    });
    // Always listened to: an unhandled 'error' on a ws would throw and take the process down.
    ws.on('error', (err) => {
      lastError = err;
    });
    ws.on('close', (code) => {
      if (gen !== generation) return;
      socket = null;
      stopPing();
      const wasConnected = state === 'connected';
      state = 'disconnected';
      if (closed) return;

      if (authRefused) {
        const err = new AriHttpError({ status: 401, method: 'GET', path: '/events', ariMessage: 'credentials refused' });
        if (waiting && firstConnect && !everConnected) {
          // Wrong credentials do not fix themselves: give up and let the caller report it.
          log.error({ err, url: eventsUrl.origin }, 'ari credentials refused');
          const pending = firstConnect;
          firstConnect = null;
          waiting = false;
          started = false;
          pending.reject(err);
          return;
        }
        log.error({ err, url: eventsUrl.origin }, 'ari credentials refused, retrying');
      }

      if (wasConnected) {
        log.warn({ code }, 'ari websocket closed, reconnecting');
        notify('disconnected');
      } else if (!authRefused) {
        // Every failure while Asterisk is down would otherwise log once per backoff period.
        const level = failuresLogged < 3 ? 'warn' : 'debug';
        failuresLogged += 1;
        log[level]({ err: lastError, status: upgradeStatus, attempt }, 'ari connect failed, retrying');
      }
      scheduleReconnect();
    });
  }

  const client: AriClient = {
    app: opts.app,

    get state(): AriConnectionState {
      return state;
    },

    connect(options?: AriConnectOptions): Promise<void> {
      if (closed) {
        return Promise.reject(new CallrouteError('CR_ERR_ARI_UNREACHABLE', 'ARI client is closed'));
      }
      if (state === 'connected') return Promise.resolve();
      const wait = options?.wait ?? true;
      if (wait) waiting = true;
      if (!firstConnect) firstConnect = deferred();
      const pending = firstConnect;
      if (!started) {
        started = true;
        attempt = 0;
        openSocket();
      }
      return wait ? pending.promise : Promise.resolve();
    },

    close(): Promise<void> {
      if (closing) return closing;
      closed = true;
      generation += 1;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      stopPing();
      const pending = firstConnect;
      firstConnect = null;
      pending?.reject(new CallrouteError('CR_ERR_ARI_UNREACHABLE', 'ARI client closed before it connected'));
      const ws = socket;
      socket = null;
      closing = (async () => {
        if (ws && ws.readyState !== WebSocket.CLOSED) {
          await new Promise<void>((resolve) => {
            const force = setTimeout(() => ws.terminate(), 1_000);
            ws.once('close', () => {
              clearTimeout(force);
              resolve();
            });
            if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'closing');
            else ws.terminate();
          });
        }
        transport.close();
        state = 'closed';
        log.info('ari closed');
        notify('closed');
      })();
      return closing;
    },

    on<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void): void {
      let set = handlers.get(type);
      if (!set) {
        set = new Set();
        handlers.set(type, set);
      }
      set.add(handler as AnyHandler);
    },

    off<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void): void {
      const set = handlers.get(type);
      if (!set) return;
      set.delete(handler as AnyHandler);
      if (set.size === 0) handlers.delete(type);
    },

    onConnection(handler: ConnectionHandler): () => void {
      connectionHandlers.add(handler);
      return () => {
        connectionHandlers.delete(handler);
      };
    },

    listenerCount(): number {
      let count = 0;
      for (const set of handlers.values()) count += set.size;
      return count;
    },

    ...ariResources(request),
  };
  return client;
}
