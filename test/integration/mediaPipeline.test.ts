import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/loadConfig.js';
import { createRecordingPipeline, type RecordingPipeline, type RecordingPipelineDeps } from '../../src/media/createMediaJobQueue.js';
import { probeMedia } from '../../src/media/probeMedia.js';
import { isEncryptedFile, readRecordingPlaintext } from '../../src/media/recordingCipher.js';
import { createHash } from 'node:crypto';
import {
  claimNextMediaJob,
  enqueueMediaJob,
  getRecording,
  insertRecording,
  listMediaJobsForRecording,
  listRecordingsForCall,
  markRecordingStopped,
} from '../../src/persistence/recordingRepository.js';
import { type RecordingChannels } from '../../src/persistence/schema.js';
import { analyzeAudio, sineSamples, wavFromSamples } from '../callflow/harness/audioAnalysis.js';
import { affected, type Store } from '../../src/persistence/store.js';
import { allRows, insertRow } from '../support/storeRows.js';
import { waitFor } from '../callflow/harness/waitFor.js';
import { storesOfBothDialects, usePostgresDatabases } from '../support/postgresDatabases.js';


const databases = usePostgresDatabases();

describe.each(storesOfBothDialects(databases))('the recording pipeline on %s', (_dialect, open) => {
  let store: Store;
  let work: string;
  let pipelines: RecordingPipeline[];
  const key = randomBytes(32);

  beforeEach(async () => {
    store = await open();
    work = mkdtempSync(join(tmpdir(), 'media-pipeline-'));
    mkdirSync(join(work, 'ast/var/spool/asterisk/recording'), { recursive: true });
    pipelines = [];
  });
  afterEach(async () => {
    for (const p of pipelines) await p.stop();
    await store.close();
    rmSync(work, { recursive: true, force: true });
  });

  function recordingsConfig(over: Partial<Config['recordings']> = {}): Pick<Config, 'recordings'> {
    return {
      recordings: {
        dir: join(work, 'rec'),
        asteriskRoot: join(work, 'ast'),
        format: 'mp3',
        keepWav: false,
        transcodeConcurrency: 1,
        transcodeTimeoutSeconds: 60,
        transcodeMaxDeferSeconds: 120,
        ffmpegPath: null,
        keys: new Map([['k1', key]]),
        activeKeyId: null,
        linkSecret: 'x',
        linkTtlSeconds: 60,
        publicBaseUrl: 'http://localhost',
        ...over,
      },
    };
  }

  function pipeline(config: Pick<Config, 'recordings'>, options: RecordingPipelineDeps['options'] = {}): RecordingPipeline {
    const p = createRecordingPipeline({ store, config, logger: pino({ level: 'silent' }), options: { retryDelayMs: 10, wavSettleMs: 300, ...options } });
    pipelines.push(p);
    return p;
  }

  const ARRIVED = Date.UTC(2026, 2, 14, 10, 30);

  async function newCall(): Promise<{ callId: number; accountId: number }> {
    const accountId = (await insertRow(store, 'accounts', { name: 'Acme', createdAt: 1, updatedAt: 1 })).id;
    const callId = (await insertRow(store, 'calls', { accountId, did: '+15551230000', arrivedAt: ARRIVED, inboundChannelId: `in-${randomBytes(4).toString('hex')}` })).id;
    return { callId, accountId };
  }

  function spoolWav(name: string, samples: Float64Array): string {
    const p = join(work, 'ast/var/spool/asterisk/recording', `${name}.wav`);
    writeFileSync(p, wavFromSamples([samples]));
    return p;
  }

  /** A call whose recording Asterisk finished: row 'processing', WAV(s) in the spool. */
  async function stoppedRecording(channels: RecordingChannels = 'mixed', seconds = 2): Promise<{ id: number; callId: number; accountId: number; wavs: string[] }> {
    const { callId, accountId } = await newCall();
    const names = channels === 'mixed' ? [`rec-${callId}`] : [`rec-${callId}-in`, `rec-${callId}-out`];
    const wavs = names.map((n, i) => spoolWav(n, sineSamples(i === 0 ? 1000 : 500, seconds)));
    const row = await store.run(insertRecording({ callId, accountId, channels, asteriskNames: names, startedAt: ARRIVED + 5000 }), { transaction: true });
    expect(await callStatus(callId)).toBe('recording');
    expect(await store.run(markRecordingStopped(row.id, ARRIVED + 5000 + seconds * 1000), { transaction: true })).toBe(true);
    expect(await callStatus(callId)).toBe('processing');
    return { id: row.id, callId, accountId, wavs };
  }

  async function callStatus(callId: number): Promise<string | undefined> {
    return (await allRows(store, 'calls')).find((c) => c.id === callId)?.recordingStatus;
  }

  /** An ffmpeg stand-in: logs start/end (ns) and pid, optionally sleeps or fails, then runs the real one. */
  function wrapper(name: string, body: string): string {
    const p = join(work, name);
    writeFileSync(p, `#!/bin/bash\nLOG=${join(work, `${name}.log`)}\n${body}\n`);
    chmodSync(p, 0o755);
    return p;
  }

  function pidAlive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  describe('recording pipeline', () => {
    it('transcodes a mixed recording: file in the account/date layout, facts in the row, call marked ready, WAV deleted', async () => {
      const r = await stoppedRecording('mixed', 2);
      const p = pipeline(recordingsConfig());
      p.start();
      p.enqueue(r.id);
      await p.idle();
      const row = (await store.run(getRecording(r.id)))!;
      expect(row).toMatchObject({
        status: 'ready',
        path: `${r.accountId}/2026/03/14/call-${r.callId}-rec-${r.id}.mp3`,
        format: 'mp3',
        codec: 'mp3',
        contentType: 'audio/mpeg',
        keyId: null,
      });
      expect(Math.abs(row.durationSeconds! - 2)).toBeLessThan(0.05);
      const file = join(work, 'rec', row.path!);
      const bytes = readFileSync(file);
      expect(row.sizeBytes).toBe(bytes.length);
      expect(row.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(await callStatus(r.callId)).toBe('ready');
      expect(existsSync(r.wavs[0]!)).toBe(false);
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'done', attempts: 1 }]);
      expect((await store.run(listRecordingsForCall(r.callId))).map((x) => x.id)).toEqual([r.id]);
    });

    it('queues a stopped recording while the database does not answer once it answers again, and transcodes it', async () => {
      let down = false;
      const flaky: Store = { ...store, run: (work, options) => (down ? Promise.reject(new Error('database restarting')) : store.run(work, options)) } as Store;
      const p = createRecordingPipeline({ store: flaky, config: recordingsConfig(), logger: pino({ level: 'silent' }), options: { retryDelayMs: 10, wavSettleMs: 300 } });
      pipelines.push(p);
      p.start();
      await p.idle();
      // Stopped after the start (which queues what it finds stopped without a job).
      const r = await stoppedRecording('mixed', 1);
      down = true;
      p.enqueue(r.id);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(await store.run(listMediaJobsForRecording(r.id))).toEqual([]);
      down = false;
      await waitFor(async () => (await store.run(getRecording(r.id)))?.status === 'ready', { timeoutMs: 15_000, message: 'the recording transcoded once the database answered' });
    });

    it("a handed-off call's MixMonitor file keeps only its talk time: early media before the answer is cut", async () => {
      const handOff = async (dialplanHandOff: boolean): Promise<{ id: number; callId: number }> => {
        const { callId, accountId } = await newCall();
        await store.run(function* ({ db, t }) {
          yield* affected(db.update(t.calls).set({ dialplanHandOff }).where(eq(t.calls.id, callId)));
        });
        // 3 s of early media (500 Hz) before the answer, then 2 s of talk (the caller's 1 kHz).
        const early = sineSamples(500, 3);
        const talk = sineSamples(1000, 2);
        const samples = new Float64Array(early.length + talk.length);
        samples.set(early);
        samples.set(talk, early.length);
        const name = `cr-${callId}`;
        spoolWav(name, samples);
        const row = await store.run(insertRecording({ callId, accountId, channels: 'mixed', asteriskNames: [name], startedAt: ARRIVED + 8000 }), { transaction: true });
        await store.run(markRecordingStopped(row.id, ARRIVED + 10_000), { transaction: true });
        return { id: row.id, callId };
      };
      const cut = await handOff(true);
      const whole = await handOff(false);
      const p = pipeline(recordingsConfig());
      p.start();
      p.enqueue(cut.id);
      p.enqueue(whole.id);
      await p.idle();
      const cutRow = (await store.run(getRecording(cut.id)))!;
      expect(Math.abs(cutRow.durationSeconds! - 2), `duration ${cutRow.durationSeconds}`).toBeLessThan(0.1);
      const [talk] = (await analyzeAudio(join(work, 'rec', cutRow.path!), { frequencyHz: 1000 })).channels;
      expect(talk!.toneFraction).toBeGreaterThan(0.9);
      // A call the router ran itself records from the answer: its file is kept whole.
      expect(Math.abs((await store.run(getRecording(whole.id)))!.durationSeconds! - 5)).toBeLessThan(0.1);
    });

    it('dual: one stereo file, caller left and answering party right; keepWav keeps the WAVs', async () => {
      const r = await stoppedRecording('dual', 2);
      const p = pipeline(recordingsConfig({ keepWav: true, format: 'opus' }));
      p.start();
      p.enqueue(r.id);
      await p.idle();
      const row = (await store.run(getRecording(r.id)))!;
      expect(row.status).toBe('ready');
      expect(row.path).toMatch(/\.opus$/);
      const file = join(work, 'rec', row.path!);
      const [left] = (await analyzeAudio(file, { frequencyHz: 1000 })).channels;
      const [, right] = (await analyzeAudio(file, { frequencyHz: 500 })).channels;
      expect(left!.toneRatio).toBeGreaterThan(0.98);
      expect(right!.toneRatio).toBeGreaterThan(0.98);
      for (const w of r.wavs) expect(existsSync(w)).toBe(true);
    });

    it('encrypts with the active key: the stored file is not audio, decrypts to audio whose size and SHA-256 are in the row', async () => {
      const r = await stoppedRecording('mixed', 2);
      const p = pipeline(recordingsConfig({ activeKeyId: 'k1' }));
      p.start();
      p.enqueue(r.id);
      await p.idle();
      const row = (await store.run(getRecording(r.id)))!;
      expect(row.status).toBe('ready');
      expect(row.keyId).toBe('k1');
      const file = join(work, 'rec', row.path!);
      expect(await isEncryptedFile(file)).toBe(true);
      await expect(probeMedia('ffprobe', file)).rejects.toMatchObject({ code: 'CR_ERR_MEDIA' });
      const audio = await readRecordingPlaintext(file, new Map([['k1', key]]));
      expect(audio.length).toBe(row.sizeBytes);
      expect(createHash('sha256').update(audio).digest('hex')).toBe(row.sha256);
      // No clear copy left beside it.
      expect(existsSync(`${file}.plain`)).toBe(false);
    });

    it('a WAV that is not there is marked missing with the reason, on the recording and the call', async () => {
      const r = await stoppedRecording('mixed', 1);
      rmSync(r.wavs[0]!);
      const p = pipeline(recordingsConfig());
      p.start();
      p.enqueue(r.id);
      await p.idle();
      const row = (await store.run(getRecording(r.id)))!;
      expect(row.status).toBe('missing');
      expect(row.statusReason).toMatch(/not found.*rec-\d+\.wav/);
      expect(await callStatus(r.callId)).toBe('missing');
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'done' }]);
    });

    it('an empty WAV (no audio frames) is missing too, not an empty MP3', async () => {
      const r = await stoppedRecording('mixed', 1);
      writeFileSync(r.wavs[0]!, wavFromSamples([new Float64Array(0)]));
      const p = pipeline(recordingsConfig());
      p.start();
      p.enqueue(r.id);
      await p.idle();
      expect(await store.run(getRecording(r.id))).toMatchObject({ status: 'missing', statusReason: expect.stringMatching(/empty/) });
    });

    it('waits for a WAV whose header Asterisk has not finalised yet, and gets all of its audio', async () => {
      const r = await stoppedRecording('mixed', 3);
      const full = readFileSync(r.wavs[0]!);
      // As Asterisk leaves it just before closing: header sizes from creation, part of the audio.
      const partial = Buffer.from(full.subarray(0, 44 + 8000));
      partial.writeUInt32LE(36, 4);
      partial.writeUInt32LE(0, 40);
      writeFileSync(r.wavs[0]!, partial);
      setTimeout(() => {
        appendFileSync(r.wavs[0]!, full.subarray(44 + 8000));
        writeFileSync(r.wavs[0]!, full); // header finalised
      }, 400);
      const p = pipeline(recordingsConfig(), { wavSettleMs: 3000 });
      p.start();
      p.enqueue(r.id);
      await p.idle();
      const row = (await store.run(getRecording(r.id)))!;
      expect(row.status).toBe('ready');
      expect(Math.abs(row.durationSeconds! - 3)).toBeLessThan(0.05);
    });

    it('waits while the machine is busy with calls, and starts once it is quiet', async () => {
      const r = await stoppedRecording('mixed', 1);
      let busy = true;
      const p = pipeline(recordingsConfig(), { busy: () => busy, maxDeferMs: 60_000 });
      p.start();
      p.enqueue(r.id);
      await new Promise((res) => setTimeout(res, 1_500));
      expect((await store.run(getRecording(r.id)))!.status).toBe('processing');
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'queued', attempts: 0 }]);
      busy = false;
      await p.idle();
      expect((await store.run(getRecording(r.id)))!.status).toBe('ready');
    });

    it('a machine that stays busy holds jobs back for maxDeferMs at most', async () => {
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig(), { busy: () => true, maxDeferMs: 1_200 });
      const started = Date.now();
      p.start();
      p.enqueue(r.id);
      await p.idle();
      expect((await store.run(getRecording(r.id)))!.status).toBe('ready');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_200);
    });

    it('never runs more jobs at once than transcodeConcurrency', async () => {
      const ff = wrapper('ff-slow', 'echo "start $(date +%s%N)" >> $LOG; sleep 0.25; /usr/bin/ffmpeg "$@"; rc=$?; echo "end $(date +%s%N)" >> $LOG; exit $rc');
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push((await stoppedRecording('mixed', 1)).id);
      const p = pipeline(recordingsConfig({ transcodeConcurrency: 2 }), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' } });
      p.start();
      for (const id of ids) p.enqueue(id);
      await p.idle();
      for (const id of ids) expect((await store.run(getRecording(id)))?.status).toBe('ready');
      const events = readFileSync(join(work, 'ff-slow.log'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => l.split(' '))
        .map(([kind, t]) => ({ kind, t: BigInt(t ?? '0') }))
        .sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
      let now = 0;
      let peak = 0;
      for (const e of events) {
        now += e.kind === 'start' ? 1 : -1;
        peak = Math.max(peak, now);
      }
      expect(events.length).toBe(5 * 2 * 2); // two ffmpeg runs per job (encode, measure), start + end each
      expect(peak).toBe(2);
    });

    it('a job that runs past its timeout has ffmpeg killed, is retried, then failed; the recording says why', async () => {
      const ff = wrapper('ff-hang', 'echo $$ >> $LOG; exec sleep 30');
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig(), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' }, jobTimeoutMs: 400, maxAttempts: 2 });
      const t0 = Date.now();
      p.start();
      p.enqueue(r.id);
      await p.idle();
      expect(Date.now() - t0).toBeLessThan(5000);
      const pids = readFileSync(join(work, 'ff-hang.log'), 'utf8').trim().split('\n').map(Number);
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(pidAlive(pid)).toBe(false);
      const [job] = await store.run(listMediaJobsForRecording(r.id));
      expect(job).toMatchObject({ status: 'failed', attempts: 2 });
      expect(job!.lastError).toMatch(/timed out/);
      expect(await store.run(getRecording(r.id))).toMatchObject({ status: 'failed', statusReason: expect.stringMatching(/after 2 attempts.*timed out/) });
      expect(await callStatus(r.callId)).toBe('failed');
      // The WAV is kept for a manual retry.
      expect(existsSync(r.wavs[0]!)).toBe(true);
    });

    it('a failing ffmpeg is retried up to 3 attempts, then failed with its error', async () => {
      const ff = wrapper('ff-fail', 'echo x >> $LOG; echo "Invalid data found when processing input" >&2; exit 1');
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig(), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' } });
      p.start();
      p.enqueue(r.id);
      await p.idle();
      expect(readFileSync(join(work, 'ff-fail.log'), 'utf8').trim().split('\n')).toHaveLength(3);
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'failed', attempts: 3, lastError: expect.stringMatching(/Invalid data/) }]);
      expect((await store.run(getRecording(r.id)))?.status).toBe('failed');
    });

    it('a transient failure is retried and then succeeds', async () => {
      const ff = wrapper('ff-flaky', 'if [ ! -e $LOG ]; then echo first >> $LOG; exit 1; fi; exec /usr/bin/ffmpeg "$@"');
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig(), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' } });
      p.start();
      p.enqueue(r.id);
      await p.idle();
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'done', attempts: 2 }]);
      expect((await store.run(getRecording(r.id)))?.status).toBe('ready');
    });

    it('resumes after a crash: a job left running and one still queued are both done on start', async () => {
      const crashed = await stoppedRecording('mixed', 1);
      const waiting = await stoppedRecording('mixed', 1);
      // What a process that died mid-transcode leaves: one job 'running' (attempt counted), one queued.
      await store.run(enqueueMediaJob(crashed.id, Date.now()), { transaction: true });
      expect(await store.run(claimNextMediaJob(Date.now(), 10, ''), { transaction: true })).toMatchObject({ recordingId: crashed.id, status: 'running', attempts: 1 });
      await store.run(enqueueMediaJob(waiting.id, Date.now()), { transaction: true });
      const p = pipeline(recordingsConfig());
      p.start();
      await p.idle();
      expect(await store.run(listMediaJobsForRecording(crashed.id))).toMatchObject([{ status: 'done', attempts: 2 }]);
      expect(await store.run(listMediaJobsForRecording(waiting.id))).toMatchObject([{ status: 'done', attempts: 1 }]);
      expect((await store.run(getRecording(crashed.id)))?.status).toBe('ready');
      expect((await store.run(getRecording(waiting.id)))?.status).toBe('ready');
    });

    it('on start, a stopped recording that never got its job (crash before enqueue) is queued and done', async () => {
      const r = await stoppedRecording('mixed', 1);
      expect(await store.run(listMediaJobsForRecording(r.id))).toEqual([]);
      const p = pipeline(recordingsConfig());
      p.start();
      await p.idle();
      expect((await store.run(getRecording(r.id)))?.status).toBe('ready');
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'done', attempts: 1 }]);
    });

    it('stop() kills a running job and queues it again without using an attempt; the next start finishes it', async () => {
      const ff = wrapper('ff-slow2', 'echo $$ >> $LOG; sleep 2; exec /usr/bin/ffmpeg "$@"');
      const r = await stoppedRecording('mixed', 1);
      const p1 = pipeline(recordingsConfig(), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' } });
      p1.start();
      p1.enqueue(r.id);
      const deadline = Date.now() + 5000;
      while (!existsSync(join(work, 'ff-slow2.log')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      await p1.stop();
      const [pid] = readFileSync(join(work, 'ff-slow2.log'), 'utf8').trim().split('\n').map(Number);
      expect(pidAlive(pid!)).toBe(false);
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'queued', attempts: 0 }]);
      expect((await store.run(getRecording(r.id)))?.status).toBe('processing');
      const p2 = pipeline(recordingsConfig());
      p2.start();
      await p2.idle();
      expect((await store.run(getRecording(r.id)))?.status).toBe('ready');
    });

    it('enqueue is instant and idempotent while a job is pending; nothing runs before start()', async () => {
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig());
      const t0 = performance.now();
      p.enqueue(r.id);
      p.enqueue(r.id);
      expect(performance.now() - t0).toBeLessThan(50);
      await new Promise((res) => setTimeout(res, 100));
      expect(await store.run(listMediaJobsForRecording(r.id))).toMatchObject([{ status: 'queued' }]);
      p.start();
      await p.idle();
      expect((await store.run(getRecording(r.id)))?.status).toBe('ready');
    });

    it('a recording deleted while it was being transcoded stays deleted and leaves no file', async () => {
      const ff = wrapper('ff-slow3', 'sleep 0.5; exec /usr/bin/ffmpeg "$@"');
      const r = await stoppedRecording('mixed', 1);
      const p = pipeline(recordingsConfig(), { tools: { ffmpeg: ff, ffprobe: 'ffprobe' } });
      p.start();
      p.enqueue(r.id);
      await new Promise((res) => setTimeout(res, 200));
      await store.run(function* ({ db, t }) {
        yield* affected(db.update(t.recordings).set({ status: 'deleted' }).where(eq(t.recordings.id, r.id)));
      });
      await p.idle();
      expect((await store.run(getRecording(r.id)))?.status).toBe('deleted');
      expect(existsSync(join(work, 'rec', `${r.accountId}/2026/03/14/call-${r.callId}-rec-${r.id}.mp3`))).toBe(false);
    });
  });
});
