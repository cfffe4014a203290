import type { Logger } from 'pino';
import { SIP_CODE_TO_CAUSE } from '../../config/loadConfig.js';
import type { CallArrival, CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallDisposition, CallRow } from '../../persistence/schema.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { isChannelGone, isNotFound } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient, AriEvent } from '../ari/types.js';
import { endEventCause } from '../ari/endEventCause.js';
import { CallRecorder, type RecordingLayout, type RecordingStorePort } from './CallRecorder.js';
import { CAUSE, callOutcome, recordEndedBy, type CallFacts } from './callOutcome.js';
import { isOver, nextState, type CallState } from './callStates.js';
import { arrivalRecord, attributionOf, identifyCall } from './identifyCall.js';
import type { CallerPrivacyLookup } from '../../privacy/callerPrivacy.js';
import { OutboundLeg } from './OutboundLeg.js';
import { attemptResult, singleDestinationProgram, type AttemptRecord, type ProgramAction, type RouteProgram } from './routeProgram.js';

export interface CallSessionDeps {
  ari: AriClient;
  records: Pick<CallRecordRepository, 'insertArrival' | 'routed' | 'markAnswered' | 'finish'>;
  /** One indexed lookup: the hot path of call setup. */
  findNumber: (did: string) => RoutableNumber | null | undefined;
  /** The do-not-record list and restricted callers, in memory. */
  callerPrivacy?: CallerPrivacyLookup;
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
  /**
   * The route for a number with a route plan (schedules, strategies, whisper, screening,
   * voicemail); numbers without one ring their single destination.
   */
  programFor?: (number: RoutableNumber, call: { callerNumber: string | null; did: string }) => RouteProgram | null;
  /** Per-number concurrent-call cap: false refuses the call as busy. */
  admit?: (number: RoutableNumber) => boolean;
  /**
   * Attribution at call setup (indexed lookups only): the web visit holding a pool number and
   * whether the caller called the account before.
   */
  attribute?: (number: RoutableNumber, callerNumber: string | null, now: number) => Partial<CallArrival>;
  /** Prompt media and how long screening waits for a digit. */
  screening?: { promptMedia: string; timeoutMs: number };
}

/** App args of legs we originate: `dialed,<inbound channel id>`; never guessed from channel names. */
export const DIALED_LEG_ARG = 'dialed';
/** How long to wait for the hangup event of a leg that a request found gone. */
const CHANNEL_GONE_GRACE_MS = 2_000;
/**
 * How long the end waits for the ChannelDestroyed of the leg that ended the call: its cause says
 * why (44: a media timeout), and a soft hangup request before it carries none. Milliseconds after
 * the hang-up in practice; the bound only covers an event that never comes.
 */
const ENDING_CAUSE_WAIT_MS = 1_000;
/** Prefix of channel and bridge ids we create, so reconciliation can tell ours from others. */
export const OWN_ID_PREFIX = 'cr-';
const DEFAULT_SCREENING = { promptMedia: 'sound:/var/lib/asterisk/sounds/callroute/screening-prompt', timeoutMs: 10_000 };

/**
 * One inbound call: routes it, rings destinations while the caller hears ringing (a single
 * destination is bridged before answer so its early media reaches the caller), answers the
 * caller when a destination takes the call, and releases everything exactly once.
 */
export class CallSession {
  state: CallState = 'received';
  readonly inboundId: string;
  bridgeId: string | null = null;
  recordId: number | null = null;
  /** The tracking number called, for per-number caps. */
  trackingNumberId: number | null = null;
  log: Logger;

