import type { Logger } from 'pino';
import type { CallArrival, CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallDisposition, CallRow } from '../../persistence/schema.js';
import type { RoutableNumber } from '../../routing/resolveRoute.js';
import type { AriChannel } from '../ari/types.js';
import type { RecordingStorePort } from './CallRecorder.js';
import { CAUSE, callOutcome, recordEndedBy } from './callOutcome.js';
import { handOffRecordingName, type DialplanHandOff } from './dialplanHandOff.js';
import { arrivalRecord, attributionOf, type CallIdentity } from './identifyCall.js';

export interface DialplanCallDeps {
  records: Pick<CallRecordRepository, 'insertArrival' | 'finish'>;
  recordingStore: RecordingStorePort;
  onRecordingStopped: (recordingId: number) => void;
  /** Seconds of audio in the WAV Asterisk wrote under `name`; null when there is none. */
  recordedAudio: (name: string) => Promise<number | null>;
  /** Removes the empty WAV MixMonitor leaves for a call that was never answered. */
  discardRecording?: (name: string) => Promise<void>;
  attribute?: (number: RoutableNumber, callerNumber: string | null, now: number) => Partial<CallArrival>;
  logger: Logger;
  clock: () => number;
  /** Called once, after the record is complete. */
  onEnded: (call: DialplanCall) => void;
}

/**
 * How long after the routing answer the arrival row is written: past the destination's INVITE
 * (2–6 ms after the answer on the bench machine), well before anyone reads the record.
 */
export const ARRIVAL_WRITE_DELAY_MS = 25;

/** What the dialplan's hangup handler reports (`callroute-direct-ended`). */
export interface DialplanEndReport {
  /** Dial()'s DIALSTATUS: ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL (empty if never dialed). */
  dialStatus: string;
  /** ANSWEREDTIME_MS: how long the call was up after the answer; null when not answered. */
  answeredMs: number | null;
  /**
   * Dial() returned with the caller still there (its `g` option): the destination ended the call
   * or the dial failed. False: the caller hung up during Dial(). HANGUPSOURCE cannot tell: it was
   * empty for both parties' hangups (call-flow tests).
   */
  dialReturned: boolean;
  /** HANGUPCAUSE of the caller's channel (Q.850). */
  cause: number | null;
  /** When the call ended (ms, Asterisk's clock); absent: when the router took the report. */
  endedAt?: number | null;
  /** DIALEDTIME_MS: from the start of Dial() to its end; null when Dial() never ran. */
  dialedMs?: number | null;
  /**
   * Who called which number and how the dialplan routed it, for a call the router has not heard of
   * (routed from the table Asterisk keeps): enough to write its whole record at its end.
   */
  route?: DialplanRoute | null;
}

/** The routing facts a hangup handler reports (see DialplanEndReport.route). */
export interface DialplanRoute {
  /** The tracking number's id from the table entry. */
  numberId: number | null;
  /** The number the carrier dialed, as sent. */
  dialed: string;
  callerNumber: string;
  callerName: string;
  /** The `callroute-direct` extension the call ran (destination, recording). */
  extension: string;
  /** The carrier INVITE's SIP Call-ID; null when the line has none. */
  sipCallId?: string | null;
}

/** An inbound channel as the dialplan describes it in its routing request (channelvars: its SIP Call-ID). */
export type DialplanChannel = Pick<AriChannel, 'id' | 'name' | 'dialplan' | 'caller' | 'channelvars'>;

/**
 * A call Asterisk's dialplan runs by itself (`callroute-direct`): Dial() rings the one destination
 * and passes its early media and answer straight through, MixMonitor records it. Nothing is in
 * Stasis, so the call costs Asterisk what plain `Dial()` does. Routed from the dialplan's own table,
 * the router first hears of it from the channel list (its arrival) or its end report; routed after
 * asking the router (FastAGI), the arrival row is written once the answer has left. Either way the
 * hangup handler's report completes the record.
 */
export class DialplanCall {
  readonly inboundId: string;
  readonly trackingNumberId: number | null;
  recordId: number | null = null;
  log: Logger;

