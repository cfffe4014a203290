import type { Logger } from 'pino';
import { ignoringGone, isRecordingNotActive } from '../ari/AriHttpError.js';
import type { AriClient, RecordingEvent } from '../ari/types.js';

export type RecordingLayout = 'mixed' | 'dual';

/** What the recorder needs from persistence (injected; see recordingRepository). */
export interface RecordingStorePort {
  insert(r: { callId: number; accountId: number | null; channels: RecordingLayout; asteriskNames: string[]; startedAt: number; kind?: 'call' | 'voicemail' }): number;
  stopped(id: number, stoppedAt: number): void;
  missing(id: number, reason: string): void;
}

export interface CallRecorderDeps {
  ari: AriClient;
  store: RecordingStorePort;
  logger: Logger;
  clock: () => number;
  /** Routes events of a snoop channel to the owning session. */
  track: (channelId: string) => void;
  /** The recording is complete on Asterisk's disk: hand it to the media pipeline. */
  onStopped: (recordingId: number) => void;
}

/** App args of snoop channels: `snoop,<call record id>`. */
export const SNOOP_ARG = 'snoop';
/** How long stop() waits for RecordingFinished before looking the file up. */
const FINISH_WAIT_MS = 3_000;

/** Snoop channel ids are derived from the call record, so a restarted router can claim them again. */
export function snoopChannelId(callId: number, index: number): string {
  return `cr-snoop-${callId}-${index}`;
}

export function recordingNames(callId: number, layout: RecordingLayout): string[] {
  return layout === 'mixed' ? [`call-${callId}`] : [`call-${callId}-caller`, `call-${callId}-answered`];
}

/**
 * Records a connected call without touching its bridge: a two-party bridge stays a cheap
 * `simple_bridge`, while a bridge recording would join a third party and force softmix mixing
 * (+23 % Asterisk CPU, the earliest failures under load; see notes). Instead a snoop channel
 * hears the legs (an audiohook, like MixMonitor) and is recorded:
 * - mixed: one snoop on the caller's leg, `spy=both` (what the caller says and hears);
 * - dual: `spy=in` on each leg (caller, answering party), merged to stereo by the transcoder.
 */