  private readonly deps: CallSessionDeps;
  private inboundGone = false;
  private answeredAt: number | null = null;
  /** The answer happened while the router was down: answeredAt is when a restart found the call up. */
  private answerFoundLate = false;
  private releasing: Promise<void> | undefined;
  /** Setup requests in flight; release waits for them so nothing they create is left behind. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly facts: Omit<CallFacts, 'answered' | 'endedBy'> & { endedBy: CallFacts['endedBy'] | null } = {
    endedBy: null,
    dialStatus: null,
    destinationCause: null,
    ringTimedOut: false,
  };
  private rejection: { sipCode: number; cause: number; disposition: CallDisposition } | null = null;
  private finalSipCode: number | null = null;
  private accountId: number | null = null;
  private recordingLayout: RecordingLayout | null = null;
  private recorder: CallRecorder | null = null;
  /** Legs ringing or connected, by channel id. */
  private readonly legs = new Map<string, OutboundLeg>();
  /** The leg that took the call. */
  private winner: OutboundLeg | null = null;
  private readonly history: AttemptRecord[] = [];
  private currentStep: string | null = null;
  /** The announcement is playing to the caller; the caller joins the bridge when it ends. */
  private announcementPlaying = false;
  private announcementDone: Promise<void> = Promise.resolve();
  /** The call's bridge exists; created in parallel with the first destination leg. */
  private bridgeCreated: Promise<unknown> = Promise.resolve();
  private endAnnouncement: () => void = () => {};
  private playbackId: string | null = null;
  /** Playbacks on destination legs (whisper, screening prompt), by playback id. */
  private readonly playbackWaiters = new Map<string, () => void>();
  private readonly dtmfWaiters = new Map<string, (digit: string) => void>();
  private inboundBridged = false;
  private callerConnected = false;
  private voicemailName: string | null = null;
  private voicemailRecordingId: number | null = null;
  private voicemailFinished: () => void = () => {};
  /** Q.850 cause of the caller's leg when the caller ended it. */
  private callerCause: number | undefined;
  /** Channels of this call whose ChannelDestroyed came, and release() waiting for one. */
  private readonly destroyedChannels = new Set<string>();
  private destroyedWaiter: { channelId: string; wake: () => void } | null = null;

  constructor(inbound: Pick<AriChannel, 'id'>, deps: CallSessionDeps) {
    this.inboundId = inbound.id;
    this.deps = deps;
    this.log = deps.logger.child({ channel: inbound.id });
    deps.track(inbound.id, this);
  }

  /**
   * Takes over a call that was bridged before the router restarted, from its unfinished record.
   * `answeredUnseen`: Asterisk answered the caller (the destination's answer passed through the
   * early-media bridge) but the router died before it wrote the answer: `row.answeredAt` is when we
   * found out, the record is flagged `reconciled`, and the recording the number asks for starts now.
   */
  static resume(row: CallRow, deps: CallSessionDeps, answeredUnseen?: { recording: RecordingLayout | null }): CallSession {
    const s = new CallSession({ id: row.inboundChannelId }, deps);
    s.log = deps.logger.child({ callId: row.id, did: row.did, account: row.accountId });
    s.recordId = row.id;
    s.bridgeId = row.bridgeId;
    s.answeredAt = row.answeredAt;
    s.accountId = row.accountId;
    s.state = 'bridged';
    s.callerConnected = true;
    s.inboundBridged = true;
    if (row.outboundChannelId) {
      const leg = new OutboundLeg(s.legDeps(), row.outboundChannelId, row.destination ?? '', '', 0);
      leg.answered = true;
      leg.inBridge = true;
      s.legs.set(leg.id, leg);
      s.winner = leg;
      deps.track(leg.id, s);
    }
    const active = deps.recordingStore.activeForCall(row.id);
    if (active) {
      s.recordingLayout = active.channels;
      s.recorder = CallRecorder.resume(s.recorderDeps(), row.id, active.channels, active.id);
    }
    if (answeredUnseen) {
      s.answerFoundLate = true;
      s.recordingLayout = answeredUnseen.recording;
      if (s.winner && s.recordingLayout && !active) void s.startRecording(s.winner, row.id, s.recordingLayout);
    }
    return s;
  }

  get isOver(): boolean {
    return isOver(this.state);
  }

  /** Channel id of the leg that took the call (or the last one dialed). */
  get outboundId(): string | null {
    return this.winner?.id ?? [...this.legs.keys()].at(-1) ?? null;
  }

