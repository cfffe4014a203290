/**
 * Which call an ARI event is about: the channel it names (a Dial's peer, a playback's or a recording's
 * target channel), for the session registry to hand it to the session that owns the channel.
 */
import type { AriEvent, AriEventType } from '../ari/types.js';

/** Channel events routed to the session that owns the channel. */
export const ROUTED_EVENTS: AriEventType[] = [
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
];

/** `channel:<id>` → id (playback and recording targets). */
function channelOfTarget(uri: string | undefined): string | undefined {
  return uri?.startsWith('channel:') ? uri.slice('channel:'.length) : undefined;
}

export function channelIdOf(event: AriEvent): string | undefined {
  if (event.type === 'Dial') return event.peer.id;
  if ('playback' in event) return channelOfTarget(event.playback.target_uri);
  if ('recording' in event) return channelOfTarget(event.recording.target_uri);
  if ('channel' in event) return event.channel?.id;
  return undefined;
}

/** The channel is gone or going: a hangup request, its destruction, or its leaving our app. */
export function isEnd(event: AriEvent): event is Extract<AriEvent, { type: 'ChannelDestroyed' | 'ChannelHangupRequest' | 'StasisEnd' }> {
  return event.type === 'ChannelDestroyed' || event.type === 'ChannelHangupRequest' || event.type === 'StasisEnd';
}
