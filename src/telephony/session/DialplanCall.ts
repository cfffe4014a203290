import type { Logger } from 'pino';
import type { CallArrival, CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallRow } from '../../persistence/schema.js';
import type { RoutableNumber } from '../../routing/resolveRoute.js';
import { isChannelGone, isNotFound } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient, AriEvent } from '../ari/types.js';
import type { RecordingStorePort } from './CallRecorder.js';
import { CAUSE, callOutcome } from './callOutcome.js';
import { handOffRecordingName, type DialplanHandOff } from './dialplanHandOff.js';
import { arrivalRecord, type CallIdentity } from './identifyCall.js';

export interface DialplanCallDeps {
  ari: AriClient;
  records: Pick<CallRecordRepository, 'insertArrival' | 'markAnswered' | 'finish'>;
  recordingStore: RecordingStorePort & { activeForCall(callId: number): { id: number } | undefined };
  onRecordingStopped: (recordingId: number) => void;
  attribute?: (number: RoutableNumber, callerNumber: string | null, now: number) => Partial<CallArrival>;
  logger: Logger;
  clock: () => number;
  /** Called once, after the record is complete. */
  onEnded: (call: DialplanCall) => void;
}

/** The UserEvent our hangup handler sends (asterisk-config/extensions.conf, `callroute-direct-ended`). */
export const HANDOFF_ENDED_EVENT = 'callroute-ended';

/**
 * A call the router decided and handed back to Asterisk's dialplan: Dial() rings the destination,
 * passes its early media and answer straight through, and MixMonitor records from the answer. The
 * router's part on the caller's path is one request (`continue`); everything else here happens
 * after it is on the wire: the arrival row, and the call's events (a subscription to the inbound
 * channel, which outlives Stasis) turned into the completed record and the recording hand-over.
 */
export class DialplanCall {
  readonly inboundId: string;
  readonly trackingNumberId: number | null;
  recordId: number | null = null;
  log: Logger;

  private readonly deps: DialplanCallDeps;
  private inboundName: string | null = null;
  private accountId: number | null = null;
  private destination: string | null = null;
  private recordingName: string | null = null;
  private recordingId: number | null = null;
  private answeredAt: number | null = null;
  private dialStatus: string | null = null;
  /** Channel name that started the hangup (HANGUPSOURCE), from the hangup handler's event. */
  private hangupSource: string | null = null;
  private callerHungUp = false;
  private ended = false;

  private constructor(inboundId: string, trackingNumberId: number | null, deps: DialplanCallDeps) {
    this.inboundId = inboundId;
    this.trackingNumberId = trackingNumberId;
    this.deps = deps;
    this.log = deps.logger.child({ channel: inboundId });
  }

  get isOver(): boolean {
    return this.ended;
  }

  /**
   * Hands the call to the dialplan. The subscription and `continue` leave in the same tick (the
   * subscription first), and the arrival row is written on the next turn of the event loop, once
   * both requests are flushed: no disk work delays the caller's call.
   */
  static start(
    channel: Pick<AriChannel, 'id' | 'name' | 'dialplan' | 'caller'>,
    who: CallIdentity & { number: RoutableNumber },
    handOff: DialplanHandOff,
    destination: string,
    deps: DialplanCallDeps,
  ): DialplanCall {
    const arrivedAt = deps.clock();
    const call = new DialplanCall(channel.id, who.number.id, deps);
    call.inboundName = channel.name;
    call.accountId = who.number.accountId;
    call.destination = destination;
    call.recordingName = handOff.recordingName;
    const { ari } = deps;
    const subscribed = ari.applications.subscribe(ari.app, `channel:${channel.id}`);
    const continued = ari.channels.continueInDialplan(channel.id, { context: handOff.context, extension: handOff.extension, priority: 1 });
    setImmediate(() => {
      const attribution = deps.attribute?.(who.number, who.caller, arrivedAt);
      call.recordId = deps.records.insertArrival({
        ...arrivalRecord(channel, who, { arrivedAt, destination, bridgeId: null }, attribution),
        dialplanHandOff: true,
      });
      call.log = deps.logger.child({ callId: call.recordId, did: who.did, caller: who.caller, account: who.number.accountId });
      call.log.info({ destination, extension: handOff.extension }, 'handed to the dialplan');
      void call.afterHandOff(subscribed, continued);
    });
    return call;
  }

  /** Follows a handed-off call again after a router restart, from its unfinished record. */
  static resume(row: CallRow, channel: Pick<AriChannel, 'name' | 'state'>, deps: DialplanCallDeps): DialplanCall {
    const call = new DialplanCall(row.inboundChannelId, row.trackingNumberId, deps);
    call.log = deps.logger.child({ callId: row.id, did: row.did, caller: row.callerNumber, account: row.accountId });
    call.recordId = row.id;
    call.inboundName = channel.name;
    call.accountId = row.accountId;
    call.destination = row.destination;
    call.answeredAt = row.answeredAt;
    call.recordingName = handOffRecordingName(row.inboundChannelId);
    call.recordingId = deps.recordingStore.activeForCall(row.id)?.id ?? null;
    // Answered while we were away: the moment is lost; now is the closest we know.
    if (call.answeredAt === null && channel.state === 'Up') {
      call.answeredAt = deps.clock();
      deps.records.markAnswered(row.id, call.answeredAt);
    }
    void deps.ari.applications.subscribe(deps.ari.app, `channel:${row.inboundChannelId}`).catch((err: unknown) => call.subscriptionFailed(err));
    return call;
  }

