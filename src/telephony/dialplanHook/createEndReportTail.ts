import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { parseDialplanEndReport, parseDialplanRefusal, type DialplanEndReport, type DialplanRefusal } from '../session/DialplanCall.js';

export interface EndReportTailDeps {
  /** The report file as the router sees it (ASTERISK_FS_ROOT + END_REPORT_FILE). */
  file: string;
  /** One report: the caller's channel id (UNIQUEID) and what the hangup handler said. */
  apply: (channelId: string, report: DialplanEndReport) => void;
  /** One refusal: a call the dialplan refused over a concurrent-call cap (`refused=` lines). */
  refused: (channelId: string, refusal: DialplanRefusal) => void;
  logger: Logger;
  /** Look for new lines at least this often, besides file-change notices. Default 250 ms. */
  pollMs?: number;
  /** Move the file aside once this many bytes are read from it. Default 256 KiB (about 800 calls). */
  rotateBytes?: number;
  /** How long a file moved aside may still receive an append Asterisk began before the move. Default 2 s. */
  rotateGraceMs?: number;
  /**
   * Move the file aside this long after its first line was read, however small: the lines hold callers'
   * numbers, which must not stay on disk once the router has them (a privacy erasure must be able to
   * say they are gone within seconds). Default 5 s.
   */
  rotateAfterMs?: number;
  /** Milliseconds, for the grace period. Default `performance.now`. */
  clock?: () => number;
  /**
   * Whether a failure of `apply` or `refused` is worth another try (the database is away for a
   * moment): the line is then applied again, before any later one, with a growing pause (up to 5 s),
   * and no file is moved aside or removed meanwhile, so a restart reads it again. Other failures
   * are logged and the line is skipped. Default: none is retried.
   */
  isRetryable?: (err: unknown) => boolean;
  /**
   * Records written behind the call (PostgreSQL: writeBehindCallRecords): a line applied is then not
   * yet a row. A file is removed only once the writes queued by its lines are applied, so a router
   * stopped before that reads the file again at its next start.
   */
  writesApplied?: { mark(): number; appliedThrough(mark: number): boolean };
}

/** The pause before applying a line again after a retryable failure: doubling from this… */
const RETRY_FIRST_MS = 200;
/** …to at most this. */
const RETRY_MAX_MS = 5_000;

const CHUNK_BYTES = 64 * 1024;

/** The report files moved aside (`<file>.<ms>-<n>`), oldest first; none when the directory is missing. */
export function endReportFilesAside(file: string): string[] {
  const prefix = `${basename(file)}.`;
  try {
    return readdirSync(dirname(file))
      .filter((n) => n.startsWith(prefix))
      .sort()
      .map((n) => join(dirname(file), n));
  } catch {
    return [];
  }
}

/** A file moved aside: read on to its end until its grace period is over, then removed. */
interface Retired {
  path: string;
  offset: number;
  partial: string;
  until: number;
  /** The writes its lines queued (taken once its grace period is over): removed when they are applied. */
  writes?: number;
}

/**
 * The callers' channel ids the report files on disk name (the live one and those moved aside): read
 * before the tail starts, where the records are on a remote database, to know which of them have a
 * record already (see src/persistence/postgres/callRecordsBehind.ts).
 */
export function channelsOnReportFiles(file: string): string[] {
  const channels: string[] = [];
  for (const path of [...endReportFilesAside(file), file]) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ');
      if (space > 0) channels.push(line.slice(0, space));
    }
  }
  return channels;
}

/**
 * Reads the end reports Asterisk's hangup handlers append to a file, one line per call:
 * `<uniqueid> <report as form fields>`, and the refusals the dialplan appends there the same way
 * (`refused=over|busy&…`). FILE() opens, appends and closes for each line, so a line is
 * one write(2) to an O_APPEND file: lines of concurrent calls never interleave, and a report costs
 * Asterisk no round trip to the router. It is written whether the router is up or not, and read when
 * it is. The file is moved aside (and later removed) once read past `rotateBytes`, or `rotateAfterMs`
 * after its first line was read (lines hold callers' numbers: they stay on disk seconds); what is left at a
 * restart is read again, so `apply` must ignore a report it has already taken.
 */
