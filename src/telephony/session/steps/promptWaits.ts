/**
 * A call's waits on its prompts: a playback (whisper, screening prompt, voicemail greeting) to
 * finish, and a digit from the answering party. The session routes PlaybackFinished and
 * ChannelDtmfReceived here, and wakes every wait when the call ends.
 */
export class PromptWaits {
  private readonly playbackWaiters = new Map<string, () => void>();
  private readonly dtmfWaiters = new Map<string, (digit: string) => void>();

  /** Resolves when the playback with this id finishes (or the call ends). */
  untilPlayed(playbackId: string): Promise<void> {
    return new Promise<void>((resolve) => this.playbackWaiters.set(playbackId, resolve));
  }

  forget(playbackId: string): void {
    this.playbackWaiters.delete(playbackId);
  }

  /** The digit the channel sends next, or null after `timeoutMs`. */
  nextDigit(channelId: string, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.dtmfWaiters.delete(channelId);
        resolve(null);
      }, timeoutMs);
      this.dtmfWaiters.set(channelId, (digit) => {
        clearTimeout(timer);
        this.dtmfWaiters.delete(channelId);
        resolve(digit);
      });
    });
  }

  playbackFinished(playbackId: string): void {
    this.playbackWaiters.get(playbackId)?.();
  }

  digitReceived(channelId: string, digit: string): void {
    this.dtmfWaiters.get(channelId)?.(digit);
  }

  /** The call is ending: nothing waited for will come now. */
  wakeAll(): void {
    for (const wake of this.playbackWaiters.values()) wake();
    for (const wake of this.dtmfWaiters.values()) wake('');
  }
}