  /** Handles the inbound channel's StasisStart. Never throws: failures release the call. */
  async start(channel: AriChannel): Promise<void> {
    const { deps } = this;
    const arrivedAt = deps.clock();
    const who = identifyCall(channel, deps.policy.defaultCountryCode, deps.findNumber, deps.callerPrivacy);
    const { did, caller, number } = who;
    const decision = resolveRoute({ did, number, callerNumber: caller ?? '', privacy: who.privacy }, deps.policy);
    this.state = nextState(this.state, 'routing');
    let program: RouteProgram | null = null;
    if (decision.kind === 'dial' && number) {
      program =
        deps.programFor?.(number, { callerNumber: caller, did: number.did }) ??
        singleDestinationProgram({ target: decision.destination, endpoint: decision.endpoint, ringTimeoutSeconds: decision.ringTimeoutSeconds }, decision.callerIdNumber || null);
      this.bridgeId = `${OWN_ID_PREFIX}${deps.newId()}`;
      this.recordingLayout = decision.recording?.channels ?? null;
    }
    this.accountId = number?.accountId ?? null;
    this.trackingNumberId = number?.id ?? null;
    this.recordId = deps.records.insertArrival(
      arrivalRecord(
        channel,
        who,
        { arrivedAt, destination: decision.kind === 'dial' ? decision.destination : null, bridgeId: this.bridgeId },
        number ? attributionOf({ ...who, number }, deps.attribute, arrivedAt) : undefined,
      ),
    );
    this.log = deps.logger.child({ callId: this.recordId, did: did ?? channel.dialplan.exten, account: number?.accountId ?? null });

    if (decision.kind === 'reject') {
      this.log.info({ reason: decision.reason, sipCode: decision.sipCode }, 'call rejected');
      return this.reject({ sipCode: decision.sipCode, cause: decision.cause, disposition: 'rejected' });
    }
    if (number && deps.admit && !deps.admit(number)) {
      this.log.info({ trackingNumber: number.id }, 'call over the number\'s concurrent-call cap');
      return this.reject({ sipCode: 486, cause: CAUSE.userBusy, disposition: 'busy' });
    }

    this.state = nextState(this.state, 'dialing');
    const { ari } = deps;
    if (decision.kind === 'dial' && decision.announcementMedia) {
      this.announcementPlaying = true;
      this.playbackId = `cr-play-${this.recordId}`;
      this.announcementDone = new Promise((resolve) => (this.endAnnouncement = resolve));
    }
    // No ring() of our own: the destination's 180 (or 183 and its early media) reaches the caller
    // through the bridge, as with Dial(); ringing twice confuses some carriers. The bridge is made
    // while the first leg is created (post-dial delay is the sum of sequential round trips).
    this.bridgeCreated = this.track(
      Promise.all([
        decision.kind === 'dial' && decision.announcementMedia ? this.playAnnouncement(decision.announcementMedia) : undefined,
        ari.bridges.create({ type: 'mixing', bridgeId: this.bridgeId as string, name: `callroute-${this.recordId}` }),
      ]),
    );
    this.bridgeCreated.catch((err: unknown) => this.failSetup(err, 'setup request failed'));
    if (this.isOver || !program) return;
    await this.runProgram(program);
  }

  private async reject(r: { sipCode: number; cause: number; disposition: CallDisposition }): Promise<void> {
    this.rejection = r;
    this.state = nextState(this.state, 'rejected');
    await this.release();
  }

  /** Follows the route: ring, on failure ask for the next action, until someone takes the call. */
  private async runProgram(program: RouteProgram): Promise<void> {
    for (;;) {
      if (this.isOver) return;
      const action: ProgramAction = program.next(this.history);
      if (action.kind === 'fail') {
        this.finalSipCode = action.sipCode;
        this.facts.endedBy ??= 'destination';
        await this.release();
        return;
      }
      this.currentStep = action.step;
      if (action.kind === 'voicemail') {
        await this.voicemail(action.greetingMedia);
        return;
      }
      const winner = await this.ringGroup(action, program);
      if (this.isOver) return;
      if (!winner) continue;
      if (await this.screen(winner, program)) {
        await this.connect(winner);
        return;
      }
    }
  }

