import { isChannelGone } from '../../ari/AriHttpError.js';
import type { CallStepHost } from './callStepHost.js';

/**
 * The recording announcement, heard by the caller only: played as early media (183) while the
 * destination is already being dialed; the caller joins the bridge when it ends. A failure to
 * play it is logged and the call goes on without it.
 */
export class CallerAnnouncement {
  /** The announcement is playing to the caller; the caller joins the bridge when it ends. */
  playing = false;
  /** Resolves when the announcement has ended (at once for a call without one). */
  done: Promise<void> = Promise.resolve();
  private playbackId: string | null = null;
  private end: () => void = () => {};

  /** The call has an announcement: from now, `done` waits for it. */
  expect(playbackId: string): void {
    this.playing = true;
    this.playbackId = playbackId;
    this.done = new Promise((resolve) => (this.end = resolve));
  }

  async play(host: CallStepHost, media: string): Promise<void> {
    const { ari } = host.deps;
    try {
      await ari.channels.progress(host.inboundId);
      await ari.channels.play(host.inboundId, { media, playbackId: this.playbackId as string });
    } catch (err) {
      if (isChannelGone(err)) throw err;
      host.log.warn({ err, media }, 'announcement could not be played');
      void this.finished(host);
    }
  }

  isPlayback(playbackId: string): boolean {
    return playbackId === this.playbackId;
  }

  /** The announcement ended (or could not be played). */
  async finished(host: CallStepHost): Promise<void> {
    if (!this.playing) return;
    this.playing = false;
    // A single early-media leg already waits in the bridge: the caller joins it now.
    if (!host.isOver && host.legWaitingInBridge() && !host.inboundBridged) {
      host.inboundBridged = true;
      try {
        await host.track(host.deps.ari.bridges.addChannel(host.bridgeId, [host.inboundId]));
      } catch (err) {
        this.end();
        return host.failSetup(err, 'bridging the caller failed');
      }
    }
    this.end();
  }

  /** The call is ending: nobody waits for the announcement any longer. */
  release(): void {
    this.end();
  }
}
