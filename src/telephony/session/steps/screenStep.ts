import { isChannelGone } from '../../ari/AriHttpError.js';
import { OWN_ID_PREFIX } from '../callSessionDeps.js';
import type { OutboundLeg } from '../OutboundLeg.js';
import type { RouteProgram } from '../routeProgram.js';
import type { CallStepHost } from './callStepHost.js';

const DEFAULT_SCREENING = { promptMedia: 'sound:/var/lib/asterisk/sounds/callroute/screening-prompt', timeoutMs: 10_000 };

/**
 * Whisper and screening, heard by the answering party only, before the caller is connected.
 * False: the party declined (or left), and its leg is hung up.
 */
export async function screenStep(host: CallStepHost, leg: OutboundLeg, program: RouteProgram): Promise<boolean> {
  if (!program.whisperMedia && !program.screening) return true;
  const screening = host.deps.screening ?? DEFAULT_SCREENING;
  try {
    if (program.whisperMedia) await playTo(host, leg, program.whisperMedia);
    if (!program.screening) return !leg.gone && !host.isOver;
    const digit = host.waits.nextDigit(leg.id, screening.timeoutMs);
    await playTo(host, leg, screening.promptMedia);
    const pressed = await digit;
    if (pressed === '1' && !leg.gone && !host.isOver) return true;
    host.log.info({ leg: leg.id, pressed }, 'answering party did not take the call');
  } catch (err) {
    if (!isChannelGone(err)) host.log.warn({ err, leg: leg.id }, 'whisper or screening failed');
  }
  host.screenedOut(leg);
  await leg.hangup();
  host.dropLeg(leg);
  return false;
}

/** Plays media to the leg; resolves when it finished or the leg is gone. */
async function playTo(host: CallStepHost, leg: OutboundLeg, media: string): Promise<void> {
  const playbackId = `${OWN_ID_PREFIX}play-${host.deps.newId()}`;
  const finished = host.waits.untilPlayed(playbackId);
  await host.deps.ari.channels.play(leg.id, { media, playbackId });
  await Promise.race([finished, leg.outcome.then(() => (leg.gone ? undefined : new Promise<void>(() => {})))]);
  host.waits.forget(playbackId);
}
