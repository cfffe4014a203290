/**
 * The router's post-call media work, done for the dialplan's recordings: each finished
 * `bench-*.wav` is transcoded with the router's own transcodeRecording() (same ffmpeg, format and
 * concurrency), the output thrown away. With it (`--dialplan-transcodes`), both designs' Asterisk
 * shares the two cores with the same background work, so the cpu phase can tell what Asterisk does
 * for the router apart from what the rest of the box costs it (caches, memory bandwidth, wake-ups).
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { locateFfmpeg } from '../../src/media/locateFfmpeg.js';
import { transcodeRecording } from '../../src/media/transcodeRecording.js';

export interface TwinTranscodes {
  /** Stops looking for new files, waits for the transcodes under way; resolves with how many ran. */
  stop(): Promise<number>;
}

/** A recording is finished once MixMonitor has not written to it for this long (it closes at hangup). */
const SETTLED_MS = 500;

export function startTwinTranscodes(o: { spoolDir: string; outDir: string; format: 'mp3' | 'opus'; concurrency: number; ffmpegPath: string | null }): TwinTranscodes {
  const tools = locateFfmpeg(o.ffmpegPath);
  const seen = new Set<string>();
  const queue: string[] = [];
  const running = new Set<Promise<void>>();
  let done = 0;

  const pump = (): void => {
    while (running.size < Math.max(1, o.concurrency) && queue.length > 0) {
      const wav = queue.shift() as string;
      const out = join(o.outDir, `twin-${seen.size}-${done}.${o.format === 'mp3' ? 'mp3' : 'ogg'}`);
      const job = transcodeRecording({ inputs: [wav], format: o.format, outPath: out, tools, timeoutMs: 60_000 })
        .then(() => undefined, () => undefined)
        .finally(() => {
          rmSync(out, { force: true });
          running.delete(job);
          done += 1;
          pump();
        });
      running.add(job);
    }
  };

  const look = (): void => {
    let names: string[];
    try {
      names = readdirSync(o.spoolDir);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      if (!name.startsWith('bench-') || !name.endsWith('.wav') || seen.has(name)) continue;
      const path = join(o.spoolDir, name);
      try {
        if (now - statSync(path).mtimeMs < SETTLED_MS) continue;
      } catch {
        continue;
      }
      seen.add(name);
      queue.push(path);
    }
    pump();
  };

  const timer = setInterval(look, 250);
  return {
    async stop(): Promise<number> {
      clearInterval(timer);
      await new Promise((r) => setTimeout(r, SETTLED_MS + 100));
      look();
      while (running.size > 0 || queue.length > 0) await Promise.race([...running]);
      return done;
    },
  };
}
