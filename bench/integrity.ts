/**
 * After a run: did every call leave what it should? The router's records and recordings (read from
 * its SQLite file), the bench dialplan's MixMonitor files against the calls the capture saw, and a
 * few recordings' audio (both parties' tones there).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { readWavInfo } from '../src/media/readWavInfo.js';
import { analyzeAudio } from '../test/callflow/harness/audioAnalysis.js';
import { round } from './lib/stats.js';
import type { Integrity, LoadResult } from './benchResults.js';
import { baseEnv, config, spoolDir } from './rig.js';
import { callTimingsOf } from './runLoad.js';
import { CARRIER_TONE_HZ, sleep } from './settings.js';

export async function checkRouterIntegrity(r: LoadResult, fromCallId: number, samples: number): Promise<Integrity> {
  const problems: string[] = [];
  const db = new Database(config.dbPath, { readonly: true, fileMustExist: true });
  type Row = { id: number; finished: number; disposition: string | null; sip_code: number | null; talk_seconds: number | null };
  type Rec = { call_id: number; status: string; duration_seconds: number | null; path: string | null; status_reason: string | null };
  let rows: Row[] = [];
  let recs: Rec[] = [];
  const deadline = Date.now() + 120_000;
  try {
    for (;;) {
      rows = db.prepare('SELECT id, finished, disposition, sip_code, talk_seconds FROM calls WHERE id > ? ORDER BY id').all(fromCallId) as Row[];
      recs = db.prepare('SELECT call_id, status, duration_seconds, path, status_reason FROM recordings WHERE call_id > ?').all(fromCallId) as Rec[];
      const pending = recs.filter((x) => x.status === 'recording' || x.status === 'processing').length;
      const unfinished = rows.filter((x) => !x.finished).length;
      if ((pending === 0 && unfinished === 0) || Date.now() > deadline) break;
      await sleep(500);
    }
  } finally {
    db.close();
  }
  const answeredRows = rows.filter((x) => x.disposition === 'answered');
  const rejected503 = rows.filter((x) => x.disposition === 'rejected' && x.sip_code === 503).length;
  const byCall = new Map(recs.map((x) => [x.call_id, x]));
  let ready = 0;
  let lengthOk = 0;
  let worst = 0;
  const notReady: string[] = [];
  for (const row of answeredRows) {
    const rec = byCall.get(row.id);
    if (!rec) {
      notReady.push(`call ${row.id}: no recording`);
      continue;
    }
    if (rec.status !== 'ready') {
      notReady.push(`call ${row.id}: ${rec.status}${rec.status_reason ? ` (${rec.status_reason})` : ''}`);
      continue;
    }
    ready += 1;
    const err = Math.abs((rec.duration_seconds ?? 0) - (row.talk_seconds ?? 0));
    worst = Math.max(worst, err);
    if (err <= 1.0) lengthOk += 1;
  }
  const records = {
    total: rows.length,
    unfinished: rows.filter((x) => !x.finished).length,
    answered: answeredRows.length,
    rejected503,
    answeredMatchesSip: answeredRows.length === r.answered,
    rejectedMatchesSip: rejected503 === r.refused503,
  };
  if (records.unfinished > 0) problems.push(`${records.unfinished} unfinished call records`);
  if (records.total !== r.placed) problems.push(`${records.total} call records for ${r.placed} calls placed`);
  if (!records.answeredMatchesSip) problems.push(`${answeredRows.length} answered records for ${r.answered} calls answered`);
  if (!records.rejectedMatchesSip) problems.push(`${rejected503} rejected-503 records for ${r.refused503} 503s`);
  if (notReady.length > 0) problems.push(`${notReady.length} answered calls without a ready recording: ${notReady.slice(0, 5).join('; ')}`);
  if (lengthOk !== ready) problems.push(`${ready - lengthOk} recordings whose length is off the talk time by > 1 s (worst ${worst.toFixed(2)} s)`);
  const files = answeredRows
    .map((row) => byCall.get(row.id))
    .filter((x): x is Rec => x?.status === 'ready' && x.path !== null)
    .map((x) => join(baseEnv.RECORDINGS_DIR as string, x.path as string));
  const audioSamples = await sampleAudio(files, samples, problems);
  return {
    records,
    recordings: { expected: answeredRows.length, present: answeredRows.filter((x) => byCall.has(x.id)).length, ready, lengthOk, notReady: notReady.slice(0, 10), worstLengthErrorSeconds: round(worst, 2) ?? 0 },
    audioSamples,
    ok: problems.length === 0,
    problems,
  };
}

export async function checkDialplanIntegrity(r: LoadResult, samples: number): Promise<Integrity> {
  const problems: string[] = [];
  const dir = spoolDir();
  // MixMonitor finishes the file when the channel goes; the last ones may still be closing.
  await sleep(1000);
  const files = readdirSync(dir).filter((f) => f.startsWith('bench-') && f.endsWith('.wav')).map((f) => join(dir, f));
  let lengthOk = 0;
  let worst = 0;
  // Each file against its own call's talk time, as the router's are against their records: from the
  // 200 the caller got to the carrier's BYE (the capture; files are named by the unique caller
  // number). MixMonitor runs from before Dial(), so the call's ring may be in the file on top.
  const byCaller = new Map((callTimingsOf.get(r) ?? []).map((t) => [t.key, t]));
  for (const f of files) {
    const info = await readWavInfo(f);
    // Data size may be unset in the header while MixMonitor writes; fall back to the file size.
    const seconds = info?.durationSeconds ?? (statSync(f).size - 44) / 16000;
    const t = byCaller.get(/^bench-\+?1999555(\d+)-/.exec(f.split('/').pop() as string)?.[1] ?? '');
    const talk = t?.callerOkAt !== undefined && t.carrierByeAt !== undefined ? t.carrierByeAt - t.callerOkAt : r.plan.holdMs / 1000;
    const ring = t?.callerOkAt !== undefined ? t.callerOkAt - t.carrierInviteAt : r.maxRingSeconds;
    const err = seconds < talk ? talk - seconds : seconds > talk + ring ? seconds - talk - ring : 0;
    worst = Math.max(worst, err);
    if (err <= 1.0) lengthOk += 1;
  }
  if (files.length !== r.answered) problems.push(`${files.length} MixMonitor files for ${r.answered} calls answered`);
  if (lengthOk !== files.length) problems.push(`${files.length - lengthOk} recordings outside their call's talk time … talk + ring by > 1 s (worst ${worst.toFixed(2)} s)`);
  const audioSamples = await sampleAudio(files, samples, problems);
  for (const f of files) rmSync(f, { force: true });
  return {
    recordings: { expected: r.answered, present: files.length, ready: files.length, lengthOk, notReady: [], worstLengthErrorSeconds: round(worst, 2) ?? 0 },
    audioSamples,
    ok: problems.length === 0,
    problems,
  };
}

/** analyzeAudio on the first, middle and last files: the carrier's 1 kHz tone and the destination's 450 Hz both there. */
async function sampleAudio(files: string[], n: number, problems: string[]): Promise<Integrity['audioSamples']> {
  const picks = files.length <= n ? files : [...new Set(Array.from({ length: n }, (_, i) => files[Math.round((i * (files.length - 1)) / Math.max(1, n - 1))] as string))];
  const out: Integrity['audioSamples'] = [];
  for (const f of picks) {
    try {
      const a = await analyzeAudio(f, { frequencyHz: CARRIER_TONE_HZ });
      const ch = a.channels[0];
      const ok = ch !== undefined && ch.toneFraction > 0.5 && ch.speechFraction > 0.5;
      out.push({ file: f.split('/').slice(-1)[0] as string, carrierToneFraction: round(ch?.toneFraction, 2) ?? 0, destinationFraction: round(ch?.speechFraction, 2) ?? 0, seconds: round(ch?.durationSeconds, 2) ?? 0, ok });
      if (!ok) problems.push(`audio of ${f}: ${a.describe()}`);
    } catch (err) {
      problems.push(`audio of ${f}: ${(err as Error).message}`);
    }
  }
  return out;
}