  /** Rings the step's destinations at once (one of them: sequential); resolves with the leg that answered. */
  private async ringGroup(action: Extract<ProgramAction, { kind: 'ring' }>, program: RouteProgram): Promise<OutboundLeg | null> {
    const { ari } = this.deps;
    const legs = action.destinations.map(
      (d) => new OutboundLeg(this.legDeps(), `${OWN_ID_PREFIX}${this.deps.newId()}`, d.target, d.endpoint, d.ringTimeoutSeconds),
    );
    for (const leg of legs) {
      this.legs.set(leg.id, leg);
      this.deps.track(leg.id, this);
    }
    // Early media only where it cannot mislead: one leg, and nothing to play to it before connecting.
    const early = legs.length === 1 && !program.whisperMedia && !program.screening;
    this.log.info({ step: action.step, destinations: legs.map((l) => l.target) }, 'ringing');
    if (this.recordId !== null) this.deps.records.routed(this.recordId, { step: action.step, destinations: legs.map((l) => l.target) }, this.deps.clock());
    await Promise.all(
      legs.map(async (leg) => {
        try {
          await this.track(leg.create({ app: ari.app, inboundId: this.inboundId, callerIdNumber: program.callerIdNumber }));
          if (!(await leg.waitStasis()) || this.isOver) return leg.fail();
          await this.bridgeCreated;
          if (this.isOver) return leg.fail();
          const joining = early ? (this.announcementPlaying ? [leg.id] : [this.inboundId, leg.id]) : [];
          if (early && !this.announcementPlaying) this.inboundBridged = true;
          leg.inBridge = early;
          this.log.debug({ leg: leg.id, joining }, 'dialing leg');
          // Bridged before dialing, so the destination's first 180/183 already finds the caller there.
          if (joining.length > 0) await this.track(ari.bridges.addChannel(this.bridgeId as string, joining));
          if (this.isOver) return leg.fail();
          await this.track(leg.dial());
        } catch (err) {
          if (this.isOver) return;
          if (isChannelGone(err) && !leg.gone && this.inboundGone) return;
          this.log.warn({ err, leg: leg.id, target: leg.target }, 'destination could not be dialed');
          leg.fail();
          await leg.hangup();
        }
      }),
    );
    const winner = await firstAnswer(legs);
    // First to answer wins; the others are cancelled.
    await Promise.all(legs.filter((l) => l !== winner).map((l) => l.hangup()));
    for (const leg of legs) {
      if (leg === winner) continue;
      const outcome = await leg.outcome;
      if (outcome.kind === 'failed') {
        this.facts.dialStatus = outcome.dialStatus;
        this.facts.destinationCause = outcome.cause;
        this.facts.ringTimedOut = outcome.timedOut;
      }
      this.history.push({ step: action.step, target: leg.target, result: winner && legs.length > 1 ? 'cancelled' : attemptResult(outcome) });
      this.legs.delete(leg.id);
    }
    if (winner) this.history.push({ step: action.step, target: winner.target, result: 'answered' });
    return winner;
  }

  /** Whisper and screening, heard by the answering party only. False: the party declined (or left). */
  private async screen(leg: OutboundLeg, program: RouteProgram): Promise<boolean> {
    if (!program.whisperMedia && !program.screening) return true;
    const screening = this.deps.screening ?? DEFAULT_SCREENING;
    try {
      if (program.whisperMedia) await this.playTo(leg, program.whisperMedia);
      if (!program.screening) return !leg.gone && !this.isOver;
      const digit = this.waitDigit(leg, screening.timeoutMs);
      await this.playTo(leg, screening.promptMedia);
      const pressed = await digit;
      if (pressed === '1' && !leg.gone && !this.isOver) return true;
      this.log.info({ leg: leg.id, pressed }, 'answering party did not take the call');
    } catch (err) {
      if (!isChannelGone(err)) this.log.warn({ err, leg: leg.id }, 'whisper or screening failed');
    }
    const last = this.history.at(-1);
    if (last && last.target === leg.target) last.result = 'screened-out';
    await leg.hangup();
    this.legs.delete(leg.id);
    return false;
  }

  private async playTo(leg: OutboundLeg, media: string): Promise<void> {
    const playbackId = `${OWN_ID_PREFIX}play-${this.deps.newId()}`;
    const finished = new Promise<void>((resolve) => this.playbackWaiters.set(playbackId, resolve));
    await this.deps.ari.channels.play(leg.id, { media, playbackId });
    await Promise.race([finished, leg.outcome.then(() => (leg.gone ? undefined : new Promise<void>(() => {})))]);
    this.playbackWaiters.delete(playbackId);
  }