  private readonly deps: DialplanCallDeps;
  private accountId: number | null = null;
  private recordingName: string | null = null;
  /**
   * False for a caller on the do-not-record list or restricted: the dialplan skips MixMonitor for
   * them (the table's privacy entries), and should a WAV exist all the same (the list changed while
   * the call was set up), it is removed, never stored.
   */
  private keepsRecording = true;
  private answeredAt: number | null = null;
  private ended = false;
  /** Taken over after a restart: whether the number records is not in the row. */
  private resumed = false;
  /** Writes the arrival row; null once written. */
  private pendingArrival: (() => void) | null = null;
  private arrivalTimer: NodeJS.Timeout | undefined;

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
   * A call the dialplan is about to dial. The arrival row is written ARRIVAL_WRITE_DELAY_MS later,
   * once Asterisk has dialed the destination: on a small box the write would otherwise take CPU from
   * the very moments the caller waits for (bench). An end report that comes sooner writes it first.
   */
  static start(
    channel: DialplanChannel,
    who: CallIdentity & { number: RoutableNumber },
    handOff: DialplanHandOff,
    destination: string,
    deps: DialplanCallDeps,
    arrivedAt: number = deps.clock(),
  ): DialplanCall {
    const call = new DialplanCall(channel.id, who.number.id, deps);
    call.accountId = who.number.accountId;
    call.recordingName = handOff.recordingName;
    call.keepsRecording = who.privacy === null;
    // Throws when the write fails, and stays pending: the end report's write tries it again.
    call.pendingArrival = () => {
      const attribution = attributionOf(who, deps.attribute, arrivedAt);
      call.recordId = deps.records.insertArrival(
        { ...arrivalRecord(channel, who, { arrivedAt, destination, bridgeId: null }, attribution), dialplanHandOff: true },
        { step: 'destination', destinations: [destination] },
      );
      call.pendingArrival = null;
      clearTimeout(call.arrivalTimer);
      call.log = deps.logger.child({ callId: call.recordId, did: who.did, account: who.number.accountId });
      call.log.info({ destination, extension: handOff.extension }, 'handed to the dialplan');
    };
    call.arrivalTimer = setTimeout(() => {
      try {
        call.pendingArrival?.();
      } catch (err) {
        call.log.error({ err }, 'writing the arrival of a handed-off call failed; it is written with its end');
      }
    }, ARRIVAL_WRITE_DELAY_MS);
    return call;
  }

  /**
   * The dialplan refused the call after the router's answer (a concurrent-call cap counted in
   * Asterisk). If its arrival row is written, that row now says so (true); if not, the write is
   * dropped and the refusal writes its own record (false).
   */
  refuse(outcome: { disposition: CallDisposition; sipCode: number; cause: number }): boolean {
    if (this.ended) return this.recordId !== null;
    this.ended = true;
    const written = this.pendingArrival === null && this.recordId !== null;
    this.pendingArrival = null;
    clearTimeout(this.arrivalTimer);
    if (written) {
      this.deps.records.finish(this.recordId as number, {
        disposition: outcome.disposition,
        sipCode: outcome.sipCode,
        hangupCause: outcome.cause,
        endedBy: 'router',
        answeredAt: null,
        endedAt: this.deps.clock(),
      });
      this.log.info({ disposition: outcome.disposition, sipCode: outcome.sipCode }, 'refused by the dialplan over a cap');
    }
    this.deps.onEnded(this);
    return written;
  }

  /** Writes the arrival row now if it is still waiting (an end report, shutdown); throws when the write fails. */
  flushArrival(): void {
    this.pendingArrival?.();
  }

  /**
   * A recording pause (or its end): MixMonitor runs on the caller's channel in the dialplan, which
   * only AMI can mute (`mute`). False when the call is not recorded or is over.
   */
  async muteRecording(muted: boolean, mute: (channelId: string, muted: boolean) => Promise<void>): Promise<boolean> {
    if (this.ended || this.recordingName === null || !this.keepsRecording) return false;
    await mute(this.inboundId, muted);
    return true;
  }

  /** A handed-off call known from its unfinished record (a router restart): its end report completes it. */
  static resume(row: CallRow, deps: DialplanCallDeps): DialplanCall {
    const call = new DialplanCall(row.inboundChannelId, row.trackingNumberId, deps);
    call.log = deps.logger.child({ callId: row.id, did: row.did, account: row.accountId });
    call.recordId = row.id;
    call.accountId = row.accountId;
    call.recordingName = handOffRecordingName(row.inboundChannelId);
    call.keepsRecording = !row.restricted;
    call.resumed = true;
    return call;
  }

