import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CallrouteError } from '../../errors.js';
import { getCall, saveRecordingPauses } from '../../persistence/callQueries.js';
import { parseRecordingPauses, recordingPausesView, type RecordingPause } from '../../events/callView.js';
import { idParams, type IdParams } from '../apiSchemas.js';
import { canSeeRow } from '../principal.js';
import type { RouteDeps } from './routeDeps.js';

export const recordingPausesSchema = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    properties: { pausedAt: { type: 'string' }, resumedAt: { type: ['string', 'null'] } },
  },
} as const;

/**
 * POST /v1/calls/:id/recording/pause and /resume, while the call is up: an agent about to take a
 * card number pauses the recording, and resumes it after. The recording writes silence meanwhile
 * (its length and the call's audio are untouched) and the record lists each paused span. Asking for
 * the state the call is already in changes nothing (200).
 */
export function recordingPauseRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { store, now, recordingControl } = deps;

  const change = async (request: FastifyRequest<{ Params: IdParams }>, paused: boolean) => {
    const id = request.params.id;
    const call = await store.run(getCall(id));
    if (!call || !canSeeRow(request, call)) throw new CallrouteError('CR_ERR_NOT_FOUND', `call ${id} not found`, { field: 'params.id' });
    if (call.finished) throw new CallrouteError('CR_ERR_CALL_ENDED', `call ${id} has ended`, { field: 'params.id' });
    const pauses = parseRecordingPauses(call.recordingPauses);
    const isPaused = pauses.at(-1)?.resumedAt === null;
    if (isPaused !== paused) {
      const result = recordingControl ? await recordingControl(id, paused) : 'not-found';
      if (result === 'not-found') throw new CallrouteError('CR_ERR_CALL_ENDED', `call ${id} is not in progress`, { field: 'params.id' });
      if (result === 'not-recorded') throw new CallrouteError('CR_ERR_NOT_RECORDING', `call ${id} is not being recorded now`, { field: 'params.id' });
      const at = now();
      if (paused) pauses.push({ pausedAt: at, resumedAt: null });
      else pauses[pauses.length - 1] = { ...(pauses.at(-1) as RecordingPause), resumedAt: at };
      await store.run(saveRecordingPauses(id, JSON.stringify(pauses)));
      request.log.info({ callId: id, paused }, paused ? 'recording paused' : 'recording resumed');
    }
    return { callId: id, paused, pauses: recordingPausesView(JSON.stringify(pauses)) };
  };

  const schema = {
    params: idParams,
    response: {
      200: {
        type: 'object',
        additionalProperties: false,
        properties: { callId: { type: 'integer' }, paused: { type: 'boolean' }, pauses: recordingPausesSchema },
      },
    },
  };
  app.post<{ Params: IdParams }>('/calls/:id/recording/pause', { config: { permission: 'recordings:pause' }, schema }, (request) => change(request, true));
  app.post<{ Params: IdParams }>('/calls/:id/recording/resume', { config: { permission: 'recordings:pause' }, schema }, (request) => change(request, false));
}
