import { SIP_CODE_TO_CAUSE } from '../config/loadConfig.js';
import type { ErrorCode } from '../errors.js';

/** What the router needs to know about a tracking number to route a call. */
export interface RoutableNumber {
  id: number;
  accountId: number;
  did: string;
  destination: string;
  ringTimeoutSeconds: number;
  enabled: boolean;
  source: string | null;
  medium: string | null;
  campaign: string | null;
  recordingEnabled: boolean;
  recordingChannels: 'mixed' | 'dual';
  announcement: 'none' | 'default' | 'custom';
  announcementId: number | null;
  /** Route plan replacing the single destination (schedules, strategies, voicemail). */
  routePlanId?: number | null;
  /** Concurrent calls this number may have; null: no cap of its own. */
  maxConcurrentCalls?: number | null;
  /** Set for numbers of a visitor-level pool (their calls are matched to web visits). */
  poolId?: number | null;
}

/** Where Asterisk finds our sounds (shipped default and uploaded announcements), as Asterisk sees the path. */
export const ASTERISK_SOUNDS_DIR = '/var/lib/asterisk/sounds/callroute';
export const DEFAULT_ANNOUNCEMENT_SOUND = 'recording-announcement';

export type RouteDecision =
  | {
      kind: 'dial';
      /** PJSIP dial string through the outbound trunk. */
      endpoint: string;
      destination: string;
      ringTimeoutSeconds: number;
      /** Caller ID presented to the destination: the caller's number. */
      callerIdNumber: string;
      /** Record the call once connected, and how; null when recording is off for the number. */
      recording: { channels: 'mixed' | 'dual' } | null;
      /** ARI media URI played to the caller (as early media) before the call connects. */
      announcementMedia: string | null;
    }
  | { kind: 'reject'; reason: Extract<ErrorCode, 'CR_ERR_DID_NOT_FOUND' | 'CR_ERR_NUMBER_DISABLED' | 'CR_ERR_INVALID_NUMBER'>; sipCode: number; cause: number };

export interface RoutePolicy {
  /** SIP response for an unknown or disabled number. */
  rejectSipCode: number;
  /** Name of the PJSIP endpoint that reaches destinations. */
  outboundEndpoint: string;
}

/**
 * Decides where a call goes: pure, so it is tested with tables.
 *
 * @example
 * resolveRoute({ did: '+15551230000', number, callerNumber: '+15559876543' },
 *   { rejectSipCode: 404, outboundEndpoint: 'destinations' })
 * // { kind: 'dial', endpoint: 'PJSIP/+15550001111@destinations', ... }
 */
export function resolveRoute(
  call: {
    did: string | null;
    number: RoutableNumber | null | undefined;
    callerNumber: string;
    /** The caller is on the do-not-record list or restricted: routed, never recorded. */
    privacy?: string | null;
  },
  policy: RoutePolicy,
): RouteDecision {
  const reject = (reason: 'CR_ERR_DID_NOT_FOUND' | 'CR_ERR_NUMBER_DISABLED' | 'CR_ERR_INVALID_NUMBER'): RouteDecision => ({
    kind: 'reject',
    reason,
    sipCode: policy.rejectSipCode,
    cause: SIP_CODE_TO_CAUSE[policy.rejectSipCode] ?? 1,
  });
  if (call.did === null) return reject('CR_ERR_INVALID_NUMBER');
  if (!call.number) return reject('CR_ERR_DID_NOT_FOUND');
  if (!call.number.enabled) return reject('CR_ERR_NUMBER_DISABLED');
  return {
    kind: 'dial',
    endpoint: dialEndpoint(call.number.destination, policy.outboundEndpoint),
    destination: call.number.destination,
    ringTimeoutSeconds: call.number.ringTimeoutSeconds,
    callerIdNumber: call.callerNumber,
    recording: call.number.recordingEnabled && !call.privacy ? { channels: call.number.recordingChannels } : null,
    announcementMedia: announcementMedia(call.number),
  };
}

/**
 * The sound played to the caller before connecting, as an ARI media URI.
 *
 * @example announcementMedia({ announcement: 'custom', announcementId: 3 }) // 'sound:/var/lib/asterisk/sounds/callroute/announcement-3'
 */
export function announcementMedia(n: Pick<RoutableNumber, 'announcement' | 'announcementId'>): string | null {
  if (n.announcement === 'default') return `sound:${ASTERISK_SOUNDS_DIR}/${DEFAULT_ANNOUNCEMENT_SOUND}`;
  if (n.announcement === 'custom' && n.announcementId !== null) return `sound:${ASTERISK_SOUNDS_DIR}/announcement-${n.announcementId}`;
  return null;
}

/**
 * The PJSIP dial string for a destination: an E.164 number becomes the user part of a request
 * to the outbound trunk's contact; a sip: URI is sent through the trunk's endpoint as is.
 *
 * @example dialEndpoint('+15550001111', 'destinations') // 'PJSIP/+15550001111@destinations'
 * @example dialEndpoint('sip:desk@127.0.0.1:5080', 'destinations') // 'PJSIP/destinations/sip:desk@127.0.0.1:5080'
 */
export function dialEndpoint(destination: string, outboundEndpoint: string): string {
  if (/^sips?:/i.test(destination)) return `PJSIP/${outboundEndpoint}/${destination}`;
  return `PJSIP/${destination}@${outboundEndpoint}`;
}