  /**
   * The hangup handler's report: the call is over. Throws when its record cannot be written (the
   * database is away): nothing is marked done, so the end report tail applies the report again.
   */
  onEnded(report: DialplanEndReport): void {
    if (this.ended) return;
    try {
      this.flushArrival();
    } catch (err) {
      // From here the end report's retries write the arrival, not the timer.
      clearTimeout(this.arrivalTimer);
      throw err;
    }
    // Without who called: the log never holds a caller's number (privacy erasures rely on it).
    const { route, ...outcome } = report;
    this.log.debug({ report: { ...outcome, route: route ? { numberId: route.numberId, dialed: route.dialed, extension: route.extension } : route } }, 'end report');
    const endedAt = report.endedAt ?? this.deps.clock();
    const answered = report.dialStatus === 'ANSWER';
    if (answered) this.answeredAt = endedAt - Math.max(0, report.answeredMs ?? 0);
    const callerEnded = report.dialStatus === 'CANCEL' || (answered && !report.dialReturned);
    this.finish(endedAt, report.cause, { endedBy: callerEnded ? 'caller' : 'destination', dialStatus: report.dialStatus || null });
  }

  /**
   * The call is gone and its report is lost (Asterisk went down with it): the record is finished
   * as reconciled, and answered only if its recording holds audio (MixMonitor writes only while
   * the call is bridged); when it was answered is not known.
   */
  async endedUnreported(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const endedAt = this.deps.clock();
    const seconds = this.recordingName === null ? null : await this.deps.recordedAudio(this.recordingName).catch(() => null);
    const answered = seconds !== null && seconds > 0;
    const kept = answered && this.keepsRecording;
    if (this.recordId !== null) {
      this.deps.records.finish(this.recordId, {
        disposition: answered ? 'answered' : 'failed',
        sipCode: answered ? 200 : null,
        hangupCause: null,
        endedBy: 'system',
        answeredAt: null,
        endedAt,
        reconciled: true,
        reconciledReason: 'Asterisk stopped before writing the call’s end report',
      });
    }
    if (kept) this.handOn(this.recordingName as string, endedAt, endedAt);
    else if (this.recordingName !== null) await this.discard(this.recordingName);
    this.log.info({ answered }, 'handed-off call ended while the router was away; outcome reconciled');
    this.deps.onEnded(this);
  }

  private finish(endedAt: number, cause: number | null, f: { endedBy: 'caller' | 'destination'; dialStatus: string | null }): void {
    const answered = this.answeredAt !== null;
    const outcome = callOutcome({ answered, endedBy: f.endedBy, dialStatus: f.dialStatus, destinationCause: null, ringTimedOut: false });
    const endedBy = recordEndedBy({ endedBy: f.endedBy, endingCause: cause, answered });
    if (this.recordId !== null) {
      this.deps.records.finish(this.recordId, {
        disposition: outcome.disposition,
        sipCode: outcome.sipCode,
        hangupCause: cause ?? (answered ? CAUSE.normalClearing : outcome.callerCause),
        endedBy,
        answeredAt: this.answeredAt,
        endedAt,
      });
    }
    // Only once the outcome is written: a failed write leaves the call to the report's retry.
    this.ended = true;
    void this.handOverRecording(endedAt).finally(() => {
      this.log.info({ disposition: outcome.disposition, endedBy, dialStatus: f.dialStatus }, 'call ended');
      this.deps.onEnded(this);
    });
  }

  /**
   * The WAV MixMonitor wrote goes to the media pipeline (which waits for its header to be
   * finalised); an unanswered call's empty one is removed.
   */
  private async handOverRecording(endedAt: number): Promise<void> {
    const name = this.recordingName;
    if (name === null || this.recordId === null) return;
    if (this.answeredAt === null || !this.keepsRecording) return this.discard(name);
    // Followed from the start, the call was recorded if its number records (the pipeline reports
    // a missing file); taken over after a restart, only Asterisk's spool knows.
    if (this.resumed && (await this.deps.recordedAudio(name).catch(() => null)) === null) return;
    this.handOn(name, this.answeredAt, endedAt);
  }

