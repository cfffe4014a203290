import type { Logger } from 'pino';
import type { CallRecordRepository } from '../../persistence/callRecordRepository.js';
import { ignoringGone } from '../ari/AriHttpError.js';
import type { AriBridge, AriChannel, AriClient } from '../ari/types.js';
import type { CallRow } from '../../persistence/schema.js';
import { CAUSE } from './callOutcome.js';
import { OWN_ID_PREFIX, type CallSessionDeps } from './callSessionDeps.js';
import { recordingNames } from './CallRecorder.js';
import type { SessionRegistry } from './createSessionRegistry.js';

export interface ReconcileReport {
  resumed: number;
  finished: number;
  strayChannels: number;
  strayBridges: number;
}

/**
 * Brings the records and Asterisk back in line after a start or reconnect. Events that happened
 * while we were away are lost (Asterisk does not replay them), so Asterisk's channel list is the
 * truth: a call still bridged is taken over and keeps talking; a row whose channels are gone is
 * finished (its end time is when we found out, flagged `reconciled`); a call that was still
 * ringing is ended, since its dial state was lost; our channels and bridges nobody owns are removed.
 */
export async function reconcileCalls(deps: {
  ari: AriClient;
  /** This node's records: SQLite's repository as it is, PostgreSQL's written behind, or any store's (awaited either way). */
  records: {
    listUnfinished(): CallRow[] | Promise<CallRow[]>;
    markAnswered(...args: Parameters<CallRecordRepository['markAnswered']>): void | Promise<void>;
    finish(...args: Parameters<CallRecordRepository['finish']>): void | Promise<void>;
  };
  registry: SessionRegistry;
  logger: Logger;
  clock?: () => number;
  /** Inbound channels created after this moment may be new calls whose StasisStart is still on its way. */
  connectedAt: number;
  recordingStore: CallSessionDeps['recordingStore'];
  onRecordingStopped: (recordingId: number) => void;
  /**
   * Takes the end reports the dialplan has written so far (createEndReportTail.drain): calls that
   * ended while we were away are then finished from their reports, not guessed at.
   */
  drainEndReports?: () => void;
}): Promise<ReconcileReport> {
  const { ari, records, registry, logger } = deps;
  const now = deps.clock ?? Date.now;
  const [channels, bridges] = await Promise.all([ari.channels.list(), ari.bridges.list()]);
  // After the channel list: a call missing from it has run its hangup handler, so its report is on file.
  deps.drainEndReports?.();
  const alive = new Set(channels.map((c) => c.id));
  const report: ReconcileReport = { resumed: 0, finished: 0, strayChannels: 0, strayBridges: 0 };
  const quietly = (request: Promise<void>): Promise<void> => ignoringGone(request, (err) => logger.warn({ err }, 'reconcile cleanup failed'));

  registry.sweep(alive);
  /** A recording of a call that ended while we were away: hand it on if Asterisk stored it, else it is missing. */
  const settleRecording = async (callId: number): Promise<void> => {
    const active = deps.recordingStore.activeForCall(callId);
    if (!active) return;
    const names = recordingNames(callId, active.channels);
    const stored = await Promise.all(names.map((n) => ari.recordings.getStored(n).catch(() => null)));
    if (stored.every(Boolean)) {
      deps.recordingStore.stopped(active.id, now());
      deps.onRecordingStopped(active.id);
    } else {
      deps.recordingStore.missing(active.id, 'the call ended while the router was down and Asterisk has no stored recording');
    }
  };

  const claimed = new Set<string>();
  const unfinished = await records.listUnfinished();
  for (let row of unfinished) {
    if (registry.ownsChannel(row.inboundChannelId) && !row.dialplanHandOff) continue;
    const inboundAlive = alive.has(row.inboundChannelId);
    if (row.dialplanHandOff) {
      // The dialplan carries the call on by itself and reports its end to the report file: follow
      // it while it is up; once gone, its report (if any) was read by the drain above.
      if (alive.has(row.inboundChannelId)) {
        registry.resumeHandOff(row);
        claimed.add(row.inboundChannelId);
        report.resumed += 1;
        continue;
      }
      // Its end report, had the hangup handler written one, was taken by the drain above.
      await registry.settleHandOff(row);
      report.finished += 1;
      logger.info({ callId: row.id }, 'finished handed-off call that ended with no end report');
      continue;
    }
    // Answered by Asterisk in the moment before the router could write it: the call is talking, keep it.
    const unseenLeg = row.answeredAt === null && inboundAlive ? legAnsweredUnseen(row, channels, bridges) : null;
    if (unseenLeg) {
      const answeredAt = now();
      await records.markAnswered(row.id, answeredAt, { outboundChannelId: unseenLeg, destination: row.destination ?? '' });
      row = { ...row, answeredAt, outboundChannelId: unseenLeg };
    }
    const outboundAlive = row.outboundChannelId !== null && alive.has(row.outboundChannelId);
    if (inboundAlive && outboundAlive && row.answeredAt !== null) {
      registry.resume(row, unseenLeg !== null);
      for (const id of [row.inboundChannelId, row.outboundChannelId, row.bridgeId]) if (id) claimed.add(id);
      report.resumed += 1;
      logger.info({ callId: row.id, answeredUnseen: unseenLeg !== null }, 'resumed bridged call after restart');
      continue;
    }
    // One leg (or both) is gone, or the call never got past ringing: end what is left.
    if (outboundAlive && row.outboundChannelId) await quietly(ari.channels.hangup(row.outboundChannelId, { reason: 'normal' }));
    if (inboundAlive) await quietly(ari.channels.hangup(row.inboundChannelId, { reasonCode: row.answeredAt === null ? CAUSE.noCircuit : CAUSE.normalClearing }));
    if (row.bridgeId) await quietly(ari.bridges.destroy(row.bridgeId));
    await settleRecording(row.id);
    await records.finish(row.id, {
      disposition: row.answeredAt !== null ? 'answered' : 'failed',
      sipCode: row.answeredAt !== null ? 200 : inboundAlive ? 503 : null,
      hangupCause: null,
      endedBy: 'system',
      answeredAt: row.answeredAt,
      endedAt: now(),
      reconciled: true,
      reconciledReason: inboundAlive || outboundAlive ? 'the router restarted and the call had lost a leg or was still ringing' : 'the router restarted after the call ended',
    });
    report.finished += 1;
    logger.info({ callId: row.id, inboundAlive, outboundAlive, answeredAt: row.answeredAt, outbound: row.outboundChannelId }, 'finished call record left by a restart');
  }

  for (const channel of channels) {
    if (claimed.has(channel.id) || registry.ownsChannel(channel.id)) continue;
    const ours =
      channel.id.startsWith(OWN_ID_PREFIX) ||
      (channel.dialplan.app_name === 'Stasis' && (channel.dialplan.app_data ?? '').startsWith(`${ari.app},`) && Date.parse(channel.creationtime) < deps.connectedAt - 1000);
    if (!ours) continue;
    await quietly(ari.channels.hangup(channel.id, { reasonCode: CAUSE.noCircuit }));
    report.strayChannels += 1;
  }
  for (const bridge of bridges) {
    if (claimed.has(bridge.id) || !bridge.id.startsWith(OWN_ID_PREFIX)) continue;
    if (bridge.channels.some((id) => registry.ownsChannel(id))) continue;
    await quietly(ari.bridges.destroy(bridge.id));
    report.strayBridges += 1;
  }
  return report;
}

/**
 * The leg of a call answered after the router's last write, or null. A single destination is
 * bridged with the caller before it answers (for early media), and Asterisk answers the caller
 * itself when the destination's answer passes through the bridge: a router stopped between that
 * and its own write leaves a row with no answer whose caller and leg are both up in its bridge.
 */
function legAnsweredUnseen(row: CallRow, channels: readonly AriChannel[], bridges: readonly AriBridge[]): string | null {
  const bridge = row.bridgeId === null ? undefined : bridges.find((b) => b.id === row.bridgeId);
  if (!bridge?.channels.includes(row.inboundChannelId)) return null;
  const others = bridge.channels.filter((id) => id !== row.inboundChannelId);
  const [legId] = others;
  if (others.length !== 1 || legId === undefined || !legId.startsWith(OWN_ID_PREFIX)) return null;
  const isUp = (id: string): boolean => channels.some((c) => c.id === id && c.state === 'Up');
  return isUp(row.inboundChannelId) && isUp(legId) ? legId : null;
}
