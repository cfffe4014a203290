import type { Logger } from 'pino';
import type { CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallDisposition, CallRow } from '../../persistence/schema.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { isChannelGone, isNotFound } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient, AriEvent } from '../ari/types.js';
import { CallRecorder, type RecordingLayout, type RecordingStorePort } from './CallRecorder.js';
import { CAUSE, callOutcome, type CallFacts } from './callOutcome.js';
import { isOver, nextState, type CallState } from './callStates.js';

export interface CallSessionDeps {
  ari: AriClient;
  records: Pick<CallRecordRepository, 'insertArrival' | 'markAnswered' | 'finish'>;
  /** One indexed lookup: the hot path of call setup. */
  findNumber: (did: string) => RoutableNumber | null | undefined;
  policy: RoutePolicy & { defaultCountryCode: string };
  clock: () => number;
  logger: Logger;
  newId: () => string;
  /** Routes events of a channel id to this session (the registry's map). */
  track: (channelId: string, session: CallSession) => void;
  /** Called once when the session has ended and cleaned up. */
  onEnded: (session: CallSession) => void;
  recordingStore: RecordingStorePort & {
    /** The recording of a call still marked as recording (a router restart mid-call). */
    activeForCall(callId: number): { id: number; channels: RecordingLayout } | undefined;
  };
  /** A finished recording is ready for the media pipeline. */
  onRecordingStopped: (recordingId: number) => void;
}

/** App args of legs we originate: `dialed,<inbound channel id>`; never guessed from channel names. */
export const DIALED_LEG_ARG = 'dialed';
/** How long to wait for the hangup event of a leg that a request found gone. */
const CHANNEL_GONE_GRACE_MS = 2_000;
/** Prefix of channel and bridge ids we create, so reconciliation can tell ours from others. */
export const OWN_ID_PREFIX = 'cr-';

/**
 * One inbound call: routes it, dials the destination while the caller hears ringing, bridges
 * them (early media flows through the bridge before answer), answers the caller when the
 * destination answers, and releases everything exactly once.
 */
export class CallSession {
  state: CallState = 'received';
  readonly inboundId: string;
  outboundId: string | null = null;
  bridgeId: string | null = null;
  recordId: number | null = null;
  log: Logger;

  private readonly deps: CallSessionDeps;
  private inboundGone = false;
  private outboundGone = false;
  private outboundInStasis = false;
  private bridgeReady = false;
  private dialStarted = false;
  private dialStartedAt = 0;
  private answeredAt: number | null = null;
  private ringTimeoutSeconds = 30;
  private ringTimer: NodeJS.Timeout | undefined;
  private releasing: Promise<void> | undefined;
  /** Setup requests in flight; release waits for them so nothing they create is left behind. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly facts: Omit<CallFacts, 'answered' | 'endedBy'> & { endedBy: CallFacts['endedBy'] | null } = {
    endedBy: null,
    dialStatus: null,
    destinationCause: null,
    ringTimedOut: false,
  };
  private rejection: { sipCode: number; cause: number } | null = null;
  private accountId: number | null = null;
  private recordingLayout: RecordingLayout | null = null;
  private recorder: CallRecorder | null = null;
  /** The announcement is playing to the caller; the caller joins the bridge when it ends. */
  private announcementPlaying = false;
  private playbackId: string | null = null;
  private inboundBridged = false;
  private destinationAnswered = false;
  private callerConnected = false;
  /** Q.850 cause of the caller's leg when the caller ended it. */
  private callerCause: number | undefined;

  constructor(inbound: Pick<AriChannel, 'id'>, deps: CallSessionDeps) {
    this.inboundId = inbound.id;
    this.deps = deps;
    this.log = deps.logger.child({ channel: inbound.id });
    deps.track(inbound.id, this);
  }

