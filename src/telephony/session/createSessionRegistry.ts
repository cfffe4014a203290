import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { CallRow } from '../../persistence/schema.js';
import { resolveRoute, type RoutableNumber, type RoutePolicy } from '../../routing/resolveRoute.js';
import { isChannelGone } from '../ari/AriHttpError.js';
import type { AriChannel, AriClient, AriEvent, AriEventType, StasisStartEvent } from '../ari/types.js';
import { CallSession, DIALED_LEG_ARG, type CallSessionDeps } from './CallSession.js';
import { SNOOP_ARG } from './CallRecorder.js';
import { createAdmissionControl, refuseCall, timeAriRequests, type AdmissionLimits } from './admissionControl.js';
import { CAUSE } from './callOutcome.js';
import { DialplanCall, type DialplanCallDeps } from './DialplanCall.js';
import { dialplanHandOff } from './dialplanHandOff.js';
import { identifyCall } from './identifyCall.js';

export interface SessionRegistryDeps {
  ari: AriClient;
  records: CallRecordRepository;
  findNumber: (did: string) => RoutableNumber | null | undefined;
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
  /**
   * Hand calls the dialplan can finish alone (one destination, nothing to play first) back to it
   * after deciding them (see dialplanHandOff). Default false: every call runs a CallSession.
   */
  dialplanHandOff?: boolean;
}

/** Channel events routed to the session that owns the channel. */
const ROUTED_EVENTS: AriEventType[] = [
  'ChannelStateChange',
  'Dial',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  'StasisEnd',
  'PlaybackFinished',
  'RecordingStarted',
  'RecordingFinished',
  'RecordingFailed',
  'ChannelDtmfReceived',
  'ChannelUserevent',
];

/** `channel:<id>` → id (playback and recording targets). */
function channelOfTarget(uri: string | undefined): string | undefined {
  return uri?.startsWith('channel:') ? uri.slice('channel:'.length) : undefined;
}

function channelIdOf(event: AriEvent): string | undefined {
  if (event.type === 'Dial') return event.peer.id;
  if ('playback' in event) return channelOfTarget(event.playback.target_uri);
  if ('recording' in event) return channelOfTarget(event.recording.target_uri);
  if ('channel' in event) return event.channel?.id;
  return undefined;
}

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
    ari: sessionDeps.ari,
    records: deps.records,
    recordingStore: deps.recordingStore,
    onRecordingStopped: deps.onRecordingStopped,
    attribute: deps.attribute,
    logger,
    clock: sessionDeps.clock,
    onEnded: (call) => {
      if (handedOff.get(call.inboundId) === call) handedOff.delete(call.inboundId);
    },
  };

  /**
   * The hot path of most calls: one indexed lookup and pure decisions, then one request that gives
   * the call back to the dialplan. False: the call needs a CallSession (a route plan, something to
   * play, a cap reached, an unknown number...), which decides it again in full.
   */
  const handOff = (event: StasisStartEvent): boolean => {
    const { channel } = event;
    const who = identifyCall(channel, deps.policy.defaultCountryCode, deps.findNumber);
    const { number } = who;
    if (!number) return false;
    const cap = number.maxConcurrentCalls ?? null;
    if (cap !== null && activeOn(number.id) >= cap) return false;
    const decision = resolveRoute({ did: who.did, number, callerNumber: who.caller ?? '' }, deps.policy);
    if (decision.kind !== 'dial') return false;
    const target = dialplanHandOff(decision, number, { channelId: channel.id, callerIdAsSent: channel.caller.number });
    if (!target) return false;
    handedOff.set(channel.id, DialplanCall.start(channel, { ...who, number }, target, decision.destination, handOffDeps));
    return true;
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
        defaultCountryCode: deps.policy.defaultCountryCode,
        clock: sessionDeps.clock,
        logger,
      });
      return;
    }
    if (deps.dialplanHandOff && handOff(event)) return;
    const session = new CallSession(event.channel, sessionDeps);
    void session.start(event.channel).catch((err: unknown) => {
      session.log.error({ err }, 'call setup crashed');
      void session.release();
    });
  };

  const onChannelEvent = (event: AriEvent): void => {
    const id = channelIdOf(event);
    if (handedOff.size > 0) {
      // Dial events name the dialplan's outbound channel as the peer: the call is its caller.
      const call = handedOff.get((event.type === 'Dial' ? event.caller?.id : id) ?? '');
      if (call) return call.handle(event);
    }
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
      for (const call of [...handedOff.values()]) call.noticeMissingChannels(alive);
    },
    ownsChannel(channelId: string): boolean {
      return byChannel.has(channelId) || handedOff.has(channelId);
    },
    /** Follows again a call handed to the dialplan before a restart, still up in Asterisk. */
    resumeHandOff(row: CallRow, channel: Pick<AriChannel, 'name' | 'state'>): void {
      handedOff.set(row.inboundChannelId, DialplanCall.resume(row, channel, handOffDeps));
    },
    /** Takes over a call bridged before a restart (see reconcileCalls). */
    resume(row: CallRow): CallSession {
      return CallSession.resume(row, sessionDeps);
    },
    /** Stops taking new calls and waits (bounded) for live calls to end. Bridged calls left then keep talking. */
    async drain(timeoutMs: number): Promise<number> {
      accepting = false;
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
    /** Removes our listeners from the ARI client. */
    close(): void {
      ari.off('StasisStart', onStasisStart);
      for (const type of ROUTED_EVENTS) ari.off(type, onChannelEvent);
    },
  };
}

export type SessionRegistry = ReturnType<typeof createSessionRegistry>;
