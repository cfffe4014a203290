import type { Config } from '../../config/loadConfig.js';
import type { Db } from '../../persistence/openDatabase.js';

/** The recording settings the API uses (a subset of `config.recordings`). */
export type RecordingsApiConfig = Pick<
  Config['recordings'],
  'dir' | 'asteriskRoot' | 'keys' | 'linkSecret' | 'linkTtlSeconds' | 'publicBaseUrl' | 'ffmpegPath'
>;

/** Media work the API delegates (src/media); injected so tests can pass fakes. */
export interface MediaDeps {
  /** Decrypts a recording stored encrypted; throws a coded error on tamper or an unknown key. */
  readPlaintext: (filePath: string, keys: ReadonlyMap<string, Buffer>) => Promise<Buffer>;
  /** Any audio → 8 kHz mono WAV at `<outPathWithoutExt>.wav`. */
  convertAnnouncement: (input: Buffer, outPathWithoutExt: string, ffmpeg: string) => Promise<{ durationSeconds: number }>;
  /** The ffmpeg binary to run (FFMPEG_PATH, else ffmpeg-static, else ffmpeg on the PATH). */
  ffmpeg: () => string;
}

/** What a route file gets: the db and the settings it needs, never ARI handles. */
export interface RouteDeps {
  db: Db;
  defaultCountryCode: string;
  recordings: RecordingsApiConfig;
  media: MediaDeps;
  /** Milliseconds since the epoch; injected so link expiry and retention can be tested. */
  now: () => number;
}
