import type { CallArrival } from '../../persistence/callRecordRepository.js';
import { normalizeNumber } from '../../routing/normalizeNumber.js';
import type { RoutableNumber } from '../../routing/resolveRoute.js';
import type { CallerPrivacyLookup } from '../../privacy/callerPrivacy.js';
import type { CallerPrivacyRule } from '../../persistence/schema.js';
import type { AriChannel } from '../ari/types.js';

export interface CallIdentity {
  /** The dialed number in E.164, or null when it is not a phone number. */
  did: string | null;
  /** The caller's number, E.164 when it can be, else as sent. */
  caller: string | null;
  /** The tracking number dialed (one indexed lookup), if any. */
  number: RoutableNumber | undefined;
  /** The caller is on the account's do-not-record list, or restricted (in-memory lookup); null: neither. */
  privacy: CallerPrivacyRule | null;
}

/** Who is calling which tracking number, from the inbound channel. */
export function identifyCall(
  channel: Pick<AriChannel, 'dialplan' | 'caller'>,
  defaultCountryCode: string,
  findNumber: (did: string) => RoutableNumber | null | undefined,
  callerPrivacy?: CallerPrivacyLookup,
): CallIdentity {
  const did = normalizeNumber(channel.dialplan.exten, defaultCountryCode);
  const raw = channel.caller.number;
  const caller = raw ? (normalizeNumber(raw, defaultCountryCode) ?? raw) : null;
  const number = (did ? findNumber(did) : undefined) ?? undefined;
  const privacy = number && callerPrivacy ? callerPrivacy(number.accountId, caller) : null;
  return { did, caller, number, privacy };
}

/**
 * The web-visit attribution of a call (one indexed lookup), or none for a restricted caller: their
 * calls are routed but not tied to what they did on the website.
 */
export function attributionOf<T>(
  who: Pick<CallIdentity, 'caller' | 'privacy'> & { number: RoutableNumber },
  attribute: ((number: RoutableNumber, caller: string | null, at: number) => T) | undefined,
  arrivedAt: number,
): T | undefined {
  if (who.privacy === 'restricted' || !attribute) return undefined;
  return attribute(who.number, who.caller, arrivedAt);
}

/**
 * The row written when a call arrives: who called which number, with the number's attribution
 * copied at call time (a later change to the number does not rewrite history).
 */
/**
 * The channel variable the dialplan keeps the carrier INVITE's SIP Call-ID in (from-carrier's first
 * steps); ARI shows it in every channel's `channelvars` (ari.conf), the AGI request carries it in its
 * script path, the end report lines as `sip_call_id`.
 */
export const SIP_CALL_ID_VARIABLE = 'CR_CALLID';

/** The Call-ID of a channel as the dialplan kept it; null when it has none (not a carrier call, tests). */
export function sipCallIdOf(channel: Pick<AriChannel, 'channelvars'>): string | null {
  return channel.channelvars?.[SIP_CALL_ID_VARIABLE] || null;
}

export function arrivalRecord(
  channel: Pick<AriChannel, 'id' | 'dialplan' | 'caller' | 'channelvars'>,
  who: CallIdentity,
  extra: { arrivedAt: number; destination: string | null; bridgeId: string | null },
  /** The web visit's attribution, which replaces the number's own tags when a visit matched. */
  attribution?: Partial<CallArrival>,
): CallArrival {
  const n = who.number;
  return {
    accountId: n?.accountId ?? null,
    trackingNumberId: n?.id ?? null,
    did: who.did ?? channel.dialplan.exten,
    callerNumber: who.caller,
    callerName: channel.caller.name || null,
    source: n?.source ?? null,
    medium: n?.medium ?? null,
    campaign: n?.campaign ?? null,
    destination: extra.destination,
    arrivedAt: extra.arrivedAt,
    inboundChannelId: channel.id,
    outboundChannelId: null,
    bridgeId: extra.bridgeId,
    restricted: who.privacy === 'restricted',
    sipCallId: sipCallIdOf(channel),
    ...attribution,
  };
}
