/**
 * The slice of ARI (Asterisk 22) that callroute uses, typed. The client in `createAriClient.ts`
 * implements `AriClient`; unit tests implement it with a stateful fake.
 */

export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriChannel {
  id: string;
  name: string;
  /** Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook, Pre-ring, Unknown */
  state: string;
  caller: AriCallerId;
  connected: AriCallerId;
  dialplan: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
  creationtime: string;
  language?: string;
  channelvars?: Record<string, string>;
}

export interface AriBridge {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  name: string;
  channels: string[];
  creationtime?: string;
}

export interface AriLiveRecording {
  name: string;
  format: string;
  state: string;
  target_uri?: string;
  duration?: number;
  cause?: string;
}

/** GET /endpoints: an endpoint and the channels on it (ids only: a cheap look at who is calling). */
export interface AriEndpoint {
  technology: string;
  resource: string;
  state?: string;
  channel_ids: string[];
}

export interface AriApplication {
  name: string;
  channel_ids: string[];
  bridge_ids: string[];
  endpoint_ids: string[];
  device_names: string[];
  events_allowed?: Array<{ type: string }>;
  events_disallowed?: Array<{ type: string }>;
}

interface AriEventBase {
  application: string;
  timestamp: string;
  asterisk_id?: string;
}

export interface StasisStartEvent extends AriEventBase {
  type: 'StasisStart';
  args: string[];
  channel: AriChannel;
  replace_channel?: AriChannel;
}
export interface StasisEndEvent extends AriEventBase {
  type: 'StasisEnd';
  channel: AriChannel;
}
export interface ChannelStateChangeEvent extends AriEventBase {
  type: 'ChannelStateChange';
  channel: AriChannel;
}
export interface ChannelDestroyedEvent extends AriEventBase {
  type: 'ChannelDestroyed';
  channel: AriChannel;
  /** Q.850 cause code. */
  cause: number;
  cause_txt: string;
}
export interface ChannelHangupRequestEvent extends AriEventBase {
  type: 'ChannelHangupRequest';
  channel: AriChannel;
  cause?: number;
  soft?: boolean;
}
export interface DialEvent extends AriEventBase {
  type: 'Dial';
  peer: AriChannel;
  caller?: AriChannel;
  forwarded?: AriChannel;
  forward?: string;
  /** Empty while in progress; ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, PROGRESS, RINGING ... */
  dialstatus: string;
  dialstring?: string;
}
export interface ChannelEnteredBridgeEvent extends AriEventBase {
  type: 'ChannelEnteredBridge';
  bridge: AriBridge;
  channel: AriChannel;
}
export interface ChannelLeftBridgeEvent extends AriEventBase {
  type: 'ChannelLeftBridge';
  bridge: AriBridge;
  channel: AriChannel;
}
export interface BridgeDestroyedEvent extends AriEventBase {
  type: 'BridgeDestroyed';
  bridge: AriBridge;
}
export interface RecordingEvent extends AriEventBase {
  type: 'RecordingStarted' | 'RecordingFinished' | 'RecordingFailed';
  recording: AriLiveRecording;
}

export interface AriPlayback {
  id: string;
  media_uri: string;
  /** `channel:<id>` or `bridge:<id>` */
  target_uri: string;
  state: string;
}
export interface PlaybackEvent extends AriEventBase {
  type: 'PlaybackStarted' | 'PlaybackFinished';
  playback: AriPlayback;
}

export interface ChannelDtmfReceivedEvent extends AriEventBase {
  type: 'ChannelDtmfReceived';
  channel: AriChannel;
  digit: string;
  duration_ms?: number;
}

export type AriEvent =
  | StasisStartEvent
  | StasisEndEvent
  | ChannelStateChangeEvent
  | ChannelDestroyedEvent
  | ChannelHangupRequestEvent
  | DialEvent
  | ChannelEnteredBridgeEvent
  | ChannelLeftBridgeEvent
  | BridgeDestroyedEvent
  | RecordingEvent
  | PlaybackEvent
  | ChannelDtmfReceivedEvent;

export type AriEventType = AriEvent['type'];
export type AriEventOf<T extends AriEventType> = Extract<AriEvent, { type: T }>;

/** ARI's hangup reasons (DELETE /channels/{id}?reason=...). */
export type HangupReason =
  | 'normal'
  | 'busy'
  | 'congestion'
  | 'no_answer'
  | 'timeout'
  | 'rejected'
  | 'unallocated'
  | 'normal_unspecified'
  | 'number_incomplete'
  | 'codec_mismatch'
  | 'interworking'
  | 'failure'
  | 'answered_elsewhere';

export type AriConnectionState = 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface AriConnectOptions {
  /** Default true: wait for the first connect. */
  wait?: boolean;
}

export interface AriClient {
  readonly app: string;