  /** Takes over a call that was bridged before the router restarted, from its unfinished record. */
  static resume(row: CallRow, deps: CallSessionDeps): CallSession {
    const s = new CallSession({ id: row.inboundChannelId }, deps);
    s.log = deps.logger.child({ callId: row.id, did: row.did, caller: row.callerNumber, account: row.accountId });
    s.recordId = row.id;
    s.outboundId = row.outboundChannelId;
    s.bridgeId = row.bridgeId;
    s.bridgeReady = true;
    s.outboundInStasis = true;
    s.dialStarted = true;
    s.answeredAt = row.answeredAt;
    s.accountId = row.accountId;
    s.state = 'bridged';
    s.destinationAnswered = true;
    s.callerConnected = true;
    s.inboundBridged = true;
    if (row.outboundChannelId) deps.track(row.outboundChannelId, s);
    const active = deps.recordingStore.activeForCall(row.id);
    if (active) {
      s.recordingLayout = active.channels;
      s.recorder = CallRecorder.resume(s.recorderDeps(), row.id, active.channels, active.id);
    }
    return s;
  }

  get isOver(): boolean {
    return isOver(this.state);
  }

  /** Handles the inbound channel's StasisStart. Never throws: failures release the call. */
  async start(channel: AriChannel): Promise<void> {
    const { deps } = this;
    const arrivedAt = deps.clock();
    const did = normalizeNumber(channel.dialplan.exten, deps.policy.defaultCountryCode);
    const rawCaller = channel.caller.number;
    const caller = rawCaller ? (normalizeNumber(rawCaller, deps.policy.defaultCountryCode) ?? rawCaller) : null;
    const number = did ? deps.findNumber(did) : undefined;
    const decision = resolveRoute({ did, number, callerNumber: caller ?? '' }, deps.policy);
    this.state = nextState(this.state, 'routing');

    if (decision.kind === 'dial') {
      this.outboundId = `${OWN_ID_PREFIX}${deps.newId()}`;
      this.bridgeId = `${OWN_ID_PREFIX}${deps.newId()}`;
      this.ringTimeoutSeconds = decision.ringTimeoutSeconds;
      this.recordingLayout = decision.recording?.channels ?? null;
      deps.track(this.outboundId, this);
    }
    this.accountId = number?.accountId ?? null;
    this.recordId = deps.records.insertArrival({
      accountId: number?.accountId ?? null,
      trackingNumberId: number?.id ?? null,
      did: did ?? channel.dialplan.exten,
      callerNumber: caller,
      callerName: channel.caller.name || null,
      source: number?.source ?? null,
      medium: number?.medium ?? null,
      campaign: number?.campaign ?? null,
      destination: decision.kind === 'dial' ? decision.destination : null,
      arrivedAt,
      inboundChannelId: this.inboundId,
      outboundChannelId: this.outboundId,
      bridgeId: this.bridgeId,
    });
    this.log = deps.logger.child({ callId: this.recordId, did: did ?? channel.dialplan.exten, caller, account: number?.accountId ?? null });

    if (decision.kind === 'reject') {
      this.log.info({ reason: decision.reason, sipCode: decision.sipCode }, 'call rejected');
      this.rejection = { sipCode: decision.sipCode, cause: decision.cause };
      this.state = nextState(this.state, 'rejected');
      await this.release();
      return;
    }

    this.log.info({ destination: decision.destination, endpoint: decision.endpoint }, 'dialing destination');
    this.state = nextState(this.state, 'dialing');
    const outboundId = this.outboundId as string;
    const bridgeId = this.bridgeId as string;
    const { ari } = deps;
    if (decision.announcementMedia) {
      this.announcementPlaying = true;
      this.playbackId = `cr-play-${this.recordId}`;
    }
    try {
      await this.track(
        // No ring() of our own: the destination's 180 (or 183 and its early media) reaches the
        // caller through the bridge, as with Dial(); ringing twice confuses some carriers.
        Promise.all([
          decision.announcementMedia ? this.playAnnouncement(decision.announcementMedia) : undefined,
          ari.bridges.create({ type: 'mixing', bridgeId, name: `callroute-${this.recordId}` }),
          ari.channels.create({
            endpoint: decision.endpoint,
            app: ari.app,
            appArgs: `${DIALED_LEG_ARG},${this.inboundId}`,
            channelId: outboundId,
            originator: this.inboundId,
            // chan_pjsip builds an outgoing INVITE's From from the channel's connected line (for a
            // dialed leg, the party it connects to: our caller), so set both to the caller.
            variables: decision.callerIdNumber
              ? { 'CONNECTEDLINE(num)': decision.callerIdNumber, 'CALLERID(num)': decision.callerIdNumber }
              : {},
          }),
        ]),
      );
    } catch (err) {
      return this.failSetup(err, 'setup request failed');
    }
    if (this.isOver) return;
    this.bridgeReady = true;
    await this.maybeDial();
  }

