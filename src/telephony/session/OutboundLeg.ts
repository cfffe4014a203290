import type { Logger } from 'pino';
import { ignoringGone } from '../ari/AriHttpError.js';
import type { AriClient, AriEvent } from '../ari/types.js';
import { endEventCause } from '../ari/endEventCause.js';
import { TIMED_OUT, withinMs } from '../../withinMs.js';

/** How a dialed leg ended its ringing: answered, or why not. */
export type LegOutcome =
  | { kind: 'answered' }
  | { kind: 'failed'; dialStatus: string | null; cause: number | null; timedOut: boolean };

export interface OutboundLegDeps {
  ari: AriClient;
  logger: Logger;
  clock: () => number;
}

/** How long a created leg may take to enter Stasis before it counts as failed. */
const STASIS_WAIT_MS = 5_000;

/**
 * One destination leg: created in Stasis (so it can be bridged before answer for early media),
 * dialed, watched until it answers or fails. Its outcome settles exactly once.
 */
export class OutboundLeg {
  readonly outcome: Promise<LegOutcome>;
  gone = false;
  answered = false;
  inBridge = false;
  private settle!: (o: LegOutcome) => void;
  private settled = false;
  private inStasis!: () => void;
  private readonly stasis: Promise<void>;
  private dialStatus: string | null = null;
  private cause: number | null = null;
  private dialStartedAt = 0;
  private ringTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: OutboundLegDeps,
    readonly id: string,
    readonly target: string,
    readonly endpoint: string,
    readonly ringTimeoutSeconds: number,
  ) {
    this.outcome = new Promise((resolve) => (this.settle = resolve));
    this.stasis = new Promise((resolve) => (this.inStasis = resolve));
  }

  /** POST /channels/create: the leg enters Stasis before it is dialed. */
  async create(p: { app: string; inboundId: string; callerIdNumber: string | null }): Promise<void> {
    await this.deps.ari.channels.create({
      endpoint: this.endpoint,
      app: p.app,
      appArgs: `dialed,${p.inboundId}`,
      channelId: this.id,
      originator: p.inboundId,
      // chan_pjsip builds an outgoing INVITE's From from the channel's connected line (for a
      // dialed leg, the party it connects to: our caller), so set both.
      variables: p.callerIdNumber ? { 'CONNECTEDLINE(num)': p.callerIdNumber, 'CALLERID(num)': p.callerIdNumber } : {},
    });
  }

  onStasisStart(): void {
    this.inStasis();
  }

  /** Resolves once the leg is in Stasis (bridging it earlier gets 422); false when it never came. */
  async waitStasis(): Promise<boolean> {
    const came = (await withinMs(this.stasis, STASIS_WAIT_MS)) !== TIMED_OUT;
    return came && !this.gone;
  }

  async dial(): Promise<void> {
    this.dialStartedAt = this.deps.clock();
    // Backstop for the dial timeout Asterisk enforces itself.
    this.ringTimer = setTimeout(() => {
      if (this.settled) return;
      this.deps.logger.info({ leg: this.id, ringTimeoutSeconds: this.ringTimeoutSeconds }, 'ring timeout');
      this.finish({ kind: 'failed', dialStatus: 'NOANSWER', cause: null, timedOut: true });
      void this.hangup();
    }, (this.ringTimeoutSeconds + 2) * 1000);
    await this.deps.ari.channels.dial(this.id, { timeout: this.ringTimeoutSeconds });
  }

  handle(event: AriEvent): void {
    switch (event.type) {
      case 'ChannelStateChange':
        if (event.channel.state === 'Up' && !this.settled) {
          this.answered = true;
          this.finish({ kind: 'answered' });
        }
        return;
      case 'Dial':
        if (event.dialstatus && !['RINGING', 'PROGRESS', 'ANSWER'].includes(event.dialstatus)) this.dialStatus = event.dialstatus;
        return;
      case 'ChannelHangupRequest':
      case 'ChannelDestroyed':
      case 'StasisEnd':
        if (event.type === 'ChannelDestroyed' || event.type === 'StasisEnd') this.gone = true;
      {
        this.cause ??= endEventCause(event);
        // Asterisk's own dial timeout ends the leg without a NOANSWER we can rely on.
        const timedOut = this.dialStartedAt > 0 && this.deps.clock() - this.dialStartedAt >= this.ringTimeoutSeconds * 1000 - 250;
        this.finish({ kind: 'failed', dialStatus: this.dialStatus, cause: this.cause, timedOut });
        return;
      }
      default:
        return;
    }
  }

  /** The leg failed before it could ring (a request refused): it ends now. */
  fail(): void {
    this.finish({ kind: 'failed', dialStatus: 'CHANUNAVAIL', cause: null, timedOut: false });
  }

  /** Hang up (cancels a ringing leg); a leg already gone is fine. */
  async hangup(): Promise<void> {
    clearTimeout(this.ringTimer);
    if (this.gone) return;
    await ignoringGone(this.deps.ari.channels.hangup(this.id, { reason: 'normal' }), (err) =>
      this.deps.logger.warn({ err, leg: this.id }, 'hangup destination failed'),
    );
  }

  /** The Q.850 cause the leg ended with, once known. */
  get endCause(): number | null {
    return this.cause;
  }

  private finish(o: LegOutcome): void {
    if (this.settled) return;
    this.settled = true;
    if (o.kind === 'answered' || this.gone) clearTimeout(this.ringTimer);
    this.settle(o);
  }
}
