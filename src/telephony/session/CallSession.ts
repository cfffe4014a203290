import type { Logger } from 'pino';
import { SIP_CODE_TO_CAUSE } from '../../config/loadConfig.js';
import type { CallDisposition, CallRow } from '../../persistence/schema.js';
import { resolveRoute } from '../../routing/resolveRoute.js';
import { ignoringGone, isChannelGone } from '../ari/AriHttpError.js';
import type { AriChannel, AriEvent } from '../ari/types.js';
import { endEventCause } from '../ari/endEventCause.js';
import type { RecordingLayout } from './CallRecorder.js';
import { CAUSE, callOutcome, recordEndedBy, type CallFacts } from './callOutcome.js';
import { OWN_ID_PREFIX, type CallSessionDeps } from './callSessionDeps.js';
import { isOver, nextState, type CallState } from './callStates.js';
import { isEnd } from './channelOfEvent.js';
import { DestroyedChannels } from './destroyedChannels.js';
import { arrivalRecord, attributionOf, identifyCall } from './identifyCall.js';
import { OutboundLeg } from './OutboundLeg.js';
import { singleDestinationProgram, type AttemptRecord, type ProgramAction, type RouteProgram } from './routeProgram.js';
import { CallerAnnouncement } from './steps/callerAnnouncement.js';
import { connectStep } from './steps/connectStep.js';
import type { CallStepHost } from './steps/callStepHost.js';
import { PromptWaits } from './steps/promptWaits.js';
import { RecordingControl } from './steps/recordingControl.js';
import { ringStep } from './steps/ringStep.js';
import { screenStep } from './steps/screenStep.js';
import { VoicemailStep } from './steps/voicemailStep.js';

