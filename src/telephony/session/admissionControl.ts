import type { Logger } from 'pino';
import { arrivalRecord, identifyCall } from './identifyCall.js';
import type { CallRecordRepository } from '../../persistence/callRecordRepository.js';
import type { RoutableNumber } from '../../routing/resolveRoute.js';
import type { CallerPrivacyLookup } from '../../privacy/callerPrivacy.js';
import { isChannelGone } from '../ari/AriHttpError.js';
import type { AriClient, StasisStartEvent } from '../ari/types.js';
import { CAUSE } from './callOutcome.js';

/**
 * Refusing a call the box cannot carry is cheaper than carrying it badly. Under saturation ARI's
 * REST latency grows first; a call admitted then waits seconds for its setup requests, and when a
 * request fails the call is lost half set up (docs/asterisk.md, "ARI under load": calls never forwarded, answered
 * calls unrecorded, channels and bridges left behind). A 503 at the door keeps calls already up
 * untouched and tells the carrier to try its next route.
 */
export interface AdmissionLimits {
  /** Calls in progress (sessions) at most; 0 = no limit. */
  readonly maxConcurrentCalls: number;
  /** Refuse new calls while the p90 of recent ARI request latency is above this (ms); 0 = off. */
  readonly maxAriLatencyMs: number;
  /** Calls admitted (reported with admitted()) in the last second at most; 0 or absent = no limit. */
  readonly maxCallsPerSecond?: number;
}

export type AdmissionDecision =
  | { readonly admit: true }
  | { readonly admit: false; readonly reason: 'max-concurrent-calls' | 'max-calls-per-second' | 'ari-latency'; readonly detail: number };

export interface AdmissionControlOptions {
  /** Monotonic milliseconds. Default `performance.now`. */
  clock?: () => number;
  /** Only latencies observed this recently count. Default 5 s. */
  windowMs?: number;
  /** Fewer recent samples than this say nothing (idle box). Default 10. */
  minSamples?: number;
  /** Samples kept at most. Default 256. */
  capacity?: number;
}

export interface AdmissionControl {
  /** Reports how long one ARI request took. */
  observe(latencyMs: number): void;
  /** Whether a new call may be taken while `activeCalls` are in progress. */
  decide(activeCalls: number): AdmissionDecision;
  /** A call was let in: it counts against maxCallsPerSecond for the next second. */
  admitted(): void;
  /** p90 of the latencies in the window, or null with too few samples. */
  recentLatencyP90(): number | null;
}

/**
 * A concurrency cap plus a latency brake. The latency window empties itself: while every new call
 * is refused, samples come only from calls already up, and once they age out the next call is let
 * in and measures again, so the brake releases by itself when Asterisk recovers.
 *
 * @example
 * const admission = createAdmissionControl({ maxConcurrentCalls: 150, maxAriLatencyMs: 500 });
 * admission.decide(150) // { admit: false, reason: 'max-concurrent-calls', detail: 150 }
 */
export function createAdmissionControl(limits: AdmissionLimits, opts: AdmissionControlOptions = {}): AdmissionControl {
  const clock = opts.clock ?? (() => performance.now());
  const windowMs = opts.windowMs ?? 5_000;
  const minSamples = opts.minSamples ?? 10;
  const capacity = opts.capacity ?? 256;
  const at = new Float64Array(capacity);
  const ms = new Float64Array(capacity);
  let next = 0;
  let count = 0;
  const perSecond = limits.maxCallsPerSecond ?? 0;
  /** When the last `perSecond` calls were let in (a ring; oldest at admittedNext). */
  const admittedAt = new Float64Array(Math.max(1, perSecond)).fill(-Infinity);
  let admittedNext = 0;

  const recentLatencyP90 = (): number | null => {
    const since = clock() - windowMs;
    const recent: number[] = [];
    for (let i = 0; i < count; i += 1) if ((at[i] as number) >= since) recent.push(ms[i] as number);
    if (recent.length < minSamples) return null;
    recent.sort((a, b) => a - b);
    return recent[Math.min(recent.length - 1, Math.ceil(recent.length * 0.9) - 1)] ?? null;
  };

  return {
    observe(latencyMs: number): void {
      at[next] = clock();
      ms[next] = latencyMs;
      next = (next + 1) % capacity;
      count = Math.min(count + 1, capacity);
    },
    decide(activeCalls: number): AdmissionDecision {
      if (limits.maxConcurrentCalls > 0 && activeCalls >= limits.maxConcurrentCalls) {
        return { admit: false, reason: 'max-concurrent-calls', detail: activeCalls };
      }
      // The oldest of the last perSecond admissions within the second: one more would exceed it.
      if (perSecond > 0 && (admittedAt[admittedNext] as number) > clock() - 1000) {
        return { admit: false, reason: 'max-calls-per-second', detail: perSecond };
      }
      if (limits.maxAriLatencyMs > 0) {
        const p90 = recentLatencyP90();
        if (p90 !== null && p90 > limits.maxAriLatencyMs) return { admit: false, reason: 'ari-latency', detail: Math.round(p90) };
      }
      return { admit: true };
    },
    admitted(): void {
      if (perSecond <= 0) return;
      admittedAt[admittedNext] = clock();
      admittedNext = (admittedNext + 1) % perSecond;
    },
    recentLatencyP90,
  };
}

