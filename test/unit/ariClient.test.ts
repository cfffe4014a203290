import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  AriHttpError,
  DEFAULT_ARI_EVENT_TYPES,
  createAriClient,
  ignoringGone,
  isChannelGone,
  isNotFound,
  isRecordingNotActive,
  type CreateAriClientOptions,
} from '../../src/telephony/ari/createAriClient.js';
import { backoffDelay } from '../../src/backoffDelay.js';
import { CallrouteError } from '../../src/errors.js';
import type { AriClient, AriConnectionState, StasisStartEvent } from '../../src/telephony/ari/types.js';

const USER = 'callroute';
const PASS = 's3cret';

interface Recorded {
  method: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  body: unknown;
}

interface Reply {
  status: number;
  body?: unknown;
  /** Never answer (to test timeouts). */
  hang?: boolean;
  delayMs?: number;
}

/** A small stand-in for Asterisk's HTTP server: ARI REST plus the /ari/events websocket, Basic auth. */
class FakeAri {
  readonly requests: Recorded[] = [];
  readonly sockets = new Set<WebSocket>();
  readonly tcpConnections = new Set<Socket>();
  upgrades = 0;
  upgradeQueries: URLSearchParams[] = [];
  /** Status to refuse upgrades with (e.g. 503 while "Asterisk is starting"); undefined accepts them. */
  refuseUpgradesWith: number | undefined;
  route: (req: Recorded) => Reply = () => ({ status: 204 });
  /** The password Asterisk accepts; tests change it to play an operator rotating credentials. */
  password = PASS;
  inFlight = 0;
  maxInFlight = 0;
  maxTcpConnections = 0;
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private readonly wss: WebSocketServer;
  url = '';

  /** `autoPong: false` plays a peer that vanished without closing the TCP connection. */
  constructor(options: { autoPong?: boolean } = {}) {
    this.wss = new WebSocketServer({ noServer: true, autoPong: options.autoPong ?? true });
  }