  /**
   * The recording announcement, heard by the caller only: played as early media (183) while the
   * destination is already being dialed; the caller joins the bridge when it ends. A failure to
   * play it is logged and the call goes on without it.
   */
  private async playAnnouncement(media: string): Promise<void> {
    const { ari } = this.deps;
    try {
      await ari.channels.progress(this.inboundId);
      await ari.channels.play(this.inboundId, { media, playbackId: this.playbackId as string });
    } catch (err) {
      if (isChannelGone(err)) throw err;
      this.log.warn({ err, media }, 'announcement could not be played');
      void this.onAnnouncementDone();
    }
  }

  private async onAnnouncementDone(): Promise<void> {
    if (!this.announcementPlaying) return;
    this.announcementPlaying = false;
    if (this.isOver || !this.dialStarted || this.inboundBridged) return;
    this.inboundBridged = true;
    try {
      await this.track(this.deps.ari.bridges.addChannel(this.bridgeId as string, [this.inboundId]));
    } catch (err) {
      return this.failSetup(err, 'bridging the caller failed');
    }
    if (this.destinationAnswered) await this.connectCaller();
  }

  /** Routes a snoop channel's StasisStart to the recorder waiting for it. */
  onSnoopStasisStart(channelId: string): void {
    this.recorder?.onSnoopStasisStart(channelId);
  }

  /** The destination leg entered Stasis: it may now be bridged and dialed. */
  async onOutboundStasisStart(): Promise<void> {
    this.outboundInStasis = true;
    await this.maybeDial();
  }

  private async maybeDial(): Promise<void> {
    if (!this.bridgeReady || !this.outboundInStasis || this.dialStarted || this.isOver) return;
    this.dialStarted = true;
    this.dialStartedAt = this.deps.clock();
    const { ari } = this.deps;
    // Backstop for the dial timeout Asterisk enforces itself.
    this.ringTimer = setTimeout(() => this.onRingTimeout(), (this.ringTimeoutSeconds + 2) * 1000);
    // During the announcement only the destination joins; the caller follows when it ends.
    this.inboundBridged = !this.announcementPlaying;
    const joining = this.inboundBridged ? [this.inboundId, this.outboundId as string] : [this.outboundId as string];
    try {
      await this.track(
        Promise.all([
          ari.bridges.addChannel(this.bridgeId as string, joining),
          ari.channels.dial(this.outboundId as string, { timeout: this.ringTimeoutSeconds }),
        ]),
      );
    } catch (err) {
      return this.failSetup(err, 'dial request failed');
    }
  }

  private onRingTimeout(): void {
    if (this.state !== 'dialing') return;
    this.facts.ringTimedOut = true;
    this.facts.endedBy = 'router';
    this.log.info({ ringTimeoutSeconds: this.ringTimeoutSeconds }, 'ring timeout');
    void this.release();
  }

