import type { RoutableNumber, RouteDecision } from '../../routing/resolveRoute.js';

/** The dialplan context that finishes calls the router decided (asterisk-config/extensions.conf). */
export const HANDOFF_CONTEXT = 'callroute-direct';
/** Asterisk's extension buffer is 80 bytes with the terminating NUL. */
const MAX_EXTENSION_LENGTH = 79;
/**
 * Characters a destination may have to travel in the extension. The dialplan expands it inside
 * Dial()'s arguments, so anything that separates arguments, options or fields (`,` `|` `(` `)`
 * `~` `;` `$` `{` `}` `^`) or that Asterisk drops from extensions (`-`) keeps the call on the ARI path.
 */
const SAFE_DESTINATION = /^(?:\+?[0-9]{2,20}|sips?:[A-Za-z0-9_.+@:]+)$/;

/** The `callroute-direct` extension the router answers the dialplan with, and the recording Asterisk will write. */
export interface DialplanHandOff {
  context: string;
  extension: string;
  /** Name of the WAV MixMonitor writes in Asterisk's recording spool; null when not recorded. */
  recordingName: string | null;
}

/**
 * The recording name of a handed-off call, from its inbound channel id (Asterisk's uniqueid, e.g.
 * `1763865693.12`): the dot becomes `-` so ARI's stored-recording lookup does not take `.12` for
 * a file extension. The dialplan computes the same name with STRREPLACE.
 */
export function handOffRecordingName(inboundChannelId: string): string {
  return `cr-${inboundChannelId.replaceAll('.', '-')}`;
}

/**
 * Decides whether Asterisk's own dialplan can finish this call as well as the router would: one
 * destination, no announcement, no whisper or screening (no route plan), no dual-channel
 * recording, a destination that travels safely in an extension. Then the router's work ends with
 * its answer to the dialplan's routing request, and the call costs the caller and Asterisk what
 * plain `Dial()` does.
 * Pure: the extension carries everything the dialplan needs, as `~`-separated fields:
 *
 *   cr~<ring seconds>~<r<account id>: record | n: do not>~<destination>~<caller ID to present, or empty>
 *
 * The account id lets the dialplan skip the recording of a caller on that account's do-not-record
 * list or restricted (the table's privacy entries, callerPrivacyKey in routeTable.ts).
 *
 * @example dialplanHandOff({ kind: 'dial', destination: '+15550001111', ringTimeoutSeconds: 30, recording: { channels: 'mixed' }, announcementMedia: null, callerIdNumber: '+15559876543', endpoint: '' },
 *   { routePlanId: null, accountId: 7 }, { channelId: '17.3', callerIdAsSent: '5559876543' })
 * // { context: 'callroute-direct', extension: 'cr~30~r7~+15550001111~+15559876543', recordingName: 'cr-17-3' }
 */
export function dialplanHandOff(
  decision: RouteDecision,
  number: Pick<RoutableNumber, 'routePlanId' | 'accountId'>,
  call: { channelId: string; callerIdAsSent: string },
): DialplanHandOff | null {
  if (decision.kind !== 'dial') return null;
  // Asterisk passes the caller's number on as it came; only a normalised one that differs is sent.
  const callerId = decision.callerIdNumber && decision.callerIdNumber !== call.callerIdAsSent ? decision.callerIdNumber : '';
  const extension = handOffExtension(decision, number, callerId);
  if (extension === null) return null;
  const recorded = decision.recording !== null;
  return { context: HANDOFF_CONTEXT, extension, recordingName: recorded ? handOffRecordingName(call.channelId) : null };
}

/**
 * The `callroute-direct` extension for a dial decision, or null when the router must run the call
 * itself (see dialplanHandOff). `callerId`: the caller ID to present, empty to leave it as it is.
 *
 * @example handOffExtension(decision, { routePlanId: null, accountId: 7 }, '') // 'cr~30~r7~+15550001111~'
 */
export function handOffExtension(decision: Extract<RouteDecision, { kind: 'dial' }>, number: Pick<RoutableNumber, 'routePlanId' | 'accountId'>, callerId: string): string | null {
  if (number.routePlanId != null || decision.announcementMedia !== null) return null;
  if (decision.recording !== null && decision.recording.channels !== 'mixed') return null;
  if (!SAFE_DESTINATION.test(decision.destination)) return null;
  if (callerId !== '' && !/^\+?[0-9]{2,20}$/.test(callerId)) return null;
  const recorded = decision.recording !== null;
  const extension = ['cr', String(decision.ringTimeoutSeconds), recorded ? `r${number.accountId}` : 'n', decision.destination, callerId].join('~');
  return extension.length > MAX_EXTENSION_LENGTH ? null : extension;
}

/**
 * A `callroute-direct` extension read back (from a channel Asterisk runs, or an end report): the
 * hand-off it describes and its destination; null when it is not one.
 *
 * @example handOffFromExtension('cr~30~r7~+15550001111~', '17.3')
 * // { handOff: { context: 'callroute-direct', extension: 'cr~30~r7~+15550001111~', recordingName: 'cr-17-3' }, destination: '+15550001111' }
 */
export function handOffFromExtension(extension: string, channelId: string): { handOff: DialplanHandOff; destination: string } | null {
  const [kind, , record, destination] = extension.split('~');
  if (kind !== 'cr' || !destination) return null;
  return { handOff: { context: HANDOFF_CONTEXT, extension, recordingName: record?.startsWith('r') ? handOffRecordingName(channelId) : null }, destination };
}

/**
 * The other answers to the dialplan's routing request (asterisk-config/extensions.conf,
 * `from-carrier`): hang up with a Q.850 cause (chan_pjsip turns it into the SIP response), or
 * enter Stasis so the router runs the call itself.
 */
export const dialplanVerdict = {
  reject: (cause: number): string => `reject~${cause}`,
  stasis: 'stasis',
} as const;