/** The request groups of the ARI client whose round trips are timed. */
const TIMED_GROUPS = new Set<PropertyKey>(['channels', 'bridges', 'recordings', 'playbacks']);

/**
 * The same client with every REST request of the timed groups reported to `observe` (ms, success
 * or failure alike: a slow 404 is as slow as a slow 200). Events and connection calls pass through.
 */
export function timeAriRequests(ari: AriClient, observe: (latencyMs: number) => void, clock: () => number = () => performance.now()): AriClient {
  const wrapped = new Map<PropertyKey, unknown>();
  const wrapGroup = (group: object): object =>
    new Proxy(group, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]): unknown => {
          const started = clock();
          const out: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (out instanceof Promise) {
            const done = (): void => observe(clock() - started);
            out.then(done, done);
          }
          return out;
        };
      },
    });
  return new Proxy(ari, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (TIMED_GROUPS.has(prop) && value !== null && typeof value === 'object') {
        if (!wrapped.has(prop)) wrapped.set(prop, wrapGroup(value));
        return wrapped.get(prop);
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export interface RefuseCallDeps {
  ari: AriClient;
  records: Pick<CallRecordRepository, 'insertRefused'>;
  findNumber: (did: string) => RoutableNumber | null | undefined;
  callerPrivacy?: CallerPrivacyLookup;
  defaultCountryCode: string;
  clock: () => number;
  logger: Logger;
}

/** SIP code the carrier gets for a refused call (cause 34, "no circuit/channel available"). */
export const REFUSED_SIP_CODE = 503;

/**
 * Refuses an inbound call the router will not take: a finished `rejected` record (insertRefused)
 * with the number's attribution, and a hangup with cause 34,
 * which chan_pjsip answers to the carrier as 503. Costs one indexed lookup and one REST request.
 */
export function refuseCall(event: StasisStartEvent, why: Exclude<AdmissionDecision, { admit: true }>, deps: RefuseCallDeps): void {
  const channel = event.channel;
  const arrivedAt = deps.clock();
  const who = identifyCall(channel, deps.defaultCountryCode, deps.findNumber, deps.callerPrivacy);
  const { did } = who;
  let recordId: number | null = null;
  try {
    recordId = deps.records.insertRefused(arrivalRecord(channel, who, { arrivedAt, destination: null, bridgeId: null }), {
      disposition: 'rejected',
      sipCode: REFUSED_SIP_CODE,
      hangupCause: CAUSE.noCircuit,
      endedAt: deps.clock(),
    });
  } catch (err) {
    deps.logger.error({ err, channel: channel.id }, 'refused call: record write failed');
  }
  deps.logger.warn({ callId: recordId, channel: channel.id, did, reason: why.reason, detail: why.detail }, 'call refused: over capacity');
  deps.ari.channels.hangup(channel.id, { reasonCode: CAUSE.noCircuit }).catch((err: unknown) => {
    if (!isChannelGone(err)) deps.logger.warn({ err, channel: channel.id }, 'refused call: hangup failed');
  });
}