/** How long to wait for the hangup event of a leg that a request found gone. */
const CHANNEL_GONE_GRACE_MS = 2_000;

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
  private readonly recording = new RecordingControl(() => ({
    ari: this.deps.ari,
    store: this.deps.recordingStore,
    logger: this.log,
    clock: this.deps.clock,
    track: (channelId: string) => this.deps.track(channelId, this),
    onStopped: this.deps.onRecordingStopped,
  }));
  /** Legs ringing or connected, by channel id. */
  private readonly legs = new Map<string, OutboundLeg>();
  /** The leg that took the call. */
  private winner: OutboundLeg | null = null;
  private readonly history: AttemptRecord[] = [];
  private currentStep: string | null = null;
  private readonly announcement = new CallerAnnouncement();
  /** The call's bridge exists; created in parallel with the first destination leg. */
  private bridgeCreated: Promise<unknown> = Promise.resolve();
  private readonly waits = new PromptWaits();
  private inboundBridged = false;
  private callerConnected = false;
  private readonly voicemail = new VoicemailStep();
  /** Q.850 cause of the caller's leg when the caller ended it. */
  private callerCause: number | undefined;
  /** Channels of this call whose ChannelDestroyed came (release waits for the one that ended it). */
  private readonly destroyed = new DestroyedChannels();

  constructor(inbound: Pick<AriChannel, 'id'>, deps: CallSessionDeps) {
    this.inboundId = inbound.id;
    this.deps = deps;
    this.log = deps.logger.child({ channel: inbound.id });
    deps.track(inbound.id, this);
  }

  /** What the steps (steps/) see of this call: its state read live, changes made here. */
  private readonly host: CallStepHost = (() => {
    const session = this;
    return {
      // Getters: this runs before the constructor has set the session's fields.
      get deps() { return session.deps; },
      get inboundId() { return session.inboundId; },
      get bridgeId() { return session.bridgeId as string; },
      get bridgeCreated() { return session.bridgeCreated; },
      get recordId() { return session.recordId; },
      get accountId() { return session.accountId; },
      get log() { return session.log; },
      get isOver() { return session.isOver; },
      get callerConnected() { return session.callerConnected; },
      get inboundGone() { return session.inboundGone; },
      get inboundBridged() { return session.inboundBridged; },
      set inboundBridged(bridged: boolean) { session.inboundBridged = bridged; },
      announcement: session.announcement,
      waits: session.waits,
      track: (p) => session.track(p),
      addLeg: (d) => {
        const leg = new OutboundLeg(session.legDeps(), `${OWN_ID_PREFIX}${session.deps.newId()}`, d.target, d.endpoint, d.ringTimeoutSeconds);
        session.legs.set(leg.id, leg);
        session.deps.track(leg.id, session);
        return leg;
      },
      dropLeg: (leg) => void session.legs.delete(leg.id),
      legWaitingInBridge: () => [...session.legs.values()].some((l) => l.inBridge),
      attempted: (attempt) => void session.history.push(attempt),
      screenedOut: (leg) => {
        const last = session.history.at(-1);
        if (last?.target === leg.target) last.result = 'screened-out';
      },
      legFailed: (o) => void Object.assign(session.facts, { dialStatus: o.dialStatus, destinationCause: o.cause, ringTimedOut: o.timedOut }),
      callerAnswered: (destination) => session.callerAnswered(destination),
      endedBy: (who) => void (session.facts.endedBy ??= who),
      release: () => session.release(),
      failSetup: (err, msg) => session.failSetup(err, msg),
    };
  })();

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
    if (active) s.recording.resume(row.id, active);
    if (answeredUnseen) {
      s.answerFoundLate = true;
      s.recording.layout = answeredUnseen.recording;
      if (s.winner && s.recording.layout && !active) void s.recording.start(s.host, s.winner, row.id, s.recording.layout);
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
      this.recording.layout = decision.recording?.channels ?? null;
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
    if (decision.kind === 'dial' && decision.announcementMedia) this.announcement.expect(`cr-play-${this.recordId}`);
    // No ring() of our own: the destination's 180 (or 183 and its early media) reaches the caller
    // through the bridge, as with Dial(); ringing twice confuses some carriers. The bridge is made
    // while the first leg is created (post-dial delay is the sum of sequential round trips).
    this.bridgeCreated = this.track(
      Promise.all([
        decision.kind === 'dial' && decision.announcementMedia ? this.announcement.play(this.host, decision.announcementMedia) : undefined,
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
        await this.voicemail.run(this.host, action.greetingMedia);
        return;
      }
      const winner = await ringStep(this.host, action, program);
      if (this.isOver) return;
      if (!winner) continue;
      if (await screenStep(this.host, winner, program)) {
        await this.connect(winner);
        return;
      }
    }
  }

  /** The leg took the call: the call is bridged from now (connectStep joins and answers). */
  private async connect(leg: OutboundLeg): Promise<void> {
    this.winner = leg;
    this.state = nextState(this.state, 'bridged');
    await connectStep(this.host, leg, this.recording);
  }

  /** A recording pause (or its end) for this call: false when it is not being recorded now. */
  async muteRecording(muted: boolean): Promise<boolean> {
    if (this.isOver) return false;
    return this.recording.setMuted(muted);
  }

  /** Routes a snoop channel's StasisStart to the recorder waiting for it. */
  onSnoopStasisStart(channelId: string): void {
    this.recording.onSnoopStasisStart(channelId);
  }

  /** A destination leg entered Stasis: it may now be bridged and dialed. */
  async onOutboundStasisStart(channelId: string): Promise<void> {
    this.legs.get(channelId)?.onStasisStart();
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
        if (this.announcement.isPlayback(event.playback.id)) void this.announcement.finished(this.host);
        this.waits.playbackFinished(event.playback.id);
        return;
      case 'RecordingStarted':
      case 'RecordingFinished':
      case 'RecordingFailed':
        if (this.voicemail.onRecordingEvent(event)) return;
        this.recording.handle(event);
        return;
      case 'ChannelDtmfReceived':
        this.waits.digitReceived(event.channel.id, event.digit);
        return;
      default:
        break;
    }
    const channelId = 'peer' in event && event.type === 'Dial' ? event.peer.id : 'channel' in event ? event.channel.id : undefined;
    if (channelId === undefined) return;
    if (event.type === 'ChannelDestroyed') this.destroyed.destroyed(channelId);
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
    if (this.voicemail.name) return this.voicemail.end();
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

  /** The caller counts as answered from now, and its record says so. */
  private callerAnswered(destination: { outboundChannelId: string; destination: string } | null): void {
    this.callerConnected = true;
    this.answeredAt = this.deps.clock();
    if (this.recordId !== null) this.deps.records.markAnswered(this.recordId, this.answeredAt, destination);
  }

  private legDeps() {
    return { ari: this.deps.ari, logger: this.log, clock: this.deps.clock };
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
    this.announcement.release();
    this.waits.wakeAll();
    this.voicemail.end();
    // Requests in flight may still create a leg or the bridge; wait so we clean those too.
    await Promise.allSettled([...this.inflight]);

    const answered = this.answeredAt !== null;
    const outcome = this.rejection ? null : callOutcome({ ...this.facts, endedBy: this.facts.endedBy ?? 'system', answered });
    const planCause = this.finalSipCode !== null ? SIP_CODE_TO_CAUSE[this.finalSipCode] : undefined;
    const callerCause = this.rejection?.cause ?? (answered ? CAUSE.normalClearing : (planCause ?? outcome?.callerCause ?? CAUSE.noCircuit));

    // Recording first: stopped and finished on disk before any leg or the bridge goes.
    await this.recording.stop();
    await this.voicemail.stopAtRelease(this.host, endedAt);

    const hangups = [...this.legs.values()].map((leg) => leg.hangup());
    if (!this.inboundGone) hangups.push(this.quietly(ari.channels.hangup(this.inboundId, { reasonCode: callerCause }), 'hangup caller'));
    await Promise.all(hangups);
    if (this.bridgeId) await this.quietly(ari.bridges.destroy(this.bridgeId), 'destroy bridge');

    // The cause of the leg that ended the call, which its ChannelDestroyed carries.
    const endingChannel = this.facts.endedBy === 'caller' ? this.inboundId : this.facts.endedBy === 'destination' ? this.winner?.id : undefined;
    if (endingChannel !== undefined) await this.destroyed.until(endingChannel);
    const endingCause = this.facts.endedBy === 'caller' ? this.callerCause : (this.winner?.endCause ?? this.facts.destinationCause);
    const endedBy = this.rejection ? 'router' : recordEndedBy({ endedBy: this.facts.endedBy ?? 'system', endingCause: endingCause ?? null, answered });
    if (this.recordId !== null) {
      const disposition: CallDisposition = this.rejection?.disposition ?? (this.voicemail.name ? 'voicemail' : (outcome?.disposition ?? 'failed'));
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

  /** A cleanup request at release: a channel or bridge that is already gone is the goal, not an error. */
  private quietly(request: Promise<void>, what: string): Promise<void> {
    return ignoringGone(request, (err) => this.log.warn({ err }, `${what} failed`));
  }
}