  /**
   * Opens the event websocket; resolves on the first successful connect, keeps reconnecting forever after.
   * Rejects with a `CallrouteError` `CR_ERR_ARI_AUTH` when Asterisk refuses the credentials (then it stops).
   * `{ wait: false }` resolves at once and keeps trying in the background (failures, auth included, are logged).
   */
  connect(options?: AriConnectOptions): Promise<void>;
  /** Closes the websocket for good (no reconnect) and the HTTP connection pool. */
  close(): Promise<void>;
  readonly state: AriConnectionState;

  /** Typed events of our application. Handlers are removed with `off` and the same reference. */
  on<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void): void;
  off<T extends AriEventType>(type: T, handler: (event: AriEventOf<T>) => void): void;
  /** Connection life cycle: 'connected' fires after every (re)connect once the event filter is applied. */
  onConnection(handler: (state: AriConnectionState) => void): () => void;
  /** Number of handlers currently registered (all event types); tests assert it returns to its base. */
  listenerCount(): number;

  channels: {
    list(): Promise<AriChannel[]>;
    get(id: string): Promise<AriChannel>;
    /** POST /channels/create: the channel enters Stasis at once (before dialing), so it can be bridged for early media. */
    create(params: {
      endpoint: string;
      app: string;
      appArgs?: string;
      channelId?: string;
      otherChannelId?: string;
      originator?: string;
      formats?: string;
      variables?: Record<string, string>;
    }): Promise<AriChannel>;
    /** POST /channels/{id}/dial: places the call of a channel made by `create`. */
    dial(id: string, params?: { caller?: string; timeout?: number }): Promise<void>;
    answer(id: string): Promise<void>;
    ring(id: string): Promise<void>;
    ringStop(id: string): Promise<void>;
    /** DELETE /channels/{id}; `reasonCode` is a Q.850 cause (chan_pjsip turns it into the SIP response). */
    hangup(id: string, params?: { reason?: HangupReason; reasonCode?: number }): Promise<void>;
    continueInDialplan(id: string, params?: { context?: string; extension?: string; priority?: number; label?: string }): Promise<void>;
    setVariable(id: string, variable: string, value: string): Promise<void>;
    /** GET /channels/{id}/variable: a channel variable or a function read on the channel (e.g. `CALLERID(dnid)`). */
    getVariable(id: string, variable: string): Promise<string>;
    /** POST /channels/{id}/progress: 183 with SDP, so media can be played before answer. */
    progress(id: string): Promise<void>;
    /** POST /channels/{id}/play/{playbackId}?media=... */
    play(id: string, params: { media: string; playbackId: string }): Promise<AriPlayback>;
    /** POST /channels/{id}/snoop: a channel that hears the spied channel's audio (`in`: what it sends, `out`: what it hears). */
    snoop(id: string, params: { spy: 'in' | 'out' | 'both'; app: string; appArgs?: string; snoopId: string }): Promise<AriChannel>;
    /** POST /channels/{id}/record */
    record(id: string, params: { name: string; format: string; ifExists?: 'fail' | 'overwrite' | 'append'; beep?: boolean; terminateOn?: string }): Promise<AriLiveRecording>;
  };
  bridges: {
    list(): Promise<AriBridge[]>;
    get(id: string): Promise<AriBridge>;
    create(params: { type?: string; bridgeId?: string; name?: string }): Promise<AriBridge>;
    addChannel(id: string, channelIds: string[], params?: { role?: string; inhibitConnectedLineUpdates?: boolean }): Promise<void>;
    removeChannel(id: string, channelIds: string[]): Promise<void>;
    destroy(id: string): Promise<void>;
    record(id: string, params: { name: string; format: string; ifExists?: 'fail' | 'overwrite' | 'append'; beep?: boolean; terminateOn?: string }): Promise<AriLiveRecording>;
  };
  recordings: {
    stopLive(name: string): Promise<void>;
    /** POST / DELETE /recordings/live/{name}/mute: the recording writes silence meanwhile; the call is untouched. */
    muteLive(name: string, muted: boolean): Promise<void>;
    getStored(name: string): Promise<{ name: string; format: string } | null>;
  };
  endpoints: {
    list(): Promise<AriEndpoint[]>;
  };
  applications: {
    get(name: string): Promise<AriApplication>;
    /** PUT /applications/{app}/eventFilter; `allowed` lists the event types we want. */
    setEventFilter(name: string, allowed: AriEventType[]): Promise<void>;
    subscribe(name: string, eventSource: string): Promise<void>;
  };
  asterisk: {
    info(): Promise<{ system?: { version?: string; entity_id?: string }; status?: { startup_time?: string; last_reload_time?: string } }>;
    /**
     * GET /asterisk/variable: a global variable. Not a dialplan function: Asterisk 22 answers "" for
     * DB(), DB_KEYS() and the like here without evaluating them (so AstDB can be written, not read).
     */
    getVariable(variable: string): Promise<string>;
    /** POST /asterisk/variable: sets a global variable, or writes a dialplan function (e.g. `DB(family/key)`). */
    setVariable(variable: string, value: string): Promise<void>;
  };
}