  private async afterHandOff(subscribed: Promise<void>, continued: Promise<void>): Promise<void> {
    const [sub, cont] = await Promise.allSettled([subscribed, continued]);
    if (this.ended) return;
    if (cont.status === 'rejected') {
      if (isChannelGone(cont.reason)) {
        // The caller hung up before Asterisk took the call back.
        this.callerHungUp = true;
        this.finish(null, this.deps.clock());
        return;
      }
      this.log.error({ err: cont.reason }, 'handing the call to the dialplan failed');
      await this.deps.ari.channels.hangup(this.inboundId, { reasonCode: CAUSE.noCircuit }).catch(() => undefined);
      this.finish(CAUSE.noCircuit, this.deps.clock(), { endedBy: 'router', sipCode: 503 });
      return;
    }
    if (sub.status === 'rejected') this.subscriptionFailed(sub.reason);
  }

  /**
   * Without a subscription no event says when the call ends: ask Asterisk now and then, so the
   * record is still completed (its end time to within the polling period).
   */
  private subscriptionFailed(err: unknown): void {
    if (this.ended) return;
    if (!isChannelGone(err) && !isNotFound(err)) this.log.warn({ err }, 'subscribing to the handed-off call failed; polling it');
    const poll = async (): Promise<void> => {
      if (this.ended) return;
      try {
        await this.deps.ari.channels.get(this.inboundId);
        setTimeout(() => void poll(), 5_000).unref();
      } catch (e) {
        if (isChannelGone(e) || isNotFound(e)) this.finish(null, this.deps.clock());
        else setTimeout(() => void poll(), 5_000).unref();
      }
    };
    void poll();
  }

  /** Events of the inbound channel (and Dial events where it is the caller). */
  handle(event: AriEvent): void {
    if (this.ended) return;
    switch (event.type) {
      case 'Dial':
        if (event.caller?.id !== this.inboundId || !event.dialstatus) return;
        this.dialStatus = event.dialstatus;
        if (event.dialstatus === 'ANSWER') this.onAnswered(event.peer.id);
        return;
      case 'ChannelUserevent':
        if (event.eventname !== HANDOFF_ENDED_EVENT) return;
        this.hangupSource = event.userevent.hangupsource || null;
        if (event.userevent.dialstatus) this.dialStatus = event.userevent.dialstatus;
        return;
      case 'ChannelHangupRequest':
        // A hangup request that is not soft comes from the caller's side (BYE or CANCEL).
        if (event.channel.id === this.inboundId && !event.soft) this.callerHungUp = true;
        return;
      case 'ChannelDestroyed':
        if (event.channel.id === this.inboundId) this.finish(event.cause ?? null, this.deps.clock());
        return;
      default:
        return;
    }
  }

  /** After a reconnect: a call whose channel vanished while events were not flowing is over. */
  noticeMissingChannels(alive: ReadonlySet<string>): void {
    if (!this.ended && !alive.has(this.inboundId)) this.finish(null, this.deps.clock(), { reconciled: true });
  }

  private onAnswered(outboundChannelId: string): void {
    if (this.answeredAt !== null) return;
    this.answeredAt = this.deps.clock();
    if (this.recordId === null) return;
    this.deps.records.markAnswered(this.recordId, this.answeredAt, { outboundChannelId, destination: this.destination ?? '' });
    if (this.recordingName) {
      // MixMonitor starts on the answered channel in the same moment (Dial's U() subroutine).
      this.recordingId = this.deps.recordingStore.insert({
        callId: this.recordId,
        accountId: this.accountId,
        channels: 'mixed',
        asteriskNames: [this.recordingName],
        startedAt: this.answeredAt,
      });
    }
  }

  private finish(cause: number | null, endedAt: number, override: { endedBy?: 'router'; sipCode?: number; reconciled?: boolean } = {}): void {
    if (this.ended) return;
    this.ended = true;
    const answered = this.answeredAt !== null;
    const callerEnded = this.callerHungUp || this.dialStatus === 'CANCEL' || (this.hangupSource !== null && this.hangupSource === this.inboundName);
    const endedBy = override.endedBy ?? (override.reconciled ? 'system' : callerEnded ? 'caller' : 'destination');
    const outcome = callOutcome({ answered, endedBy, dialStatus: this.dialStatus, destinationCause: null, ringTimedOut: false });
    if (this.recordId !== null) {
      this.deps.records.finish(this.recordId, {
        disposition: outcome.disposition,
        sipCode: override.sipCode ?? outcome.sipCode,
        hangupCause: cause ?? (answered ? CAUSE.normalClearing : outcome.callerCause),
        endedBy,
        answeredAt: this.answeredAt,
        endedAt,
        reconciled: override.reconciled ?? false,
      });
    }
    void this.handOverRecording(endedAt).finally(() => {
      this.log.info({ disposition: outcome.disposition, endedBy, dialStatus: this.dialStatus }, 'call ended');
      this.deps.onEnded(this);
    });
  }

  /**
   * The WAV MixMonitor wrote goes to the media pipeline (which waits for its header to be
   * finalised). A call answered while the router was away has no recording row yet: Asterisk's
   * stored recording is the truth.
   */
  private async handOverRecording(endedAt: number): Promise<void> {
    const { recordingStore: store } = this.deps;
    if (this.recordingName === null || this.recordId === null || this.answeredAt === null) return;
    if (this.recordingId === null) {
      const stored = await this.deps.ari.recordings.getStored(this.recordingName).catch(() => null);
      if (!stored) return;
      this.recordingId = store.insert({
        callId: this.recordId,
        accountId: this.accountId,
        channels: 'mixed',
        asteriskNames: [this.recordingName],
        startedAt: this.answeredAt,
      });
    }
    store.stopped(this.recordingId, endedAt);
    this.deps.onRecordingStopped(this.recordingId);
  }
}
