import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallDisposition, CallRow } from '../../persistence/schema.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { isChannelGone } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient, AriEvent, StasisStartEvent } from '../ari/types.js';
import { CallSession } from './CallSession.js';
import { DIALED_LEG_ARG, type CallSessionDeps } from './callSessionDeps.js';
import { SNOOP_ARG } from './CallRecorder.js';
import { createAdmissionControl, REFUSED_SIP_CODE, refuseCall, timeAriRequests, type AdmissionLimits } from './admissionControl.js';
import { CAUSE } from './callOutcome.js';
import { channelIdOf, ROUTED_EVENTS } from './channelOfEvent.js';
import { ARRIVAL_WRITE_DELAY_MS, arrivalFromReport, DialplanCall, type DialplanCallDeps, type DialplanChannel, type DialplanEndReport, type DialplanRefusal } from './DialplanCall.js';
import { dialplanHandOff, dialplanVerdict, handOffFromExtension } from './dialplanHandOff.js';
import { routeEntry } from '../dialplanHook/routeTable.js';
import { arrivalRecord, identifyCall, SIP_CALL_ID_VARIABLE, sipCallIdOf, type CallIdentity } from './identifyCall.js';
import type { CallerPrivacyLookup } from '../../privacy/callerPrivacy.js';

export interface SessionRegistryDeps {
  ari: AriClient;
  /** Synchronous: SQLite's repository, or PostgreSQL's written behind the call (callRecordsBehind). */
  records: Pick<CallRecordRepository, 'insertArrival' | 'routed' | 'insertRefused' | 'markAnswered' | 'finish' | 'findByInboundChannel'>;
  findNumber: (did: string) => RoutableNumber | null | undefined;
  /** The do-not-record list and restricted callers (in memory): routed, not recorded. */
  callerPrivacy?: CallerPrivacyLookup;
  policy: RoutePolicy & { defaultCountryCode: string };
  logger: Logger;
  clock?: () => number;
  newId?: () => string;
  recordingStore: CallSessionDeps['recordingStore'];
  onRecordingStopped: (recordingId: number) => void;
  /** New calls beyond these limits are refused with 503 (see admissionControl). Default: no limits. */
  admission?: AdmissionLimits;
  /** Route programs for numbers with a route plan. */
  programFor?: CallSessionDeps['programFor'];
  attribute?: CallSessionDeps['attribute'];
  /** Seconds of audio Asterisk recorded under a name (its spool), null when none: see DialplanCall. */
  recordedAudio: DialplanCallDeps['recordedAudio'];
  /** Removes the empty WAV a handed-off call that was never answered leaves in Asterisk's spool. */
  discardRecording?: DialplanCallDeps['discardRecording'];
  /** Sends an AMI action (sendAmiAction): the MixMonitor of a handed-off call is muted through AMI. */
  amiAction?: (action: Record<string, string>) => Promise<Record<string, string>>;
}

/** What each refusal the dialplan counted means for the caller and the record. */
const DIALPLAN_REFUSALS = {
  over: { sipCode: REFUSED_SIP_CODE, cause: CAUSE.noCircuit, disposition: 'rejected', why: 'over capacity: max-concurrent-calls' },
  rate: { sipCode: REFUSED_SIP_CODE, cause: CAUSE.noCircuit, disposition: 'rejected', why: 'over capacity: max-calls-per-second' },
  busy: { sipCode: 486, cause: CAUSE.userBusy, disposition: 'busy', why: "over the number's concurrent-call cap" },
} as const satisfies Record<DialplanRefusal['reason'], { sipCode: number; cause: number; disposition: CallDisposition; why: string }>;

/**
 * Owns every live CallSession: one set of ARI listeners for all calls (added once, removed in
 * `close()`), a map from channel id to session, and drain for shutdown.
 */