  private waitDigit(leg: OutboundLeg, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.dtmfWaiters.delete(leg.id);
        resolve(null);
      }, timeoutMs);
      this.dtmfWaiters.set(leg.id, (digit) => {
        clearTimeout(timer);
        this.dtmfWaiters.delete(leg.id);
        resolve(digit);
      });
    });
  }

  /** Bridges the caller with the leg that took the call, answers the caller, starts recording. */
  private async connect(leg: OutboundLeg): Promise<void> {
    this.winner = leg;
    this.state = nextState(this.state, 'bridged');
    this.log.info({ leg: leg.id, target: leg.target, announcementPlaying: this.announcementPlaying }, 'destination answered');
    await this.announcementDone;
    await this.bridgeCreated.catch(() => undefined);
    if (this.isOver) return;
    const joining = [...(leg.inBridge ? [] : [leg.id]), ...(this.inboundBridged ? [] : [this.inboundId])];
    try {
      if (joining.length > 0) await this.track(this.deps.ari.bridges.addChannel(this.bridgeId as string, joining));
      leg.inBridge = true;
      this.inboundBridged = true;
    } catch (err) {
      return this.failSetup(err, 'bridging the call failed');
    }
    await this.connectCaller(leg);
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
    // A single early-media leg already waits in the bridge: the caller joins it now.
    const waiting = [...this.legs.values()].some((l) => l.inBridge);
    if (!this.isOver && waiting && !this.inboundBridged) {
      this.inboundBridged = true;
      try {
        await this.track(this.deps.ari.bridges.addChannel(this.bridgeId as string, [this.inboundId]));
      } catch (err) {
        this.endAnnouncement();
        return this.failSetup(err, 'bridging the caller failed');
      }
    }
    this.endAnnouncement();
  }

  /** A recording pause (or its end) for this call: false when it is not being recorded now. */
  async muteRecording(muted: boolean): Promise<boolean> {
    if (this.isOver || !this.recorder) return false;
    return this.recorder.setMuted(muted);
  }

  /** Routes a snoop channel's StasisStart to the recorder waiting for it. */
  onSnoopStasisStart(channelId: string): void {
    this.recorder?.onSnoopStasisStart(channelId);
  }

  /** A destination leg entered Stasis: it may now be bridged and dialed. */
  async onOutboundStasisStart(channelId: string): Promise<void> {
    this.legs.get(channelId)?.onStasisStart();
  }

  /** Every step failed and the plan says voicemail: greet the caller and record a message. */
  private async voicemail(greetingMedia: string): Promise<void> {
    const { ari } = this.deps;
    if (this.recordId === null) return;
    this.log.info({ greeting: greetingMedia }, 'voicemail');
    try {
      await this.announcementDone;
      await this.bridgeCreated;
      if (this.isOver) return;
      // Asterisk cannot record a channel while it is in a bridge (an early-media ring put it there).
      if (this.inboundBridged) {
        await this.track(ari.bridges.removeChannel(this.bridgeId as string, [this.inboundId]));
        this.inboundBridged = false;
      }
      this.callerConnected = true;
      this.answeredAt = this.deps.clock();
      this.deps.records.markAnswered(this.recordId, this.answeredAt, null);
      await this.track(ari.channels.answer(this.inboundId));
      if (this.isOver) return;
      const playbackId = `${OWN_ID_PREFIX}play-${this.deps.newId()}`;
      const greeted = new Promise<void>((resolve) => this.playbackWaiters.set(playbackId, resolve));
      await this.track(ari.channels.play(this.inboundId, { media: greetingMedia, playbackId }));
      await greeted;
      if (this.isOver) return;
      this.voicemailName = `vm-${this.recordId}`;
      const finished = new Promise<void>((resolve) => (this.voicemailFinished = resolve));
      this.voicemailRecordingId = this.deps.recordingStore.insert({
        callId: this.recordId,
        accountId: this.accountId,
        channels: 'mixed',
        asteriskNames: [this.voicemailName],
        startedAt: this.deps.clock(),
        kind: 'voicemail',
      });
      await this.track(ari.channels.record(this.inboundId, { name: this.voicemailName, format: 'wav', beep: true, ifExists: 'overwrite', terminateOn: '#' }));
      await finished;
      this.facts.endedBy ??= 'caller';
      await this.release();
    } catch (err) {
      await this.failSetup(err, 'voicemail failed');
    }
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
      case 'PlaybackFinished':
        if (event.playback.id === this.playbackId) void this.onAnnouncementDone();
        this.playbackWaiters.get(event.playback.id)?.();
        return;
      case 'RecordingStarted':
      case 'RecordingFinished':
      case 'RecordingFailed':
        if (event.recording.name === this.voicemailName) {
          if (event.type !== 'RecordingStarted') this.voicemailFinished();
          return;
        }
        this.recorder?.handle(event);
        return;
      case 'ChannelDtmfReceived':
        this.dtmfWaiters.get(event.channel.id)?.(event.digit);
        return;
      default:
        break;
    }
    const channelId = 'peer' in event && event.type === 'Dial' ? event.peer.id : 'channel' in event ? event.channel.id : undefined;
    if (channelId === undefined) return;
    if (event.type === 'ChannelDestroyed') {
      this.destroyedChannels.add(channelId);
      if (this.destroyedWaiter?.channelId === channelId) this.destroyedWaiter.wake();
    }
    const leg = this.legs.get(channelId);
    if (leg) {
      leg.handle(event);
      // The connected destination hanging up ends the call.
      if (leg === this.winner && leg.answered && isEnd(event)) {
        this.facts.destinationCause ??= endEventCause(event);
        this.facts.endedBy ??= 'destination';
        void this.release();
      }
      return;
    }
    if (channelId !== this.inboundId || !isEnd(event)) return;
    if (event.type === 'ChannelDestroyed' || event.type === 'StasisEnd') this.inboundGone = true;
    this.callerCause ??= endEventCause(event) ?? undefined;
    this.facts.endedBy ??= 'caller';
    // A voicemail message ends when the caller hangs up: the recording finishes on its own.
    if (this.voicemailName) return this.voicemailFinished();
    void this.release();
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
    for (const leg of this.legs.values()) {
      if (leg === this.winner && !alive.has(leg.id)) {
        leg.gone = true;
        this.facts.endedBy ??= 'destination';
        missing = true;
      }
    }
    if (missing) void this.release();
  }

  /** Answers the caller (already in the bridge with the destination) and starts recording. */
  private async connectCaller(leg: OutboundLeg): Promise<void> {
    if (this.callerConnected || this.isOver) return;
    this.callerConnected = true;
    this.answeredAt = this.deps.clock();
    if (this.recordId !== null) this.deps.records.markAnswered(this.recordId, this.answeredAt, { outboundChannelId: leg.id, destination: leg.target });
    const answering = this.track(this.deps.ari.channels.answer(this.inboundId));
    // The recording starts together with the answer, not one round trip after it, so it covers the
    // whole talk time even when Asterisk is slow to respond.
    const recording = this.recordingLayout !== null && this.recordId !== null ? this.startRecording(leg, this.recordId, this.recordingLayout) : undefined;
    try {
      await answering;
    } catch (err) {
      return this.failSetup(err, 'answering the caller failed');
    }
    await recording;
  }

  private async startRecording(leg: OutboundLeg, recordId: number, layout: RecordingLayout): Promise<void> {
    this.recorder = new CallRecorder(this.recorderDeps(), recordId, layout);
    try {
      // Not tracked as in-flight: release() stops the recorder itself, which unblocks start().
      await this.recorder.start({ caller: this.inboundId, answered: leg.id, accountId: this.accountId }, () => this.isOver);
    } catch (err) {
      if (this.isOver || isChannelGone(err)) return;
      // The call goes on unrecorded; stop() marks the recording missing with the reason.
      this.log.error({ err }, 'starting the recording failed');
    }
  }

  private legDeps() {
    return { ari: this.deps.ari, logger: this.log, clock: this.deps.clock };
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
   * The one way a call ends: stop the recording, hang up legs still up, destroy the bridge,
   * finish the record, deregister. Idempotent: every caller gets the same promise.
   */
  release(): Promise<void> {
    this.releasing ??= this.doRelease();
    return this.releasing;
  }

  private async doRelease(): Promise<void> {
    this.state = nextState(this.state, 'ending');
    const endedAt = this.deps.clock();
    const { ari } = this.deps;
    // Unblock waits that will never be answered now.
    this.endAnnouncement();
    for (const wake of this.playbackWaiters.values()) wake();
    for (const wake of this.dtmfWaiters.values()) wake('');
    this.voicemailFinished();
    // Requests in flight may still create a leg or the bridge; wait so we clean those too.
    await Promise.allSettled([...this.inflight]);

    const answered = this.answeredAt !== null;
    const outcome = this.rejection ? null : callOutcome({ ...this.facts, endedBy: this.facts.endedBy ?? 'system', answered });
    const planCause = this.finalSipCode !== null ? SIP_CODE_TO_CAUSE[this.finalSipCode] : undefined;
    const callerCause = this.rejection?.cause ?? (answered ? CAUSE.normalClearing : (planCause ?? outcome?.callerCause ?? CAUSE.noCircuit));

    // Recording first: stopped and finished on disk before any leg or the bridge goes.
    if (this.recorder) await this.recorder.stop();
    if (this.voicemailRecordingId !== null && this.voicemailName) {
      await this.quietly(ari.recordings.stopLive(this.voicemailName), 'stop voicemail');
      const stored = await ari.recordings.getStored(this.voicemailName).catch(() => null);
      if (stored) {
        this.deps.recordingStore.stopped(this.voicemailRecordingId, endedAt);
        this.deps.onRecordingStopped(this.voicemailRecordingId);
      } else {
        this.deps.recordingStore.missing(this.voicemailRecordingId, 'the voicemail message was not stored');
      }
    }

    const hangups = [...this.legs.values()].map((leg) => leg.hangup());
    if (!this.inboundGone) hangups.push(this.quietly(ari.channels.hangup(this.inboundId, { reasonCode: callerCause }), 'hangup caller'));
    await Promise.all(hangups);
    if (this.bridgeId) await this.quietly(ari.bridges.destroy(this.bridgeId), 'destroy bridge');

    // The cause of the leg that ended the call, which its ChannelDestroyed carries.
    const endingChannel = this.facts.endedBy === 'caller' ? this.inboundId : this.facts.endedBy === 'destination' ? this.winner?.id : undefined;
    if (endingChannel !== undefined) await this.untilDestroyed(endingChannel);
    const endingCause = this.facts.endedBy === 'caller' ? this.callerCause : (this.winner?.endCause ?? this.facts.destinationCause);
    const endedBy = this.rejection ? 'router' : recordEndedBy({ endedBy: this.facts.endedBy ?? 'system', endingCause: endingCause ?? null, answered });
    if (this.recordId !== null) {
      const disposition: CallDisposition = this.rejection?.disposition ?? (this.voicemailName ? 'voicemail' : (outcome?.disposition ?? 'failed'));
      this.deps.records.finish(this.recordId, {
        disposition,
        sipCode: this.rejection?.sipCode ?? (answered ? 200 : (this.finalSipCode ?? outcome?.sipCode ?? null)),
        hangupCause: endingCause ?? (answered ? CAUSE.normalClearing : callerCause),
        endedBy,
        answeredAt: this.answeredAt,
        endedAt,
        reconciled: this.answerFoundLate,
        route: this.history.length > 0 ? { step: this.winner ? this.currentStep : null, answeredDestination: this.winner?.target ?? null, tried: this.history } : undefined,
      });
    }
    this.state = 'ended';
    this.log.info({ disposition: this.rejection?.disposition ?? outcome?.disposition, endedBy }, 'call ended');
    this.deps.onEnded(this);
  }

  private untilDestroyed(channelId: string): Promise<void> {
    if (this.destroyedChannels.has(channelId)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ENDING_CAUSE_WAIT_MS);
      timer.unref();
      this.destroyedWaiter = {
        channelId,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
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

function isEnd(event: AriEvent): event is Extract<AriEvent, { type: 'ChannelDestroyed' | 'ChannelHangupRequest' | 'StasisEnd' }> {
  return event.type === 'ChannelDestroyed' || event.type === 'ChannelHangupRequest' || event.type === 'StasisEnd';
}

/** The first leg to answer, or null once every leg has failed. */
function firstAnswer(legs: OutboundLeg[]): Promise<OutboundLeg | null> {
  return new Promise((resolve) => {
    let failed = 0;
    if (legs.length === 0) resolve(null);
    for (const leg of legs) {
      void leg.outcome.then((o) => {
        if (o.kind === 'answered') resolve(leg);
        else if (++failed === legs.length) resolve(null);
      });
    }
  });
}
