import { ignoringGone } from '../../ari/AriHttpError.js';
import type { RecordingEvent } from '../../ari/types.js';
import { OWN_ID_PREFIX } from '../callSessionDeps.js';
import type { CallStepHost } from './callStepHost.js';

/**
 * Every step failed and the plan says voicemail: the caller is answered, greeted and recorded
 * until they hang up (or press #). The message is a recording of kind `voicemail` on the call.
 */
export class VoicemailStep {
  /** The message's Asterisk recording name, once the caller is being recorded. */
  name: string | null = null;
  private recordingId: number | null = null;
  private finish: () => void = () => {};

  async run(host: CallStepHost, greetingMedia: string): Promise<void> {
    const { ari } = host.deps;
    if (host.recordId === null) return;
    host.log.info({ greeting: greetingMedia }, 'voicemail');
    try {
      await host.announcement.done;
      await host.bridgeCreated;
      if (host.isOver) return;
      // Asterisk cannot record a channel while it is in a bridge (an early-media ring put it there).
      if (host.inboundBridged) {
        await host.track(ari.bridges.removeChannel(host.bridgeId, [host.inboundId]));
        host.inboundBridged = false;
      }
      host.callerAnswered(null);
      await host.track(ari.channels.answer(host.inboundId));
      if (host.isOver) return;
      const playbackId = `${OWN_ID_PREFIX}play-${host.deps.newId()}`;
      const greeted = host.waits.untilPlayed(playbackId);
      await host.track(ari.channels.play(host.inboundId, { media: greetingMedia, playbackId }));
      await greeted;
      if (host.isOver) return;
      this.name = `vm-${host.recordId}`;
      const finished = new Promise<void>((resolve) => (this.finish = resolve));
      this.recordingId = host.deps.recordingStore.insert({
        callId: host.recordId,
        accountId: host.accountId,
        channels: 'mixed',
        asteriskNames: [this.name],
        startedAt: host.deps.clock(),
        kind: 'voicemail',
      });
      await host.track(ari.channels.record(host.inboundId, { name: this.name, format: 'wav', beep: true, ifExists: 'overwrite', terminateOn: '#' }));
      await finished;
      host.endedBy('caller');
      await host.release();
    } catch (err) {
      await host.failSetup(err, 'voicemail failed');
    }
  }

  /** A recording event: true when it was about the message (which a finish or failure ends). */
  onRecordingEvent(event: RecordingEvent): boolean {
    if (event.recording.name !== this.name) return false;
    if (event.type !== 'RecordingStarted') this.finish();
    return true;
  }

  /** The caller hung up, or the call is ending: the message is complete. */
  end(): void {
    this.finish();
  }

  /** At release: the message stopped and handed to the media pipeline, or marked missing. */
  async stopAtRelease(host: Pick<CallStepHost, 'deps' | 'log'>, endedAt: number): Promise<void> {
    if (this.recordingId === null || !this.name) return;
    const { ari, recordingStore } = host.deps;
    await ignoringGone(ari.recordings.stopLive(this.name), (err) => host.log.warn({ err }, 'stop voicemail failed'));
    const stored = await ari.recordings.getStored(this.name).catch(() => null);
    if (stored) {
      recordingStore.stopped(this.recordingId, endedAt);
      host.deps.onRecordingStopped(this.recordingId);
    } else {
      recordingStore.missing(this.recordingId, 'the voicemail message was not stored');
    }
  }
}
