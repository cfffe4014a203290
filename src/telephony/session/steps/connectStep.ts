import type { OutboundLeg } from '../OutboundLeg.js';
import type { CallStepHost } from './callStepHost.js';
import type { RecordingControl } from './recordingControl.js';

/** Bridges the caller with the leg that took the call, answers the caller, starts recording. */
export async function connectStep(host: CallStepHost, leg: OutboundLeg, recording: RecordingControl): Promise<void> {
  host.log.info({ leg: leg.id, target: leg.target, announcementPlaying: host.announcement.playing }, 'destination answered');
  await host.announcement.done;
  await host.bridgeCreated.catch(() => undefined);
  if (host.isOver) return;
  const joining = [...(leg.inBridge ? [] : [leg.id]), ...(host.inboundBridged ? [] : [host.inboundId])];
  try {
    if (joining.length > 0) await host.track(host.deps.ari.bridges.addChannel(host.bridgeId, joining));
    leg.inBridge = true;
    host.inboundBridged = true;
  } catch (err) {
    return host.failSetup(err, 'bridging the call failed');
  }
  await answerCaller(host, leg, recording);
}

/** Answers the caller (already in the bridge with the destination) and starts recording. */
async function answerCaller(host: CallStepHost, leg: OutboundLeg, recording: RecordingControl): Promise<void> {
  if (host.callerConnected || host.isOver) return;
  host.callerAnswered({ outboundChannelId: leg.id, destination: leg.target });
  const answering = host.track(host.deps.ari.channels.answer(host.inboundId));
  // The recording starts together with the answer, not one round trip after it, so it covers the
  // whole talk time even when Asterisk is slow to respond.
  const { layout } = recording;
  const started = layout !== null && host.recordId !== null ? recording.start(host, leg, host.recordId, layout) : undefined;
  try {
    await answering;
  } catch (err) {
    return host.failSetup(err, 'answering the caller failed');
  }
  await started;
}
