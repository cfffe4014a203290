import { isChannelGone } from '../../ari/AriHttpError.js';
import type { RecordingEvent } from '../../ari/types.js';
import { CallRecorder, type CallRecorderDeps, type RecordingLayout } from '../CallRecorder.js';
import type { OutboundLeg } from '../OutboundLeg.js';
import type { CallStepHost } from './callStepHost.js';

/**
 * A call's recording, as the session controls it: started with the answer (the layout the number
 * asks for), taken over after a restart, paused and resumed on request, stopped first at release.
 * The recording itself (snoop channels, Asterisk's files, the stored row) is CallRecorder's.
 */
export class RecordingControl {
  /** What the number asks for (null: the call is not recorded). */
  layout: RecordingLayout | null = null;
  private recorder: CallRecorder | null = null;

  /** `recorderDeps` is asked when a recorder is made, so it logs with the call's logger of then. */
  constructor(private readonly recorderDeps: () => CallRecorderDeps) {}

  /** Takes over the recording that was running when the router restarted. */
  resume(callId: number, active: { id: number; channels: RecordingLayout }): void {
    this.layout = active.channels;
    this.recorder = CallRecorder.resume(this.recorderDeps(), callId, active.channels, active.id);
  }

  async start(host: CallStepHost, leg: OutboundLeg, recordId: number, layout: RecordingLayout): Promise<void> {
    this.recorder = new CallRecorder(this.recorderDeps(), recordId, layout);
    try {
      // Not tracked as in-flight: release() stops the recorder itself, which unblocks start().
      await this.recorder.start({ caller: host.inboundId, answered: leg.id, accountId: host.accountId }, () => host.isOver);
    } catch (err) {
      if (host.isOver || isChannelGone(err)) return;
      // The call goes on unrecorded; stop() marks the recording missing with the reason.
      host.log.error({ err }, 'starting the recording failed');
    }
  }

  /** A pause (or its end): false when the call is not being recorded. */
  async setMuted(muted: boolean): Promise<boolean> {
    if (!this.recorder) return false;
    return this.recorder.setMuted(muted);
  }

  onSnoopStasisStart(channelId: string): void {
    this.recorder?.onSnoopStasisStart(channelId);
  }

  handle(event: RecordingEvent): void {
    this.recorder?.handle(event);
  }

  /** Stopped and finished on disk (release does this before any leg or the bridge goes). */
  async stop(): Promise<void> {
    if (this.recorder) await this.recorder.stop();
  }
}