  private async failSetup(err: unknown, msg: string): Promise<void> {
    if (this.isOver) return;
    if (isChannelGone(err)) {
      // A leg hung up under us; its hangup event is on its way and says who ended the call.
      // The timer only covers an event that never comes.
      this.log.debug({ err }, `${msg}: channel gone`);
      setTimeout(() => void this.release(), CHANNEL_GONE_GRACE_MS).unref();
      return;
    }
    this.log.error({ err }, msg);
    this.facts.endedBy ??= 'router';
    await this.release();
  }

  /** Routes one ARI event about one of this call's channels. */
  handle(event: AriEvent): void {
    switch (event.type) {
      case 'ChannelStateChange':
        if (event.channel.id === this.outboundId && event.channel.state === 'Up') void this.onDestinationAnswered();
        return;
      case 'PlaybackFinished':
        if (event.playback.id === this.playbackId) void this.onAnnouncementDone();
        return;
      case 'RecordingStarted':
      case 'RecordingFinished':
      case 'RecordingFailed':
        this.recorder?.handle(event);
        return;
      case 'Dial':
        if (event.peer.id === this.outboundId && event.dialstatus && !['RINGING', 'PROGRESS', 'ANSWER'].includes(event.dialstatus)) {
          this.facts.dialStatus = event.dialstatus;
        }
        return;
      case 'ChannelHangupRequest':
      case 'ChannelDestroyed':
      case 'StasisEnd': {
        const channelId = event.channel.id;
        if (channelId === this.inboundId) {
          if (event.type === 'ChannelDestroyed') {
            this.inboundGone = true;
            this.callerCause ??= event.cause;
          } else if (event.type === 'ChannelHangupRequest' && event.cause !== undefined) {
            this.callerCause ??= event.cause;
          }
          this.facts.endedBy ??= 'caller';
        } else if (channelId === this.outboundId) {
          // Asterisk's own dial timeout ends the leg without a NOANSWER we can rely on.
          if (this.state === 'dialing' && this.dialStarted && this.deps.clock() - this.dialStartedAt >= this.ringTimeoutSeconds * 1000 - 250) {
            this.facts.ringTimedOut = true;
          }
          if (event.type === 'ChannelDestroyed') {
            this.outboundGone = true;
            this.facts.destinationCause ??= event.cause;
          } else if (event.type === 'ChannelHangupRequest' && event.cause !== undefined) {
            this.facts.destinationCause ??= event.cause;
          }
          this.facts.endedBy ??= 'destination';
        } else return;
        if (event.type === 'StasisEnd' && channelId === this.inboundId) this.inboundGone = true;
        if (event.type === 'StasisEnd' && channelId === this.outboundId) this.outboundGone = true;
        void this.release();
        return;
      }
      default:
        return;
    }
  }

  /** After a reconnect: legs that vanished while no events flowed count as hung up. */
  noticeMissingChannels(alive: ReadonlySet<string>): void {
    if (this.isOver) return;
    let missing = false;
    if (!alive.has(this.inboundId)) {
      this.inboundGone = true;
      this.facts.endedBy ??= 'caller';
      missing = true;
    }
    if (this.outboundId && this.outboundInStasis && !alive.has(this.outboundId)) {
      this.outboundGone = true;
      this.facts.endedBy ??= 'destination';
      missing = true;
    }
    if (missing) void this.release();
  }

  private async onDestinationAnswered(): Promise<void> {
    if (this.state !== 'dialing') return;
    clearTimeout(this.ringTimer);
    this.destinationAnswered = true;
    this.state = nextState(this.state, 'bridged');
    this.log.info({ announcementPlaying: this.announcementPlaying }, 'destination answered');
    if (!this.announcementPlaying) await this.connectCaller();
  }