  async start(): Promise<void> {
    this.server.on('connection', (sock: Socket) => {
      this.tcpConnections.add(sock);
      // A client that closes or resets its end is what several tests do on purpose.
      sock.on('error', () => {});
      this.maxTcpConnections = Math.max(this.maxTcpConnections, this.tcpConnections.size);
      sock.on('close', () => this.tcpConnections.delete(sock));
    });
    this.server.on('upgrade', (req, socket, head) => {
      socket.on('error', () => {});
      this.upgrades += 1;
      const url = new URL(req.url ?? '/', 'http://x');
      this.upgradeQueries.push(url.searchParams);
      const refuse = (status: number, text: string): void => {
        socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      };
      if (req.headers.authorization !== basic(USER, this.password)) return refuse(401, 'Unauthorized');
      if (url.pathname !== '/ari/events') return refuse(404, 'Not Found');
      if (this.refuseUpgradesWith !== undefined) return refuse(this.refuseUpgradesWith, 'Unavailable');
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('error', () => {});
        ws.on('close', () => this.sockets.delete(ws));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const rec: Recorded = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body: text ? (JSON.parse(text) as unknown) : undefined,
    };
    this.requests.push(rec);
    if (rec.authorization !== basic(USER, this.password)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Authentication required' }));
      return;
    }
    const reply = this.route(rec);
    if (reply.hang) return;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    this.inFlight -= 1;
    if (reply.body === undefined) res.writeHead(reply.status).end();
    else res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
  }

  emit(event: object): void {
    this.send(JSON.stringify(event));
  }

  send(raw: string): void {
    for (const ws of this.sockets) ws.send(raw);
  }

  /** What Asterisk's restart looks like to the client: the socket goes away without a close frame. */
  dropSockets(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  filterPuts(app = 'callroute'): Recorded[] {
    return this.requests.filter((r) => r.method === 'PUT' && r.path === `/ari/applications/${app}/eventFilter`);
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    for (const sock of this.tcpConnections) sock.destroy();
    this.wss.close();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function basic(user: string, pass: string): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
}

async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function setup(
  over: Partial<CreateAriClientOptions> = {},
  fakeOptions: { autoPong?: boolean } = {},
): Promise<{
  fake: FakeAri;
  ari: AriClient;
  lines: Array<Record<string, unknown>>;
}> {
  const fake = new FakeAri(fakeOptions);
  await fake.start();
  const { logger, lines } = captureLogger();
  const ari = createAriClient({
    url: fake.url,
    username: USER,
    password: PASS,
    app: 'callroute',
    logger,
    backoff: { initialMs: 5, maxMs: 20 },
    requestTimeoutMs: 2_000,
    ...over,
  });
  cleanups.push(async () => {
    await ari.close();
    await fake.stop();
  });
  return { fake, ari, lines };
}

describe('backoffDelay', () => {
  it('doubles from initialMs, caps at maxMs, and jitters within the upper half', () => {
    const b = { initialMs: 100, maxMs: 1_000 };
    expect(backoffDelay(0, b, () => 0)).toBe(50);
    expect(backoffDelay(0, b, () => 1)).toBe(100);
    expect(backoffDelay(2, b, () => 1)).toBe(400);
    expect(backoffDelay(10, b, () => 0)).toBe(500);
    expect(backoffDelay(10, b, () => 1)).toBe(1_000);
    expect(backoffDelay(5_000, b, () => 1)).toBe(1_000);
  });
});

describe('ARI REST', () => {
  it('sends Basic auth, ARI paths, query parameters and JSON bodies', async () => {
    const { fake, ari } = await setup();
    const channel = { id: 'leg-1', name: 'PJSIP/trunk-1', state: 'Down' };
    fake.route = (r) => {
      if (r.path === '/ari/channels/create') return { status: 200, body: channel };
      if (r.path === '/ari/bridges') return { status: 200, body: { id: 'br-1', channels: [] } };
      if (r.path === '/ari/bridges/br-1/record') return { status: 201, body: { name: 'rec-1', format: 'wav', state: 'queued' } };
      if (r.path === '/ari/recordings/stored/rec-1') return { status: 200, body: { name: 'rec-1', format: 'wav' } };
      if (r.path === '/ari/recordings/stored/missing') return { status: 404, body: { message: 'Recording not found' } };
      if (r.path === '/ari/asterisk/info') return { status: 200, body: { system: { version: '22.6.0' } } };
      return { status: 204 };
    };

    await expect(
      ari.channels.create({
        endpoint: 'PJSIP/+15550001111@outbound',
        app: 'callroute',
        appArgs: 'leg,call-1',
        channelId: 'leg-1',
        originator: 'in-1',
        formats: 'ulaw,alaw',
        variables: { CALLERID: '"Bob" <100>' },
      }),
    ).resolves.toEqual(channel);
    await ari.channels.dial('leg-1', { caller: 'in-1', timeout: 30 });
    await ari.channels.hangup('in 1/x', { reasonCode: 21, reason: 'busy' });
    await ari.channels.hangup('leg-1', { reason: 'no_answer' });
    await ari.channels.continueInDialplan('in-1', { context: 'fallback', extension: 's', priority: 1 });
    await ari.channels.setVariable('in-1', 'CR_CALL_ID', 'call-1');
    await ari.channels.answer('in-1');
    await ari.channels.ringStop('in-1');
    await ari.bridges.create({ bridgeId: 'br-1', name: 'call-1' });
    await ari.bridges.addChannel('br-1', ['in-1', 'leg-1'], { inhibitConnectedLineUpdates: true });
    await ari.bridges.removeChannel('br-1', ['leg-1']);
    await expect(
      ari.bridges.record('br-1', { name: 'rec-1', format: 'wav', ifExists: 'overwrite', beep: false, terminateOn: 'none' }),
    ).resolves.toMatchObject({ name: 'rec-1' });
    await ari.bridges.destroy('br-1');
    await ari.recordings.stopLive('rec-1');
    await expect(ari.recordings.getStored('rec-1')).resolves.toEqual({ name: 'rec-1', format: 'wav' });
    await expect(ari.recordings.getStored('missing')).resolves.toBeNull();
    await ari.applications.setEventFilter('callroute', ['StasisStart', 'StasisEnd']);
    await ari.applications.subscribe('callroute', 'channel:in-1');
    await expect(ari.asterisk.info()).resolves.toEqual({ system: { version: '22.6.0' } });

    const seen = fake.requests.map((r) => ({ m: r.method, p: r.path, q: Object.fromEntries(r.query), b: r.body }));
    expect(seen).toEqual([
      {
        m: 'POST',
        p: '/ari/channels/create',
        q: {
          endpoint: 'PJSIP/+15550001111@outbound',
          app: 'callroute',
          appArgs: 'leg,call-1',
          channelId: 'leg-1',
          originator: 'in-1',
          formats: 'ulaw,alaw',
        },
        b: { variables: { CALLERID: '"Bob" <100>' } },
      },
      { m: 'POST', p: '/ari/channels/leg-1/dial', q: { caller: 'in-1', timeout: '30' }, b: undefined },
      // The id is one path segment however odd; reason_code wins over reason (ARI takes one of them).
      { m: 'DELETE', p: '/ari/channels/in%201%2Fx', q: { reason_code: '21' }, b: undefined },
      { m: 'DELETE', p: '/ari/channels/leg-1', q: { reason: 'no_answer' }, b: undefined },
      { m: 'POST', p: '/ari/channels/in-1/continue', q: { context: 'fallback', extension: 's', priority: '1' }, b: undefined },
      { m: 'POST', p: '/ari/channels/in-1/variable', q: { variable: 'CR_CALL_ID', value: 'call-1' }, b: undefined },
      { m: 'POST', p: '/ari/channels/in-1/answer', q: {}, b: undefined },
      { m: 'DELETE', p: '/ari/channels/in-1/ring', q: {}, b: undefined },
      { m: 'POST', p: '/ari/bridges', q: { type: 'mixing', bridgeId: 'br-1', name: 'call-1' }, b: undefined },
      {
        m: 'POST',
        p: '/ari/bridges/br-1/addChannel',
        q: { channel: 'in-1,leg-1', inhibitConnectedLineUpdates: 'true' },
        b: undefined,
      },
      { m: 'POST', p: '/ari/bridges/br-1/removeChannel', q: { channel: 'leg-1' }, b: undefined },
      {
        m: 'POST',
        p: '/ari/bridges/br-1/record',
        q: { name: 'rec-1', format: 'wav', ifExists: 'overwrite', beep: 'false', terminateOn: 'none' },
        b: undefined,
      },
      { m: 'DELETE', p: '/ari/bridges/br-1', q: {}, b: undefined },
      { m: 'POST', p: '/ari/recordings/live/rec-1/stop', q: {}, b: undefined },
      { m: 'GET', p: '/ari/recordings/stored/rec-1', q: {}, b: undefined },
      { m: 'GET', p: '/ari/recordings/stored/missing', q: {}, b: undefined },
      {
        m: 'PUT',
        p: '/ari/applications/callroute/eventFilter',
        q: {},
        b: { allowed: [{ type: 'StasisStart' }, { type: 'StasisEnd' }] },
      },
      { m: 'POST', p: '/ari/applications/callroute/subscription', q: { eventSource: 'channel:in-1' }, b: undefined },
      { m: 'GET', p: '/ari/asterisk/info', q: {}, b: undefined },
    ]);
    expect(new Set(fake.requests.map((r) => r.authorization))).toEqual(new Set([basic(USER, PASS)]));
  });

  it('maps non-2xx to AriHttpError and recognises a gone channel by status', async () => {
    const { fake, ari } = await setup();
    fake.route = (r) => {
      if (r.path === '/ari/channels/gone/answer') return { status: 404, body: { message: 'Channel not found' } };
      if (r.path === '/ari/bridges/br-1/addChannel') return { status: 422, body: { message: 'Channel not in Stasis application' } };
      if (r.path === '/ari/channels/left/dial') return { status: 409, body: { message: 'Channel not in Stasis application' } };
      if (r.path === '/ari/channels/create') return { status: 409, body: { message: 'Channel with given unique ID already exists' } };
      if (r.path === '/ari/recordings/live/rec-1/stop') return { status: 409, body: { message: 'Recording not in session' } };
      return { status: 500, body: { message: 'Allocation failed' } };
    };

    const notFound = await ari.channels.answer('gone').catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(AriHttpError);
    expect(notFound).toBeInstanceOf(CallrouteError);
    expect(notFound).toMatchObject({
      status: 404,
      method: 'POST',
      path: '/channels/gone/answer',
      ariMessage: 'Channel not found',
      code: 'CR_ERR_ARI_HTTP',
    });
    expect(isChannelGone(notFound)).toBe(true);
    expect(isNotFound(notFound)).toBe(true);

    const notInStasis = await ari.bridges.addChannel('br-1', ['x']).catch((e: unknown) => e);
    expect(notInStasis).toMatchObject({ status: 422 });
    expect(isChannelGone(notInStasis)).toBe(true);
    expect(isNotFound(notInStasis)).toBe(false);

    expect(isChannelGone(await ari.channels.dial('left').catch((e: unknown) => e))).toBe(true);
    // A 409 that means something else is not "gone".
    const duplicate = await ari.channels.create({ endpoint: 'PJSIP/x', app: 'callroute', channelId: 'dup' }).catch((e: unknown) => e);
    expect(duplicate).toMatchObject({ status: 409 });
    expect(isChannelGone(duplicate)).toBe(false);
    expect(isRecordingNotActive(await ari.recordings.stopLive('rec-1').catch((e: unknown) => e))).toBe(true);

    const serverError = await ari.bridges.destroy('br-2').catch((e: unknown) => e);
    expect(serverError).toMatchObject({ status: 500, ariMessage: 'Allocation failed' });
    expect(isChannelGone(serverError)).toBe(false);
    expect(isChannelGone(new Error('Channel not found'))).toBe(false);
  });

  it('ignoringGone drops a cleanup failure whose target is gone and reports any other, never rejecting', async () => {
    const reported: unknown[] = [];
    const report = (err: unknown): void => void reported.push(err);
    const gone = new AriHttpError({ method: 'DELETE', path: '/channels/c1', status: 404, ariMessage: 'Channel not found' });
    const notInStasis = new AriHttpError({ method: 'POST', path: '/bridges/b1/addChannel', status: 422, ariMessage: 'Channel not in Stasis' });
    const serverError = new AriHttpError({ method: 'DELETE', path: '/bridges/b1', status: 500, ariMessage: 'Allocation failed' });
    await ignoringGone(Promise.resolve(), report);
    await ignoringGone(Promise.reject(gone), report);
    await ignoringGone(Promise.reject(notInStasis), report);
    await expect(ignoringGone(Promise.reject(serverError), report)).resolves.toBeUndefined();
    await ignoringGone(Promise.reject(new Error('socket hang up')), report);
    expect(reported).toHaveLength(2);
    expect(reported[0]).toBe(serverError);
    expect((reported[1] as Error).message).toBe('socket hang up');
  });

  it('rejects with status 0 when Asterisk is unreachable or does not answer in time', async () => {
    const { fake, ari } = await setup({ requestTimeoutMs: 150 });
    fake.route = () => ({ status: 200, hang: true });
    const slow = await ari.asterisk.info().catch((e: unknown) => e);
    expect(slow).toMatchObject({ status: 0, timedOut: true, code: 'CR_ERR_ARI_UNREACHABLE' });

    const port = new URL(fake.url).port;
    await fake.stop();
    const { logger } = captureLogger();
    const down = createAriClient({ url: `http://127.0.0.1:${port}`, username: USER, password: PASS, app: 'callroute', logger });
    const err = await down.channels.list().catch((e: unknown) => e);
    await down.close();
    expect(err).toBeInstanceOf(AriHttpError);
    expect(err).toMatchObject({ status: 0, timedOut: false, code: 'CR_ERR_ARI_UNREACHABLE' });
  });

  it('queues requests on a bounded keep-alive pool instead of opening a connection per request', async () => {
    const { fake, ari } = await setup({ maxSockets: 3 });
    fake.route = () => ({ status: 200, body: [], delayMs: 20 });
    const results = await Promise.all(Array.from({ length: 30 }, () => ari.channels.list()));
    expect(results).toHaveLength(30);
    expect(fake.maxInFlight).toBe(3);
    expect(fake.maxTcpConnections).toBeLessThanOrEqual(3);
    expect(fake.tcpConnections.size).toBeGreaterThan(0); // kept alive for the next request
  });

  it('rejects requests after close()', async () => {
    const { ari } = await setup();
    await ari.close();
    await expect(ari.channels.list()).rejects.toMatchObject({ status: 0, code: 'CR_ERR_ARI_UNREACHABLE' });
    await expect(ari.connect()).rejects.toMatchObject({ code: 'CR_ERR_ARI_UNREACHABLE' });
    expect(ari.state).toBe('closed');
  });
});

describe('ARI events websocket', () => {
  it('connects with subscribeAll=false, applies the event filter, then announces connected', async () => {
    const { fake, ari } = await setup();
    const states: AriConnectionState[] = [];
    ari.onConnection((s) => {
      states.push(s);
      // The filter is in place before anyone hears "connected".
      expect(fake.filterPuts()).toHaveLength(1);
    });
    expect(ari.state).toBe('disconnected');
    await ari.connect();
    expect(ari.state).toBe('connected');
    expect(states).toEqual(['connected']);
    expect(fake.upgradeQueries[0]?.get('app')).toBe('callroute');
    expect(fake.upgradeQueries[0]?.get('subscribeAll')).toBe('false');
    const allowed = (fake.filterPuts()[0]?.body as { allowed: Array<{ type: string }> }).allowed.map((a) => a.type);
    expect(allowed).toEqual([...DEFAULT_ARI_EVENT_TYPES]);
    expect(allowed).not.toContain('ChannelVarset');
    await ari.connect(); // idempotent once connected
    expect(fake.upgrades).toBe(1);
  });

  it('rejects connect() with CR_ERR_ARI_AUTH on a wrong password, without crashing or retrying', async () => {
    const { fake } = await setup();
    const { logger, lines } = captureLogger();
    const ari = createAriClient({
      url: fake.url,
      username: USER,
      password: 'wrong',
      app: 'callroute',
      logger,
      backoff: { initialMs: 5, maxMs: 20 },
    });
    cleanups.push(() => ari.close());
    const err = await ari.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CallrouteError);
    expect(err).toMatchObject({ code: 'CR_ERR_ARI_AUTH', status: 401 });
    expect(ari.state).toBe('disconnected');
    expect(fake.upgrades).toBe(1);
    expect(lines.some((l) => l.msg === 'ari credentials refused')).toBe(true);
    expect(JSON.stringify(lines)).not.toContain('wrong');
    // The process is alive and the client still usable: REST reports the same refusal as an error.
    await expect(ari.asterisk.info()).rejects.toMatchObject({ status: 401, code: 'CR_ERR_ARI_AUTH' });
  });

  it('keeps reconnecting through a 401 once the credentials have worked', async () => {
    const { fake, ari, lines } = await setup();
    await ari.connect();
    fake.password = 'rotated';
    fake.dropSockets();
    await until(() => fake.upgrades >= 4, 'refused reconnects');
    expect(lines.some((l) => l.msg === 'ari credentials refused, retrying')).toBe(true);
    fake.password = PASS;
    await until(() => ari.state === 'connected', 'connected again');
  });

  it('keeps retrying a first connect that fails for other reasons and resolves once Asterisk is up', async () => {
    const { fake, ari } = await setup();
    fake.refuseUpgradesWith = 503;
    let resolved = false;
    const connecting = ari.connect().then(() => {
      resolved = true;
    });
    await until(() => fake.upgrades >= 3, 'three refused attempts');
    expect(resolved).toBe(false);
    fake.refuseUpgradesWith = undefined;
    await connecting;
    expect(ari.state).toBe('connected');
    expect(fake.filterPuts()).toHaveLength(1);
  });

  it('connect({ wait: false }) resolves at once and connects in the background', async () => {
    const { fake, ari } = await setup();
    fake.refuseUpgradesWith = 503;
    await ari.connect({ wait: false });
    expect(ari.state).toBe('connecting');
    fake.refuseUpgradesWith = undefined;
    await until(() => ari.state === 'connected', 'connected');
  });

  it('dispatches typed events to handlers, removes them by reference, and survives a throwing handler', async () => {
    const { fake, ari, lines } = await setup();
    await ari.connect();
    const base = ari.listenerCount();
    const starts: StasisStartEvent[] = [];
    const onStart = (e: StasisStartEvent): void => void starts.push(e);
    const boom = (): void => {
      throw new Error('handler bug');
    };
    const ends: string[] = [];
    const onEnd = (e: { channel: { id: string } }): void => void ends.push(e.channel.id);
    ari.on('StasisStart', boom);
    ari.on('StasisStart', onStart);
    ari.on('StasisEnd', onEnd);
    expect(ari.listenerCount()).toBe(base + 3);

    const start = { type: 'StasisStart', application: 'callroute', timestamp: 't', args: ['in'], channel: { id: 'in-1' } };
    fake.emit(start);
    fake.emit({ type: 'ChannelVarset', application: 'callroute', variable: 'X', value: '1' }); // no handler: ignored
    fake.send('not json');
    fake.emit({ type: 'StasisEnd', application: 'callroute', timestamp: 't', channel: { id: 'in-1' } });
    await until(() => ends.length === 1, 'StasisEnd');
    expect(starts).toEqual([start]);
    expect(lines.some((l) => l.msg === 'ari event handler failed' && l.eventType === 'StasisStart')).toBe(true);
    expect(ari.state).toBe('connected');

    ari.off('StasisStart', onStart);
    ari.off('StasisStart', boom);
    ari.off('StasisEnd', onEnd);
    expect(ari.listenerCount()).toBe(base);
    fake.emit(start);
    fake.emit({ type: 'StasisEnd', application: 'callroute', timestamp: 't', channel: { id: 'in-2' } });
    // Events arrive in order on one socket: once a later marker event is seen, the removed handlers have had
    // their chance to (wrongly) see the earlier ones.
    const done: string[] = [];
    const marker = (e: { channel: { id: string } }): void => void done.push(e.channel.id);
    ari.on('StasisEnd', marker);
    fake.emit({ type: 'StasisEnd', application: 'callroute', timestamp: 't', channel: { id: 'in-3' } });
    await until(() => done.includes('in-3'), 'marker');
    expect(starts).toHaveLength(1);
    expect(ends).toEqual(['in-1']);
    ari.off('StasisEnd', marker);
  });

  it('reconnects after the socket drops, re-applies the filter, and announces connected again', async () => {
    const { fake, ari } = await setup();
    const states: AriConnectionState[] = [];
    ari.onConnection((s) => states.push(s));
    await ari.connect();
    const seen: string[] = [];
    ari.on('StasisStart', (e) => seen.push(e.channel.id));

    fake.dropSockets();
    await until(() => states.length >= 3, 'disconnected then connected');
    expect(states).toEqual(['connected', 'disconnected', 'connected']);
    expect(fake.filterPuts()).toHaveLength(2);
    expect(ari.state).toBe('connected');

    // Asterisk "restarts" twice more: refused for a while, then back.
    fake.refuseUpgradesWith = 503;
    fake.dropSockets();
    await until(() => fake.upgrades >= 5, 'refused attempts');
    expect(ari.state).not.toBe('connected');
    fake.refuseUpgradesWith = undefined;
    await until(() => ari.state === 'connected', 'connected again');
    expect(states).toEqual(['connected', 'disconnected', 'connected', 'disconnected', 'connected']);
    expect(fake.filterPuts()).toHaveLength(3);

    fake.emit({ type: 'StasisStart', application: 'callroute', timestamp: 't', args: [], channel: { id: 'after' } });
    await until(() => seen.length === 1, 'event after reconnect');
    expect(seen).toEqual(['after']);
  });

  it('reconnects when the event filter cannot be applied yet', async () => {
    const { fake, ari } = await setup();
    let failFilter = 2;
    fake.route = (r) =>
      r.method === 'PUT' && r.path.endsWith('/eventFilter') && failFilter-- > 0 ? { status: 503 } : { status: 204 };
    await ari.connect();
    expect(fake.filterPuts()).toHaveLength(3);
    expect(fake.upgrades).toBe(3);
  });

  it('drops and replaces a connection whose peer stops answering pings', async () => {
    const { fake, ari, lines } = await setup({ pingIntervalMs: 20 }, { autoPong: false });
    const states: AriConnectionState[] = [];
    ari.onConnection((s) => states.push(s));
    await ari.connect();
    await until(() => states.length >= 3, 'dropped and reconnected');
    expect(states.slice(0, 3)).toEqual(['connected', 'disconnected', 'connected']);
    expect(lines.some((l) => l.msg === 'ari websocket missed a pong, dropping it')).toBe(true);
    expect(fake.filterPuts().length).toBeGreaterThanOrEqual(2);
  });

  it('close() stops reconnecting and announces closed', async () => {
    const { fake, ari } = await setup();
    const states: AriConnectionState[] = [];
    ari.onConnection((s) => states.push(s));
    await ari.connect();
    fake.refuseUpgradesWith = 503;
    fake.dropSockets();
    await until(() => fake.upgrades >= 3, 'reconnect attempts');
    await ari.close();
    expect(ari.state).toBe('closed');
    const attempts = fake.upgrades;
    // A negative assertion needs some time to pass: 20 times the longest backoff (20 ms).
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.upgrades).toBe(attempts);
    expect(states).toEqual(['connected', 'disconnected', 'closed']);
    expect(fake.sockets.size).toBe(0);
  });

  it('close() while connected closes the socket cleanly', async () => {
    const { fake, ari } = await setup();
    await ari.connect();
    await until(() => fake.sockets.size === 1, 'server socket');
    await ari.close();
    await until(() => fake.sockets.size === 0, 'server socket closed');
    expect(ari.state).toBe('closed');
  });

  it('close() before the first connect rejects the waiting connect()', async () => {
    const { fake, ari } = await setup();
    fake.refuseUpgradesWith = 503;
    const connecting = ari.connect();
    await until(() => fake.upgrades >= 1, 'an attempt');
    await ari.close();
    await expect(connecting).rejects.toMatchObject({ code: 'CR_ERR_ARI_UNREACHABLE' });
  });
});