  private handOn(name: string, startedAt: number, endedAt: number): void {
    if (this.recordId === null) return;
    const { recordingStore: store } = this.deps;
    const id = store.insert({ callId: this.recordId, accountId: this.accountId, channels: 'mixed', asteriskNames: [name], startedAt });
    store.stopped(id, endedAt);
    this.deps.onRecordingStopped(id);
  }

  private async discard(name: string): Promise<void> {
    await this.deps.discardRecording?.(name).catch((err: unknown) => this.log.warn({ err }, 'removing the empty recording failed'));
  }
}

/**
 * When a call known only from its end report arrived: worked back from how long Dial() ran, else
 * the second its channel was created (Asterisk's uniqueid is `<epoch seconds>.<sequence>`, after
 * `<systemname>-` when Asterisk has one: NODE_ID).
 *
 * @example arrivalFromReport('1800000001.5', { dialedMs: 9000 }, 1_800_000_010_000) // 1_800_000_001_000
 * @example arrivalFromReport('node-a-1800000001.5', {}, 1_800_000_010_000) // 1_800_000_001_000
 */
export function arrivalFromReport(channelId: string, report: Pick<DialplanEndReport, 'dialedMs'>, endedAt: number): number {
  if (report.dialedMs != null) return endedAt - report.dialedMs;
  const createdSeconds = Number(/(\d+)\.\d+$/.exec(channelId)?.[1]);
  return Number.isFinite(createdSeconds) && createdSeconds > 0 ? createdSeconds * 1000 : endedAt;
}

/** A number field of a report line (digits, maybe a fraction); null when absent or anything else. */
const numberField = (v: string | null): number | null => (v !== null && /^\d+(\.\d+)?$/.test(v) ? Number(v) : null);

/** A call the dialplan refused over a concurrent-call cap it counted (a line in the end report file). */
export interface DialplanRefusal {
  /** `over`: MAX_CONCURRENT_CALLS (503); `rate`: MAX_CALLS_PER_SECOND (503); `busy`: the tracking number's own cap (486). */
  reason: 'over' | 'rate' | 'busy';
  /** The number the carrier dialed, as sent. */
  dialed: string;
  callerNumber: string;
  callerName: string;
  /** When it was refused (ms, Asterisk's clock); null: when the router took the line. */
  at: number | null;
  /** The carrier INVITE's SIP Call-ID; null when the line has none. */
  sipCallId?: string | null;
}

/**
 * Reads a refusal line's fields (refused, dialed: the channel's DNID, exten: the extension when the
 * DNID is empty, caller, caller_name, at: epoch seconds with milliseconds). Null: not a refusal.
 */
export function parseDialplanRefusal(form: URLSearchParams): DialplanRefusal | null {
  const reason = form.get('refused');
  if (reason !== 'over' && reason !== 'rate' && reason !== 'busy') return null;
  const atSeconds = numberField(form.get('at'));
  return {
    reason,
    dialed: form.get('dialed') || (form.get('exten') ?? ''),
    callerNumber: form.get('caller') ?? '',
    callerName: form.get('caller_name') ?? '',
    at: atSeconds === null ? null : Math.round(atSeconds * 1000),
    sipCallId: form.get('sip_call_id') || null,
  };
}

/**
 * Reads the hangup handler's report (form fields: dialstatus, answered_ms, dialed_ms,
 * dial_returned, cause; number, dialed, caller, caller_name and route for the record of a call the
 * router has not heard of; ended_at in epoch seconds, with milliseconds, by Asterisk's clock).
 */
export function parseDialplanEndReport(form: URLSearchParams): DialplanEndReport {
  const endedAtSeconds = numberField(form.get('ended_at'));
  const extension = form.get('route') ?? '';
  return {
    dialStatus: form.get('dialstatus') ?? '',
    answeredMs: numberField(form.get('answered_ms')),
    dialReturned: form.get('dial_returned') === '1',
    cause: numberField(form.get('cause')),
    endedAt: endedAtSeconds === null ? null : Math.round(endedAtSeconds * 1000),
    dialedMs: numberField(form.get('dialed_ms')),
    route: extension.startsWith('cr~')
      ? {
          numberId: numberField(form.get('number')),
          dialed: form.get('dialed') ?? '',
          callerNumber: form.get('caller') ?? '',
          callerName: form.get('caller_name') ?? '',
          extension,
          sipCallId: form.get('sip_call_id') || null,
        }
      : null,
  };
}