  /** Answers the caller (already in the bridge with the destination) and starts recording. */
  private async connectCaller(): Promise<void> {
    if (this.callerConnected || this.isOver) return;
    this.callerConnected = true;
    this.answeredAt = this.deps.clock();
    if (this.recordId !== null) this.deps.records.markAnswered(this.recordId, this.answeredAt);
    try {
      await this.track(this.deps.ari.channels.answer(this.inboundId));
    } catch (err) {
      return this.failSetup(err, 'answering the caller failed');
    }
    if (this.isOver || this.recordingLayout === null || this.recordId === null) return;
    this.recorder = new CallRecorder(this.recorderDeps(), this.recordId, this.recordingLayout);
    try {
      // Not tracked as in-flight: release() stops the recorder itself, which unblocks start().
      await this.recorder.start({ caller: this.inboundId, answered: this.outboundId as string, accountId: this.accountId }, () => this.isOver);
    } catch (err) {
      if (this.isOver || isChannelGone(err)) return;
      // The call goes on unrecorded; stop() marks the recording missing with the reason.
      this.log.error({ err }, 'starting the recording failed');
    }
  }

  private recorderDeps() {
    return {
      ari: this.deps.ari,
      store: this.deps.recordingStore,
      logger: this.log,
      clock: this.deps.clock,
      track: (channelId: string) => this.deps.track(channelId, this),
      onStopped: this.deps.onRecordingStopped,
    };
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = (): void => {
      this.inflight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  /**
   * The one way a call ends: hang up legs still up, destroy the bridge, finish the record,
   * deregister. Idempotent: every caller gets the same promise.
   */
  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  private async doRelease(): Promise<void> {
    clearTimeout(this.ringTimer);
    const wasRejected = this.state === 'rejected';
    this.state = nextState(this.state, 'ending');
    const endedAt = this.deps.clock();
    const { ari } = this.deps;
    // Requests in flight may still create the outbound leg or the bridge; wait so we clean those too.
    await Promise.allSettled([...this.inflight]);

    const answered = this.answeredAt !== null;
    const outcome = this.rejection
      ? null
      : callOutcome({ ...this.facts, endedBy: this.facts.endedBy ?? 'system', answered });
    const callerCause = this.rejection?.cause ?? (answered ? CAUSE.normalClearing : (outcome?.callerCause ?? CAUSE.noCircuit));

    // Recording first: stopped and finished on disk before any leg or the bridge goes.
    if (this.recorder) await this.recorder.stop();

    const hangups: Array<Promise<void>> = [];
    if (this.outboundId && !this.outboundGone) hangups.push(this.quietly(ari.channels.hangup(this.outboundId, { reason: 'normal' }), 'hangup destination'));
    if (!this.inboundGone) hangups.push(this.quietly(ari.channels.hangup(this.inboundId, { reasonCode: callerCause }), 'hangup caller'));
    await Promise.all(hangups);
    if (this.bridgeId) await this.quietly(ari.bridges.destroy(this.bridgeId), 'destroy bridge');

    if (this.recordId !== null) {
      const disposition: CallDisposition = wasRejected || this.rejection ? 'rejected' : (outcome?.disposition ?? 'failed');
      this.deps.records.finish(this.recordId, {
        disposition,
        sipCode: this.rejection?.sipCode ?? outcome?.sipCode ?? null,
        // The cause of the leg that ended the call.
        hangupCause:
          (this.facts.endedBy === 'caller' ? this.callerCause : this.facts.destinationCause) ??
          (answered ? CAUSE.normalClearing : callerCause),
        endedBy: this.rejection ? 'router' : (this.facts.endedBy ?? 'system'),
        answeredAt: this.answeredAt,
        endedAt,
      });
    }
    this.state = 'ended';
    this.log.info({ disposition: this.rejection ? 'rejected' : outcome?.disposition, endedBy: this.facts.endedBy }, 'call ended');
    this.deps.onEnded(this);
  }

  /** Cleanup requests: a channel or bridge that is already gone is the goal, not an error. */
  private async quietly(p: Promise<void>, what: string): Promise<void> {
    try {
      await p;
    } catch (err) {
      if (isChannelGone(err) || isNotFound(err)) return;
      this.log.warn({ err }, `${what} failed`);
    }
  }
}
