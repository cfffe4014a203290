/**
 * How long the end waits for the ChannelDestroyed of the leg that ended the call: its cause says
 * why (44: a media timeout), and a soft hangup request before it carries none. Milliseconds after
 * the hang-up in practice; the bound only covers an event that never comes.
 */
const ENDING_CAUSE_WAIT_MS = 1_000;

/** A call's channels whose ChannelDestroyed came, and the release waiting for one of them. */
export class DestroyedChannels {
  private readonly seen = new Set<string>();
  private waiter: { channelId: string; wake: () => void } | null = null;

  destroyed(channelId: string): void {
    this.seen.add(channelId);
    if (this.waiter?.channelId === channelId) this.waiter.wake();
  }

  /** Resolves once the channel's ChannelDestroyed came, or after ENDING_CAUSE_WAIT_MS. */
  until(channelId: string): Promise<void> {
    if (this.seen.has(channelId)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ENDING_CAUSE_WAIT_MS);
      timer.unref();
      this.waiter = {
        channelId,
        wake: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}
