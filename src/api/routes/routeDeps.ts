import type { Config } from '../../config/loadConfig.js';
import type { FfmpegTools } from '../../media/locateFfmpeg.js';
import type { Store } from '../../persistence/store.js';
import type { ApiLimiter } from '../apiGuards.js';
import type { SessionTimes } from '../authenticate.js';
import type { BucketLimit } from '../tokenBuckets.js';

/** The recording settings the API uses (a subset of `config.recordings`). */
export type RecordingsApiConfig = Pick<
  Config['recordings'],
  'dir' | 'asteriskRoot' | 'keys' | 'linkSecret' | 'linkTtlSeconds' | 'publicBaseUrl' | 'ffmpegPath'
>;

/** Media work the API delegates (src/media); injected so tests can pass fakes. */
export interface MediaDeps {
  /** Decrypts a recording stored encrypted; throws a coded error on tamper or an unknown key. */
  readPlaintext: (filePath: string, keys: ReadonlyMap<string, Buffer>) => Promise<Buffer>;
  /**
   * Any audio → 8 kHz mono WAV at `<outPathWithoutExt>.wav`. Rejects with CR_ERR_VALIDATION when the
   * upload is the problem (not decodable, no audio, too long).
   */
  convertAnnouncement: (
    input: Buffer,
    outPathWithoutExt: string,
    tools: Pick<FfmpegTools, 'ffmpeg' | 'ffprobe'>,
  ) => Promise<{ durationSeconds: number }>;
  /** ffmpeg and ffprobe (FFMPEG_PATH, else ffmpeg-static, else the PATH). */
  ffmpeg: () => Pick<FfmpegTools, 'ffmpeg' | 'ffprobe'>;
}

/** What a route file gets: the database and the settings it needs, never ARI handles. */
export interface RouteDeps {
  /** The database, of either dialect: routes run repositories' works on it (src/persistence/store.ts). */
  store: Store;
  /** This node (NODE_ID); '' when nodes have no names. */
  nodeId: string;
  defaultCountryCode: string;
  recordings: RecordingsApiConfig;
  media: MediaDeps;
  /** Milliseconds since the epoch; injected so link expiry and retention can be tested. */
  now: () => number;
  auth: AuthSettings;
  /** Pauses or resumes the recording of a call in progress (telephony's setRecordingPaused); absent without telephony. */
  recordingControl?: (callId: number, paused: boolean) => Promise<'done' | 'not-found' | 'not-recorded'>;
  /**
   * Webhook settings the API checks endpoints with (the retry time serves conversions too); `poke`
   * wakes the webhook dispatcher after a redelivery is queued, `pokeConversions` the conversion sender after a retry.
   */
  webhooks: { allowedNetworks: readonly string[]; retryHours: number; eventRetentionDays?: number; poke?: () => void; pokeConversions?: () => void };
  /** Keys the hash erased caller numbers become (config.privacy.hashSecret); where exports go. */
  privacy: { hashSecret: string; exports: { dir: string; ttlSeconds: number }; installationAuditDays: number; erasureList: string };
}

/** Sign-in settings the auth and people routes share with the auth hook. */
export interface AuthSettings {
  sessions: SessionTimes;
  /** The per-address budgets of /v1 (failed sign-ins count in `failedAuth`). */
  limiter: ApiLimiter;
  /** Failed sign-ins per e-mail (or per known browser of it). */
  signInFailures: BucketLimit;
  /** Signs the known-browser cookie. */
  deviceSecret: string;
  /** How long a password-reset (or invitation) token is good for. */
  resetTtlMs: number;
}
