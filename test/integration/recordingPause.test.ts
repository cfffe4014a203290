/**
 * The recording pause API over the real app and a SQLite file; telephony is the injected control
 * (the call-flow suite pauses real calls): what each answer means, and the spans the record keeps.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/buildApp.js';
import { createLogger } from '../../src/logging/createLogger.js';
import type { Store } from '../../src/persistence/store.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';

const ADMIN = 'pause-test-admin-token-0123456789abcd';
const admin = { authorization: `Bearer ${ADMIN}` };

const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('recordingPause on %s', (_dialect, open) => {
  let store: Store;
  let app: FastifyInstance;
  let clock = Date.parse('2026-12-06T12:00:00Z');
  let answer: 'done' | 'not-found' | 'not-recorded' = 'done';
  const asked: Array<[number, boolean]> = [];

  beforeEach(async () => {
    store = await open();
    answer = 'done';
    asked.length = 0;
    app = buildApp({
      store,
      logger: createLogger('silent'),
      adminToken: ADMIN,
      defaultCountryCode: '1',
      telephonyStatus: () => ({ ari: 'connected', activeCalls: 1 }),
      now: () => clock,
      recordingControl: async (callId, paused) => {
        asked.push([callId, paused]);
        return answer;
      },
    });
  });

  afterEach(async () => {
    await app.close();
    await store.close();
  });

  async function insertCall(accountId: number, finished: boolean): Promise<number> {
    return (await insertRow(store, 'calls', { accountId, did: '+15551230000', callerNumber: '+15559876543', arrivedAt: clock, inboundChannelId: `c-${Math.random()}`, finished })).id;
  }

  describe('pausing the recording of a call in progress', () => {
    it('pauses and resumes, once each, and the record lists the span', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'A' } })).json().id;
      const id = await insertCall(a, false);
      const pause = await app.inject({ method: 'POST', url: `/v1/calls/${id}/recording/pause`, headers: admin });
      expect(pause.json()).toEqual({ callId: id, paused: true, pauses: [{ pausedAt: new Date(clock).toISOString(), resumedAt: null }] });
      // Already paused: nothing more is asked of telephony.
      await app.inject({ method: 'POST', url: `/v1/calls/${id}/recording/pause`, headers: admin });
      clock += 2500;
      const resume = await app.inject({ method: 'POST', url: `/v1/calls/${id}/recording/resume`, headers: admin });
      expect(resume.json().pauses).toEqual([{ pausedAt: new Date(clock - 2500).toISOString(), resumedAt: new Date(clock).toISOString() }]);
      expect(asked).toEqual([
        [id, true],
        [id, false],
      ]);
      const call = (await app.inject({ method: 'GET', url: `/v1/calls/${id}`, headers: admin })).json();
      expect(call.recordingPauses).toHaveLength(1);
    });

    it('answers 409 for a call that has ended or is not recorded, 404 for one that does not exist', async () => {
      const a = (await app.inject({ method: 'POST', url: '/v1/accounts', headers: admin, payload: { name: 'A' } })).json().id;
      const ended = await insertCall(a, true);
      const res = await app.inject({ method: 'POST', url: `/v1/calls/${ended}/recording/pause`, headers: admin });
      expect([res.statusCode, res.json().error.code]).toEqual([409, 'CR_ERR_CALL_ENDED']);
      const live = await insertCall(a, false);
      answer = 'not-recorded';
      const unrecorded = await app.inject({ method: 'POST', url: `/v1/calls/${live}/recording/pause`, headers: admin });
      expect([unrecorded.statusCode, unrecorded.json().error.code]).toEqual([409, 'CR_ERR_NOT_RECORDING']);
      answer = 'not-found';
      expect((await app.inject({ method: 'POST', url: `/v1/calls/${live}/recording/pause`, headers: admin })).json().error.code).toBe('CR_ERR_CALL_ENDED');
      expect((await app.inject({ method: 'POST', url: '/v1/calls/999/recording/pause', headers: admin })).statusCode).toBe(404);
      expect((await allRows(store, 'calls')).every((c) => c.recordingPauses === null)).toBe(true);
    });
  });
});
