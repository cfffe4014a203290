import type { AriBridge, AriChannel, AriClient, AriConnectionState, AriEvent, AriEventOf, AriEventType } from '../../../src/telephony/ari/types.js';
import { AriHttpError } from '../../../src/telephony/ari/AriHttpError.js';

type Handler = (event: AriEvent) => void;

/**
 * A stateful stand-in for Asterisk's ARI, for unit tests only: it keeps channels and bridges,
 * answers REST calls the way Asterisk does (404 for a channel that is gone) and emits events
 * asynchronously. Tests drive the far ends with `answer`, `busy`, `callerHangsUp`, ...
 */
export function createFakeAri(app = 'callroute') {
  const channels = new Map<string, AriChannel & { hangupCause?: number }>();
  const bridges = new Map<string, AriBridge>();
  const handlers = new Map<string, Set<Handler>>();
  const calls: Array<{ op: string; args: unknown[] }> = [];
  /** Live recordings by name → the channel recorded; stored ones once finished. */
  const live = new Map<string, string>();
  const stored = new Set<string>();
  let autoFinishPlayback = true;
  const pendingPlaybacks: Array<{ id: string; target: string }> = [];
  let counter = 0;
  const snoops = new Map<string, string>();
  /** AstDB as `family/key` → value. */
  const astdb = new Map<string, string>();
  /** Asterisk's global variables. */
  const globals = new Map<string, string>();
  let failNextSetVariable = 0;
  /** CALLERID(dnid) of channels the dialplan runs (addDialplanChannel). */
  const dialed = new Map<string, string>();

  const emit = (event: Record<string, unknown>): void => {
    const full = { application: app, timestamp: new Date().toISOString(), ...event } as AriEvent;
    setImmediate(() => {
      for (const h of [...(handlers.get(full.type) ?? [])]) h(full);
    });
  };
  const gone = (method: string, path: string): AriHttpError =>
    new AriHttpError({ status: 404, method, path, ariMessage: 'Channel not found' });
  const need = (id: string, op: string): AriChannel => {
    const c = channels.get(id);
    if (!c) throw gone('POST', `/channels/${id}/${op}`);
    return c;
  };
  const finishRecording = (name: string): void => {
    const target = live.get(name);
    if (target === undefined) return;
    live.delete(name);
    stored.add(name);
    emit({ type: 'RecordingFinished', recording: { name, format: 'wav', state: 'done', target_uri: `channel:${target}` } });
  };
  const destroy = (id: string, cause: number, softRequest?: number): void => {
    const c = channels.get(id);
    if (!c) return;
    channels.delete(id);
    for (const [name, target] of live) if (target === id) finishRecording(name);
    // A snoop dies with the channel it spies on.
    for (const [snoopId, spied] of snoops) if (spied === id) destroy(snoopId, cause);
    for (const b of bridges.values()) b.channels = b.channels.filter((x) => x !== id);
    // A soft hangup request carries the soft-hangup reason in `cause`, not a Q.850 cause (Asterisk 22).
    emit(softRequest === undefined ? { type: 'ChannelHangupRequest', channel: c, cause } : { type: 'ChannelHangupRequest', channel: c, cause: softRequest, soft: true });
    emit({ type: 'StasisEnd', channel: c });
    emit({ type: 'ChannelDestroyed', channel: c, cause, cause_txt: String(cause) });
  };
  const newChannel = (id: string, exten: string, callerNumber: string): AriChannel => ({
    id,
    name: `PJSIP/fake-${id}`,
    state: 'Ring',
    caller: { name: '', number: callerNumber },
    connected: { name: '', number: '' },
    dialplan: { context: 'from-carrier', exten, priority: 1, app_name: 'Stasis', app_data: `${app},inbound` },
    creationtime: new Date().toISOString(),
  });

  const client: AriClient = {
    app,
    state: 'connected' as AriConnectionState,
    async connect() {},
    async close() {},
    on<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void) {
      if (!handlers.has(type)) handlers.set(type, new Set());
      handlers.get(type)!.add(handler as Handler);
    },
    off<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void) {
      handlers.get(type)?.delete(handler as Handler);
    },
    onConnection() {
      return () => {};
    },
    listenerCount() {
      let n = 0;
      for (const s of handlers.values()) n += s.size;
      return n;
    },
    channels: {
      async list() {
        return [...channels.values()];
      },
      async get(id) {
        return need(id, 'get');
      },
      async create(p) {
        calls.push({ op: 'channels.create', args: [p] });
        const id = p.channelId ?? `fake-${++counter}`;
        const c = newChannel(id, p.endpoint, p.variables?.['CALLERID(num)'] ?? '');
        c.state = 'Down';
        c.dialplan = { context: '', exten: '', priority: 1 };
        channels.set(id, c);
        emit({ type: 'StasisStart', args: (p.appArgs ?? '').split(','), channel: c });
        return c;
      },
      async dial(id, p) {
        calls.push({ op: 'channels.dial', args: [id, p] });
        need(id, 'dial').state = 'Ringing';
      },
      async answer(id) {
        calls.push({ op: 'channels.answer', args: [id] });
        need(id, 'answer').state = 'Up';
      },
      async ring(id) {
        calls.push({ op: 'channels.ring', args: [id] });
        need(id, 'ring');
      },
      async ringStop(id) {
        need(id, 'ring');
      },
      async hangup(id, p) {
        calls.push({ op: 'channels.hangup', args: [id, p] });
        if (!channels.has(id)) throw gone('DELETE', `/channels/${id}`);
        destroy(id, p?.reasonCode ?? 16);
      },
      async continueInDialplan(id) {
        need(id, 'continue');
      },
      async setVariable(id) {
        need(id, 'variable');
      },
      async getVariable(id, variable) {
        calls.push({ op: 'channels.getVariable', args: [id, variable] });
        need(id, 'variable');
        return dialed.get(id) ?? '';
      },
      async progress(id) {
        calls.push({ op: 'channels.progress', args: [id] });
        need(id, 'progress');
      },
      async play(id, p) {
        calls.push({ op: 'channels.play', args: [id, p] });
        need(id, 'play');
        const playback = { id: p.playbackId, media_uri: p.media, target_uri: `channel:${id}`, state: 'playing' };
        emit({ type: 'PlaybackStarted', playback });
        if (autoFinishPlayback) emit({ type: 'PlaybackFinished', playback: { ...playback, state: 'done' } });
        else pendingPlaybacks.push({ id: p.playbackId, target: id });
        return playback;
      },
      async snoop(id, p) {
        calls.push({ op: 'channels.snoop', args: [id, p] });
        need(id, 'snoop');
        const c = newChannel(p.snoopId, '', '');
        c.state = 'Up';
        channels.set(p.snoopId, c);
        snoops.set(p.snoopId, id);
        emit({ type: 'StasisStart', args: (p.appArgs ?? '').split(','), channel: c });
        return c;
      },
      async record(id, p) {
        calls.push({ op: 'channels.record', args: [id, p] });
        need(id, 'record');
        live.set(p.name, id);
        const recording = { name: p.name, format: p.format, state: 'recording', target_uri: `channel:${id}` };
        emit({ type: 'RecordingStarted', recording });
        return recording;
      },
    },
    bridges: {
      async list() {
        return [...bridges.values()];
      },
      async get(id) {
        const b = bridges.get(id);
        if (!b) throw new AriHttpError({ status: 404, method: 'GET', path: `/bridges/${id}`, ariMessage: 'Bridge not found' });
        return b;
      },
      async create(p) {
        calls.push({ op: 'bridges.create', args: [p] });
        const id = p.bridgeId ?? `bridge-${++counter}`;
        const b: AriBridge = { id, technology: 'simple_bridge', bridge_type: 'mixing', bridge_class: 'stasis', name: p.name ?? '', channels: [] };
        bridges.set(id, b);
        return b;
      },
      async addChannel(id, ids) {
        calls.push({ op: 'bridges.addChannel', args: [id, ids] });
        const b = bridges.get(id);
        if (!b) throw new AriHttpError({ status: 404, method: 'POST', path: `/bridges/${id}/addChannel`, ariMessage: 'Bridge not found' });
        for (const c of ids) {
          need(c, 'addChannel');
          b.channels.push(c);
        }
      },
      async removeChannel() {},
      async destroy(id) {
        calls.push({ op: 'bridges.destroy', args: [id] });
        if (!bridges.delete(id)) throw new AriHttpError({ status: 404, method: 'DELETE', path: `/bridges/${id}`, ariMessage: 'Bridge not found' });
      },
      async record() {
        throw new Error('not used');
      },
    },
    recordings: {
      async stopLive(name) {
        calls.push({ op: 'recordings.stopLive', args: [name] });
        if (!live.has(name)) throw new AriHttpError({ status: 404, method: 'POST', path: `/recordings/live/${name}/stop`, ariMessage: 'Recording not found' });
        finishRecording(name);
      },
      async muteLive(name, muted) {
        calls.push({ op: 'recordings.muteLive', args: [name, muted] });
        if (!live.has(name)) throw new AriHttpError({ status: 404, method: muted ? 'POST' : 'DELETE', path: `/recordings/live/${name}/mute`, ariMessage: 'Recording not found' });
      },
      async getStored(name) {
        return stored.has(name) ? { name, format: 'wav' } : null;
      },
    },
    endpoints: {
      async list() {
        calls.push({ op: 'endpoints.list', args: [] });
        return [{ technology: 'PJSIP', resource: 'carrier', state: 'online', channel_ids: [...channels.keys()] }];
      },
    },
    applications: {
      async get(name) {
        return { name, channel_ids: [...channels.keys()], bridge_ids: [...bridges.keys()], endpoint_ids: [], device_names: [] };
      },
      async setEventFilter() {},
      async subscribe() {},
    },
    asterisk: {
      async info() {
        return {};
      },
      async getVariable(variable) {
        calls.push({ op: 'asterisk.getVariable', args: [variable] });
        // As Asterisk 22 does: GET /asterisk/variable reads variables only; a function (DB(), DB_KEYS())
        // is not evaluated and reads as "".
        return variable.includes('(') ? '' : (globals.get(variable) ?? '');
      },
      async setVariable(variable, value) {
        calls.push({ op: 'asterisk.setVariable', args: [variable, value] });
        if (failNextSetVariable > 0) {
          failNextSetVariable -= 1;
          throw new AriHttpError({ status: 500, method: 'POST', path: '/asterisk/variable', ariMessage: 'injected failure' });
        }
        const key = /^DB\((.+)\)$/.exec(variable)?.[1];
        if (key === undefined) globals.set(variable, value);
        else astdb.set(key, value);
      },
    },
  };

  return {
    client,
    channels,
    bridges,
    calls,
    /** A carrier call arrives at the Stasis app. */
    placeInbound(exten: string, callerNumber = '+15559876543', id = `in-${++counter}`): string {
      const c = newChannel(id, exten, callerNumber);
      channels.set(id, c);
      emit({ type: 'StasisStart', args: ['inbound'], channel: c });
      return id;
    },
    /** The destination answers. */
    answer(id: string): void {
      const c = channels.get(id);
      if (!c) return;
      c.state = 'Up';
      emit({ type: 'Dial', peer: c, dialstatus: 'ANSWER' });
      emit({ type: 'ChannelStateChange', channel: c });
    },
    /** A far end ends its leg with a cause (17 busy, 19 no answer, 16 normal hangup). */
    farEndHangsUp(id: string, cause = 16, dialstatus?: string): void {
      const c = channels.get(id);
      if (!c) return;
      if (dialstatus) emit({ type: 'Dial', peer: c, dialstatus });
      destroy(id, cause);
    },
    /**
     * A party vanished and Asterisk's RTP timeout hangs its channel up, as measured: a soft hangup
     * request with reason 1 (the channel driver's), then ChannelDestroyed with cause 44.
     */
    mediaTimesOut(id: string): void {
      destroy(id, 44, 1);
    },
    /** A carrier call the dialplan is running (handed off): no Stasis. */
    addDialplanChannel(id: string, exten = '+15551230000', callerNumber = '+15559876543'): void {
      dialed.set(id, exten);
      channels.set(id, { ...newChannel(id, exten, callerNumber), state: 'Up', dialplan: { context: 'callroute-direct', exten: 'cr~30~r~+15550001111~', priority: 6, app_name: 'Dial', app_data: 'PJSIP/+15550001111@destinations,30' } });
    },
    outboundIds(): string[] {
      return [...channels.keys()].filter((id) => id.startsWith('cr-') && !id.startsWith('cr-snoop-'));
    },
    live,
    stored,
    astdb,
    globals,
    /** The next `n` POST /asterisk/variable requests fail with a 500. */
    failSetVariable(n = 1): void {
      failNextSetVariable = n;
    },
    /** The party on a channel presses a key (RFC 4733 digit). */
    pressDigit(channelId: string, digit: string): void {
      const c = channels.get(channelId);
      if (c) emit({ type: 'ChannelDtmfReceived', channel: c, digit });
    },
    /** Keep playbacks running until `finishPlaybacks()`. */
    holdPlaybacks(): void {
      autoFinishPlayback = false;
    },
    finishPlaybacks(): void {
      for (const p of pendingPlaybacks.splice(0)) {
        emit({ type: 'PlaybackFinished', playback: { id: p.id, media_uri: '', target_uri: `channel:${p.target}`, state: 'done' } });
      }
    },
    ops(op: string) {
      return calls.filter((c) => c.op === op);
    },
  };
}

export type FakeAri = ReturnType<typeof createFakeAri>;
