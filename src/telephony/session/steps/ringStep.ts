import { isChannelGone } from '../../ari/AriHttpError.js';
import type { OutboundLeg } from '../OutboundLeg.js';
import { attemptResult, type ProgramAction, type RouteProgram } from '../routeProgram.js';
import type { CallStepHost } from './callStepHost.js';

/**
 * Rings a step's destinations at once (one of them: sequential) while the caller hears ringing;
 * resolves with the leg that answered, or null when none did. The others are cancelled, and each
 * leg's result is noted for the record and the plan's next step.
 */
export async function ringStep(host: CallStepHost, action: Extract<ProgramAction, { kind: 'ring' }>, program: RouteProgram): Promise<OutboundLeg | null> {
  const { ari } = host.deps;
  const legs = action.destinations.map((d) => host.addLeg(d));
  // Early media only where it cannot mislead: one leg, and nothing to play to it before connecting.
  const early = legs.length === 1 && !program.whisperMedia && !program.screening;
  host.log.info({ step: action.step, destinations: legs.map((l) => l.target) }, 'ringing');
  if (host.recordId !== null) host.deps.records.routed(host.recordId, { step: action.step, destinations: legs.map((l) => l.target) }, host.deps.clock());
  await Promise.all(
    legs.map(async (leg) => {
      try {
        await host.track(leg.create({ app: ari.app, inboundId: host.inboundId, callerIdNumber: program.callerIdNumber }));
        if (!(await leg.waitStasis()) || host.isOver) return leg.fail();
        await host.bridgeCreated;
        if (host.isOver) return leg.fail();
        const joining = early ? (host.announcement.playing ? [leg.id] : [host.inboundId, leg.id]) : [];
        if (early && !host.announcement.playing) host.inboundBridged = true;
        leg.inBridge = early;
        host.log.debug({ leg: leg.id, joining }, 'dialing leg');
        // Bridged before dialing, so the destination's first 180/183 already finds the caller there.
        if (joining.length > 0) await host.track(ari.bridges.addChannel(host.bridgeId, joining));
        if (host.isOver) return leg.fail();
        await host.track(leg.dial());
      } catch (err) {
        if (host.isOver) return;
        if (isChannelGone(err) && !leg.gone && host.inboundGone) return;
        host.log.warn({ err, leg: leg.id, target: leg.target }, 'destination could not be dialed');
        leg.fail();
        await leg.hangup();
      }
    }),
  );
  const winner = await firstAnswer(legs);
  // First to answer wins; the others are cancelled.
  await Promise.all(legs.filter((l) => l !== winner).map((l) => l.hangup()));
  for (const leg of legs) {
    if (leg === winner) continue;
    const outcome = await leg.outcome;
    if (outcome.kind === 'failed') host.legFailed(outcome);
    host.attempted({ step: action.step, target: leg.target, result: winner && legs.length > 1 ? 'cancelled' : attemptResult(outcome) });
    host.dropLeg(leg);
  }
  if (winner) host.attempted({ step: action.step, target: winner.target, result: 'answered' });
  return winner;
}

/** The first leg to answer, or null once every leg has failed. */
function firstAnswer(legs: OutboundLeg[]): Promise<OutboundLeg | null> {
  return new Promise((resolve) => {
    let failed = 0;
    if (legs.length === 0) resolve(null);
    for (const leg of legs) {
      void leg.outcome.then((o) => {
        if (o.kind === 'answered') resolve(leg);
        else if (++failed === legs.length) resolve(null);
      });
    }
  });
}