export class CallRecorder {
  recordingId: number | null = null;
  readonly names: string[];
  readonly snoopIds: string[];
  private readonly finished = new Set<string>();
  /** Names Asterisk accepted a record request for; only those can finish. */
  private readonly started = new Set<string>();
  private readonly failed = new Map<string, string>();
  private readonly snoopWaiters = new Map<string, () => void>();
  private readonly finishWaiters = new Set<() => void>();
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly deps: CallRecorderDeps,
    private readonly callId: number,
    private readonly layout: RecordingLayout,
  ) {
    this.names = recordingNames(callId, layout);
    this.snoopIds = this.names.map((_, i) => snoopChannelId(callId, i));
  }

  /** Takes over a recording that was running when the router restarted. */
  static resume(deps: CallRecorderDeps, callId: number, layout: RecordingLayout, recordingId: number): CallRecorder {
    const r = new CallRecorder(deps, callId, layout);
    r.recordingId = recordingId;
    for (const n of r.names) r.started.add(n);
    for (const id of r.snoopIds) deps.track(id);
    return r;
  }

  /** Starts recording the connected legs. `isOver` is checked after every await. */
  async start(legs: { caller: string; answered: string; accountId: number | null }, isOver: () => boolean): Promise<void> {
    const { ari, store } = this.deps;
    this.recordingId = store.insert({
      callId: this.callId,
      accountId: legs.accountId,
      channels: this.layout,
      asteriskNames: this.names,
      startedAt: this.deps.clock(),
    });
    const plan =
      this.layout === 'mixed'
        ? [{ leg: legs.caller, spy: 'both' as const }]
        : [
            { leg: legs.caller, spy: 'in' as const },
            { leg: legs.answered, spy: 'in' as const },
          ];
    await Promise.all(
      plan.map(async ({ leg, spy }, i) => {
        const snoopId = this.snoopIds[i] as string;
        const name = this.names[i] as string;
        this.deps.track(snoopId);
        // The snoop's StasisStart can arrive before the response: listen first.
        const inStasis = new Promise<void>((resolve) => this.snoopWaiters.set(snoopId, resolve));
        await ari.channels.snoop(leg, { spy, app: ari.app, appArgs: `${SNOOP_ARG},${this.callId}`, snoopId });
        await inStasis;
        if (isOver()) return;
        await ari.channels.record(snoopId, { name, format: 'wav', ifExists: 'overwrite' });
        this.started.add(name);
      }),
    );
  }

  onSnoopStasisStart(channelId: string): void {
    this.snoopWaiters.get(channelId)?.();
    this.snoopWaiters.delete(channelId);
  }

  handle(event: RecordingEvent): void {
    if (!this.names.includes(event.recording.name)) return;
    if (event.type === 'RecordingStarted') this.started.add(event.recording.name);
    if (event.type === 'RecordingFinished') this.finished.add(event.recording.name);
    if (event.type === 'RecordingFailed') this.failed.set(event.recording.name, event.recording.cause ?? 'recording failed');
    if (event.type !== 'RecordingStarted') for (const wake of [...this.finishWaiters]) wake();
  }

  /**
   * Mutes or unmutes every recording of the call (a recording pause): Asterisk writes silence into
   * the files meanwhile, so the paused span keeps its length, and the call's own audio is untouched.
   * False when nothing is being recorded yet (not answered) or any more.
   */
  async setMuted(muted: boolean): Promise<boolean> {
    const live = this.names.filter((n) => this.started.has(n) && !this.finished.has(n) && !this.failed.has(n));
    if (this.stopping || live.length === 0) return false;
    await Promise.all(live.map((name) => this.deps.ari.recordings.muteLive(name, muted)));
    return true;
  }

  /**
   * Stops the recordings (before the call's bridge goes: destroying it first lost
   * RecordingFinished), waits for them to be finished on disk, hangs up the snoops, and hands
   * the recording on, or marks it missing. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const { ari, store, logger } = this.deps;
    // Unblock a start() still waiting for a snoop that will never come.
    for (const wake of this.snoopWaiters.values()) wake();
    if (this.recordingId === null) return;
    const stoppedAt = this.deps.clock();
    await Promise.all(
      this.names.map(async (name) => {
        try {
          await ari.recordings.stopLive(name);
        } catch (err) {
          // 404 / 409 "not in session": it already ended (the snooped leg hung up) or never started.
          if (!isRecordingNotActive(err)) logger.warn({ err, recording: name }, 'stopping recording failed');
        }
      }),
    );
    await this.waitFinished(FINISH_WAIT_MS);
    const problems: string[] = [];
    for (const name of this.names) {
      if (this.failed.has(name)) {
        problems.push(`${name}: ${this.failed.get(name)}`);
        continue;
      }
      if (this.finished.has(name)) continue;
      if (!this.started.has(name)) {
        problems.push(`${name}: never started (the call ended or Asterisk refused it)`);
        continue;
      }
      // RecordingFinished can be lost; the stored recording is the truth.
      const stored = await ari.recordings.getStored(name).catch(() => null);
      if (!stored) problems.push(`${name}: not found in Asterisk's recordings`);
    }
    await Promise.all(
      this.snoopIds.map((id) =>
        ignoringGone(ari.channels.hangup(id, { reason: 'normal' }), (err) => logger.warn({ err, channel: id }, 'snoop hangup failed')),
      ),
    );
    if (problems.length > 0) {
      logger.warn({ recordingId: this.recordingId, problems }, 'recording missing');
      store.missing(this.recordingId, problems.join('; '));
      return;
    }
    store.stopped(this.recordingId, stoppedAt);
    this.deps.onStopped(this.recordingId);
  }

  private waitFinished(timeoutMs: number): Promise<void> {
    const done = (): boolean => [...this.started].every((n) => this.finished.has(n) || this.failed.has(n));
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.finishWaiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (done()) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.finishWaiters.add(check);
    });
  }
}