export function createSessionRegistry(deps: SessionRegistryDeps) {
  const { ari, logger } = deps;
  const byChannel = new Map<string, CallSession>();
  const sessions = new Set<CallSession>();
  /** Calls handed back to the dialplan, by inbound channel id, until their record is complete. */
  const handedOff = new Map<string, DialplanCall>();
  let accepting = true;
  const drainWaiters = new Set<() => void>();
  const admission = deps.admission ? createAdmissionControl(deps.admission) : undefined;
  const liveCalls = (): number => sessions.size + handedOff.size;
  /** Calls in progress on a tracking number, whichever way they run. */
  const activeOn = (trackingNumberId: number): number => {
    let active = 0;
    for (const s of sessions) if (s.trackingNumberId === trackingNumberId && !s.isOver) active += 1;
    for (const c of handedOff.values()) if (c.trackingNumberId === trackingNumberId && !c.isOver) active += 1;
    return active;
  };

  const sessionDeps: CallSessionDeps = {
    // Sessions' REST round trips feed the admission control's latency brake.
    ari: admission ? timeAriRequests(ari, (ms) => admission.observe(ms)) : ari,
    records: deps.records,
    findNumber: deps.findNumber,
    callerPrivacy: deps.callerPrivacy,
    policy: deps.policy,
    logger,
    clock: deps.clock ?? (() => Date.now()),
    newId: deps.newId ?? randomUUID,
    programFor: deps.programFor,
    attribute: deps.attribute,
    // Per-number cap: the calls in progress on this number, not counting the one asking.
    admit: (number) => {
      const cap = number.maxConcurrentCalls ?? null;
      return cap === null || activeOn(number.id) - 1 < cap;
    },
    track: (channelId, session) => {
      byChannel.set(channelId, session);
      sessions.add(session);
    },
    recordingStore: deps.recordingStore,
    onRecordingStopped: deps.onRecordingStopped,
    onEnded: (session) => {
      for (const [id, s] of byChannel) if (s === session) byChannel.delete(id);
      sessions.delete(session);
      if (sessions.size === 0) for (const wake of drainWaiters) wake();
    },
  };

  const handOffDeps: DialplanCallDeps = {
    records: deps.records,
    recordingStore: deps.recordingStore,
    onRecordingStopped: deps.onRecordingStopped,
    recordedAudio: deps.recordedAudio,
    discardRecording: deps.discardRecording,
    attribute: deps.attribute,
    logger,
    clock: sessionDeps.clock,
    onEnded: (call) => {
      if (handedOff.get(call.inboundId) === call) handedOff.delete(call.inboundId);
    },
  };

  const followAgain = (row: CallRow): DialplanCall => {
    const known = handedOff.get(row.inboundChannelId);
    if (known) return known;
    const call = DialplanCall.resume(row, handOffDeps);
    handedOff.set(row.inboundChannelId, call);
    return call;
  };

  /** Refusal records waiting to be written (once the answer has been acted on), so a shutdown can write them first. */
  const pendingRefusals = new Set<() => void>();
  /**
   * A refusal's record. Live (`now` false): written a moment later, once the answer has been acted
   * on, and a failed write is logged. From the end report file (`now`): written at once, and a failed
   * write throws, so the tail applies the line again (in order) instead of reading past it.
   */
  const recordRefusal = (channel: DialplanChannel, who: CallIdentity, r: { sipCode: number; cause: number; disposition: CallDisposition }, why: string, at?: number | null, now = false): void => {
    const arrivedAt = at ?? sessionDeps.clock();
    const insert = (): void => {
      const arrival = { ...arrivalRecord(channel, who, { arrivedAt, destination: null, bridgeId: null }), dialplanHandOff: true };
      const id = deps.records.insertRefused(arrival, { disposition: r.disposition, sipCode: r.sipCode, hangupCause: r.cause, endedAt: arrivedAt });
      logger.info({ callId: id, channel: channel.id, did: who.did, sipCode: r.sipCode, why }, 'call rejected');
    };
    if (now) return insert();
    const write = (): void => {
      pendingRefusals.delete(write);
      clearTimeout(timer);
      try {
        insert();
      } catch (err) {
        logger.error({ err, channel: channel.id }, 'writing a rejected call failed');
      }
    };
    const timer = setTimeout(write, ARRIVAL_WRITE_DELAY_MS);
    pendingRefusals.add(write);
  };
  /**
   * Follows a call the dialplan routed from its table (the router was not asked): who called which
   * number, and the `callroute-direct` extension it runs. Null when the number is gone.
   */
  const followRouted = (channel: DialplanChannel, extension: string, arrivedAt: number): DialplanCall | null => {
    const routed = handOffFromExtension(extension, channel.id);
    const who = identifyCall(channel, deps.policy.defaultCountryCode, deps.findNumber, deps.callerPrivacy);
    if (!routed || !who.number) {
      logger.warn({ channel: channel.id, dialed: channel.dialplan.exten, extension }, 'a call routed by the dialplan names no known number');
      return null;
    }
    return DialplanCall.start(channel, { ...who, number: who.number }, routed.handOff, routed.destination, handOffDeps, arrivedAt);
  };
  /** The channel a routed call's report or Asterisk's channel list describes, as the dialplan first saw it. */
  const carrierChannel = (id: string, name: string, dialed: string, caller: { number: string; name: string }, sipCallId: string | null | undefined): DialplanChannel => ({
    id,
    name,
    dialplan: { context: 'from-carrier', exten: dialed, priority: 1 },
    caller,
    ...(sipCallId ? { channelvars: { [SIP_CALL_ID_VARIABLE]: sipCallId } } : {}),
  });
  /**
   * A call the dialplan routed from its table, so the router first hears of it at its end: the
   * report carries who called which number, and the whole record is written from it.
   */
  const recordFromReport = (channelId: string, report: DialplanEndReport): boolean => {
    const route = report.route;
    if (!route) return false;
    const endedAt = report.endedAt ?? sessionDeps.clock();
    const channel = carrierChannel(channelId, '', route.dialed, { number: route.callerNumber, name: route.callerName }, route.sipCallId);
    const call = followRouted(channel, route.extension, arrivalFromReport(channelId, report, endedAt));
    if (!call) return false;
    call.onEnded({ ...report, endedAt });
    call.log.info({ extension: route.extension }, 'routed by the dialplan from its table; record written from the end report');
    return true;
  };
  /** A handed-off call's hangup handler reports how it ended. False: no such call is known. */
  const endedInDialplan = (channelId: string, report: DialplanEndReport): boolean => {
    let call = handedOff.get(channelId);
    if (!call) {
      // Handed off before a restart, and not reconciled yet.
      const row = deps.records.findByInboundChannel(channelId);
      if (row && !row.finished && row.dialplanHandOff) call = followAgain(row);
    }
    if (call) {
      call.onEnded(report);
      return true;
    }
    return recordFromReport(channelId, report);
  };
  /**
   * The dialplan refused a call over MAX_CONCURRENT_CALLS (`over`) or over its number's cap
   * (`busy`), counted in Asterisk: the refusal's record (503 / 486). `at`: when, by Asterisk's clock.
   */
  const refuseFromDialplan = (channel: DialplanChannel, reason: DialplanRefusal['reason'], at?: number | null, fromReportFile = false): void => {
    const { why, ...outcome } = DIALPLAN_REFUSALS[reason];
    // Asked about before (its answer came from the router): its own row, if written, says so.
    if (handedOff.get(channel.id)?.refuse(outcome)) return;
    const who = identifyCall(channel, deps.policy.defaultCountryCode, deps.findNumber, deps.callerPrivacy);
    recordRefusal(channel, who, outcome, why, at, fromReportFile);
  };
  const hangUpStray = (channelId: string, cause: number, why: string): void => {
    logger.warn({ channel: channelId, why }, 'hanging up channel with no session');
    ari.channels.hangup(channelId, { reasonCode: cause }).catch((err: unknown) => {
      if (!isChannelGone(err)) logger.warn({ err, channel: channelId }, 'stray hangup failed');
    });
  };

  const onStasisStart = (event: StasisStartEvent): void => {
    const [role] = event.args;
    const channelId = event.channel.id;
    if (role === DIALED_LEG_ARG) {
      const owner = byChannel.get(channelId);
      if (owner) void owner.onOutboundStasisStart(channelId);
      else hangUpStray(channelId, CAUSE.normalClearing, 'dialed leg of an ended call');
      return;
    }
    if (role === SNOOP_ARG) {
      const owner = byChannel.get(channelId);
      if (owner) owner.onSnoopStasisStart(channelId);
      else hangUpStray(channelId, CAUSE.normalClearing, 'snoop of an ended call');
      return;
    }
    if (!accepting) {
      hangUpStray(channelId, CAUSE.noCircuit, 'router is shutting down');
      return;
    }
    if (byChannel.has(channelId) || handedOff.has(channelId)) return;
    const decision = admission?.decide(liveCalls());
    if (decision && !decision.admit) {
      refuseCall(event, decision, {
        ari,
        records: deps.records,
        findNumber: deps.findNumber,
    callerPrivacy: deps.callerPrivacy,
        defaultCountryCode: deps.policy.defaultCountryCode,
        clock: sessionDeps.clock,
        logger,
      });
      return;
    }
    admission?.admitted();
    const session = new CallSession(event.channel, sessionDeps);
    void session.start(event.channel).catch((err: unknown) => {
      session.log.error({ err }, 'call setup crashed');
      void session.release();
    });
  };

  const onChannelEvent = (event: AriEvent): void => {
    const id = channelIdOf(event);
    if (id === undefined) return;
    byChannel.get(id)?.handle(event);
  };

  ari.on('StasisStart', onStasisStart);
  for (const type of ROUTED_EVENTS) ari.on(type, onChannelEvent);

  return {
    get activeCalls(): number {
      return liveCalls();
    },
    /** Live calls whose channels vanished while events were not flowing end now. */
    sweep(alive: ReadonlySet<string>): void {
      for (const session of [...sessions]) session.noticeMissingChannels(alive);
    },
    /**
     * Pauses (mutes) or resumes the recording of a call in progress, by its record id: the ARI
     * snoop recordings of a call the router runs, the MixMonitor of one the dialplan runs (AMI, by
     * the caller channel's name). `not-found`: no call in progress has that record; `not-recorded`:
     * it is not being recorded now.
     */
    async setRecordingPaused(callId: number, paused: boolean): Promise<'done' | 'not-found' | 'not-recorded'> {
      const session = [...sessions].find((s) => s.recordId === callId);
      if (session) return (await session.muteRecording(paused)) ? 'done' : 'not-recorded';
      const handed = [...handedOff.values()].find((c) => c.recordId === callId);
      if (!handed) return 'not-found';
      const amiAction = deps.amiAction;
      if (!amiAction) return 'not-recorded';
      const muted = await handed.muteRecording(paused, async (channelId, muted) => {
        const { name } = await ari.channels.get(channelId);
        await amiAction({ Action: 'MixMonitorMute', Channel: name, Direction: 'both', State: muted ? '1' : '0' });
      });
      return muted ? 'done' : 'not-recorded';
    },
    ownsChannel(channelId: string): boolean {
      return byChannel.has(channelId) || handedOff.has(channelId);
    },
    /**
     * The dialplan asks where a call goes (its routing request, before any Stasis): the hot path of
     * most calls. One indexed lookup and pure decisions; the answer is an extension of
     * `callroute-direct` (Asterisk dials and records the call itself), a rejection, or `stasis` for
     * calls the router must run itself (route plans, announcements, two-channel recording).
     * Records are written after the answer has left (see DialplanCall).
     */
    routeFromDialplan(channel: DialplanChannel): string {
      if (!accepting) return dialplanVerdict.reject(CAUSE.noCircuit);
      const who = identifyCall(channel, deps.policy.defaultCountryCode, deps.findNumber, deps.callerPrivacy);
      // Concurrent-call caps are counted by the dialplan (GROUP) for every call, routed from its
      // table or not; the router's own count adds the latency brake and what it knows of.
      const admitted = admission?.decide(liveCalls());
      if (admitted && !admitted.admit) {
        recordRefusal(channel, who, { sipCode: REFUSED_SIP_CODE, cause: CAUSE.noCircuit, disposition: 'rejected' }, `over capacity: ${admitted.reason}`);
        return dialplanVerdict.reject(CAUSE.noCircuit);
      }
      const decision = resolveRoute({ did: who.did, number: who.number, callerNumber: who.caller ?? '', privacy: who.privacy }, deps.policy);
      if (decision.kind === 'reject') {
        recordRefusal(channel, who, { sipCode: decision.sipCode, cause: decision.cause, disposition: 'rejected' }, decision.reason);
        return dialplanVerdict.reject(decision.cause);
      }
      const number = who.number as RoutableNumber;
      const target = dialplanHandOff(decision, number, { channelId: channel.id, callerIdAsSent: channel.caller.number });
      if (!target) return routeEntry(number.id, number.maxConcurrentCalls, dialplanVerdict.stasis);
      handedOff.set(channel.id, DialplanCall.start(channel, { ...who, number }, target, decision.destination, handOffDeps));
      return routeEntry(number.id, number.maxConcurrentCalls, target.extension);
    },
    refuseFromDialplan,
    /**
     * A refusal line from the end report file (createEndReportTail). The file is read again from
     * its start after a restart: a call that already has its record took its line before.
     */
    refusalReported(channelId: string, refusal: DialplanRefusal): void {
      if (!handedOff.has(channelId)) {
        const row = deps.records.findByInboundChannel(channelId);
        // Asked about before a restart, its arrival written: that row is finished as refused.
        if (row && !row.finished && row.dialplanHandOff) followAgain(row);
        else if (row) return;
      }
      const channel = carrierChannel(channelId, '', refusal.dialed, { number: refusal.callerNumber, name: refusal.callerName }, refusal.sipCallId);
      refuseFromDialplan(channel, refusal.reason, refusal.at, true);
    },
    endedInDialplan,
    /**
     * A report from the end report file (createEndReportTail). The file is read again from its
     * start after a restart: a call whose record is already finished took its report before.
     */
    endReported(channelId: string, report: DialplanEndReport): void {
      if (!handedOff.has(channelId) && deps.records.findByInboundChannel(channelId)?.finished) return;
      if (!endedInDialplan(channelId, report)) logger.warn({ channel: channelId, route: report.route?.extension }, 'an end report names no known call or number; dropped');
    },
    /** Follows again a call handed to the dialplan before a restart (still up in Asterisk). */
    resumeHandOff(row: CallRow): void {
      followAgain(row);
    },
    /**
     * A call the dialplan routed from its table, seen up in Asterisk (createDialplanArrivalWatcher):
     * its record is written now, so it shows while in progress and a restart resumes it. `dialed`:
     * the number the carrier dialed (the channel's DNID).
     */
    arrivedInDialplan(channel: AriChannel, dialed: string): void {
      if (!accepting || handedOff.has(channel.id) || deps.records.findByInboundChannel(channel.id)) return;
      const createdAt = Date.parse(channel.creationtime);
      const call = followRouted(carrierChannel(channel.id, channel.name, dialed, channel.caller, sipCallIdOf(channel)), channel.dialplan.exten, Number.isFinite(createdAt) ? createdAt : sessionDeps.clock());
      if (!call) return;
      handedOff.set(channel.id, call);
      try {
        call.flushArrival();
      } catch (err) {
        // Written with its end report instead.
        call.log.error({ err }, 'writing the arrival of a call the dialplan routed failed');
        return;
      }
      call.log.info({ extension: channel.dialplan.exten }, 'routed by the dialplan from its table; arrival seen in asterisk');
    },
    /**
     * A handed-off call whose channel is gone and whose end report is not on file (its hangup
     * handler never ran: Asterisk stopped): finished from what Asterisk recorded.
     */
    async settleHandOff(row: CallRow): Promise<void> {
      await followAgain(row).endedUnreported();
    },
    /**
     * Takes over a call bridged before a restart (see reconcileCalls). `answeredUnseen`: it was
     * answered after the router's last write; the number's recording setting says whether to record it now.
     */
    resume(row: CallRow, answeredUnseen = false): CallSession {
      if (!answeredUnseen) return CallSession.resume(row, sessionDeps);
      const number = sessionDeps.findNumber(row.did);
      return CallSession.resume(row, sessionDeps, { recording: number?.recordingEnabled ? number.recordingChannels : null });
    },
    /** Stops taking new calls and waits (bounded) for live calls to end. Bridged calls left then keep talking. */
    async drain(timeoutMs: number): Promise<number> {
      accepting = false;
      // Records still waiting to be written go to the database before it closes.
      for (const write of [...pendingRefusals]) write();
      for (const call of handedOff.values()) {
        try {
          call.flushArrival();
        } catch (err) {
          logger.error({ err }, 'writing the arrival of a handed-off call at shutdown failed; its end report writes it after the restart');
        }
      }
      if (sessions.size > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, timeoutMs);
          function done(): void {
            clearTimeout(timer);
            drainWaiters.delete(done);
            resolve();
          }
          drainWaiters.add(done);
        });
      }
      return sessions.size;
    },
    /**
     * Whether the dialplan may route calls from its own table: not while shutting down. Not shut by
     * the latency brake: calls the table routes are Asterisk's own work, held to its counted caps
     * (MAX_CONCURRENT_CALLS, MAX_CALLS_PER_SECOND), while the brake also hears the router's own
     * scheduling delay on a saturated box. Shutting the gate on it sent every call through the
     * router, which refused a fifth of the calls at 150 concurrent that the dialplan carried (bench).
     * The brake still refuses the calls the router runs or is asked about.
     */
    tableMayRoute(): boolean {
      return accepting;
    },
    /**
     * One REST round trip's latency (the routing gate's refresh): calls routed by the dialplan make
     * no ARI requests, so without it the latency brake would hear nothing from them.
     */
    observeAriLatency(ms: number): void {
      admission?.observe(ms);
    },
    /** Removes our listeners from the ARI client. */
    close(): void {
      ari.off('StasisStart', onStasisStart);
      for (const type of ROUTED_EVENTS) ari.off(type, onChannelEvent);
    },
  };
}

export type SessionRegistry = ReturnType<typeof createSessionRegistry>;