export function createEndReportTail(deps: EndReportTailDeps) {
  const { file, logger } = deps;
  const rotateBytes = deps.rotateBytes ?? 256 * 1024;
  const graceMs = deps.rotateGraceMs ?? 2_000;
  const rotateAfterMs = deps.rotateAfterMs ?? 5_000;
  const clock = deps.clock ?? (() => performance.now());
  const live = { offset: 0, partial: '' };
  /** When the live file's first line was read (null: nothing read from it yet). */
  let liveReadSince: number | null = null;
  const retired: Retired[] = [];
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  let serial = 0;
  const isRetryable = deps.isRetryable ?? (() => false);
  /** Whole lines read and not yet applied, in file order: the first waits for a retry when `retryAt` is set. */
  const backlog: string[] = [];
  let retryAt: number | null = null;
  let retryDelay = RETRY_FIRST_MS;
  let failedTries = 0;

  /** Applies one line; false when it failed in a way worth retrying (it then stays first in line). */
  const applyLine = (line: string): boolean => {
    const space = line.indexOf(' ');
    if (space <= 0) {
      if (line.trim() !== '') logger.warn({ line: line.slice(0, 200) }, 'unreadable end report line');
      return true;
    }
    const channelId = line.slice(0, space);
    let apply: () => void;
    try {
      const form = new URLSearchParams(line.slice(space + 1));
      const refusal = parseDialplanRefusal(form);
      if (refusal) apply = () => deps.refused(channelId, refusal);
      else {
        const report = parseDialplanEndReport(form);
        apply = () => deps.apply(channelId, report);
      }
    } catch (err) {
      logger.error({ err, channel: channelId }, 'unreadable end report line');
      return true;
    }
    try {
      apply();
      return true;
    } catch (err) {
      if (!isRetryable(err)) {
        logger.error({ err, channel: channelId }, 'applying an end report failed');
        return true;
      }
      failedTries += 1;
      // Once per outage, then every tenth try: the log says it is stuck, not every 200 ms.
      if (failedTries === 1 || failedTries % 10 === 0) logger.error({ err, channel: channelId, tries: failedTries, waiting: backlog.length }, 'writing an end report failed; retrying it, and the reports after it, in order');
      return false;
    }
  };

  /** Applies the backlog in order, stopping at a line that must be retried. */
  const applyBacklog = (): void => {
    if (retryAt !== null && clock() < retryAt) return;
    retryAt = null;
    while (backlog.length > 0) {
      if (!applyLine(backlog[0] as string)) {
        retryAt = clock() + retryDelay;
        retryDelay = Math.min(RETRY_MAX_MS, retryDelay * 2);
        return;
      }
      backlog.shift();
      if (failedTries > 0) {
        logger.info({ tries: failedTries }, 'end reports are written again');
        failedTries = 0;
      }
      retryDelay = RETRY_FIRST_MS;
    }
  };

  /** Reads `path` on from `state.offset` and applies every whole line; false when there is no such file. */
  const readOn = (path: string, state: { offset: number; partial: string }): boolean => {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch {
      return false;
    }
    const parts: Buffer[] = [];
    try {
      const size = fstatSync(fd).size;
      // Smaller than what we read: a new file under the old name (or truncated by hand).
      if (size < state.offset) {
        state.offset = 0;
        state.partial = '';
      }
      while (state.offset < size) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - state.offset));
        const n = readSync(fd, buf, 0, buf.length, state.offset);
        if (n <= 0) break;
        parts.push(buf.subarray(0, n));
        state.offset += n;
      }
    } finally {
      closeSync(fd);
    }
    const lines = (state.partial + Buffer.concat(parts).toString('utf8')).split('\n');
    state.partial = lines.pop() ?? '';
    for (const line of lines) backlog.push(line);
    return true;
  };

  const remove = (r: Retired): void => {
    // Every append is one whole line: an unterminated end is a write cut short.
    if (r.partial !== '') logger.warn({ line: r.partial.slice(0, 200) }, 'incomplete end report line dropped');
    try {
      unlinkSync(r.path);
    } catch {
      // already gone
    }
  };

  /**
   * Reads whatever was appended since the last read and applies it; synchronous, so reconciliation
   * can rely on it. While a line waits for a retry, files stay where they are: what was read and not
   * yet written is read again after a restart.
   */
  const drain = (): void => {
    for (const r of retired) readOn(r.path, r);
    const liveThere = readOn(file, live);
    applyBacklog();
    if (backlog.length > 0) return;
    for (const r of [...retired]) {
      if (clock() < r.until) continue;
      if (deps.writesApplied) {
        r.writes ??= deps.writesApplied.mark();
        if (!deps.writesApplied.appliedThrough(r.writes)) continue;
      }
      retired.splice(retired.indexOf(r), 1);
      remove(r);
    }
    if (!liveThere) return;
    if (live.offset > 0 && liveReadSince === null) liveReadSince = clock();
    const old = liveReadSince !== null && clock() - liveReadSince >= rotateAfterMs;
    if ((live.offset < rotateBytes && !old) || live.partial !== '' || live.offset === 0) return;
    // Moved aside, not truncated: an append Asterisk began before the rename lands in the old file,
    // which is read on for the grace period.
    const path = `${file}.${Date.now()}-${(serial += 1)}`;
    try {
      renameSync(file, path);
    } catch (err) {
      logger.warn({ err }, 'moving the end report file aside failed');
      return;
    }
    retired.push({ path, offset: live.offset, partial: '', until: clock() + graceMs });
    live.offset = 0;
    liveReadSince = null;
  };

  /**
   * Files moved aside before a stop: read whole (the registry ignores reports taken before), and
   * removed once every line of them is applied.
   */
  const readLeftovers = (): void => {
    for (const path of endReportFilesAside(file)) retired.push({ path, offset: 0, partial: '', until: 0 });
  };

  return {
    /** Reads every report on file, then follows the file. */
    start(): void {
      if (!existsSync(dirname(file))) {
        // Wrong ASTERISK_FS_ROOT: calls the dialplan runs would never get their end.
        logger.error({ dir: dirname(file) }, 'the end report directory does not exist: check ASTERISK_FS_ROOT');
      }
      readLeftovers();
      drain();
      timer = setInterval(drain, deps.pollMs ?? 250);
      timer.unref();
      try {
        watcher = watch(dirname(file), (_event, name) => {
          if (name === null || name === basename(file)) drain();
        });
        watcher.on('error', () => undefined);
        watcher.unref();
      } catch (err) {
        // The poll alone reads the reports.
        logger.debug({ err }, 'watching the end report file failed');
      }
    },
    drain,
    /** Stops following; files moved aside and not yet removed are read at the next start. */
    stop(): void {
      if (timer) clearInterval(timer);
      watcher?.close();
      drain();
    },
  };
}

export type EndReportTail = ReturnType<typeof createEndReportTail>;
