import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { CallrouteError } from '../errors.js';

/**
 * Every setting callroute reads. The same object renders the Asterisk configuration
 * (`scripts/asterisk-sandbox.ts`, `scripts/renderAsteriskConfig.ts`), so ports and
 * credentials are written once.
 */
export interface Config {
  readonly dbPath: string;
  /**
   * A PostgreSQL database shared by several nodes (CALLROUTE_DB_URL, `postgres://user:password@host:port/db`):
   * used instead of the SQLite file when set. Its migrations are applied at start.
   */
  readonly dbUrl: string | null;
  /**
   * This machine's name among several sharing one database (NODE_ID, default the host name): written
   * into Asterisk's `systemname`, so its channel ids (`<node>-<epoch>.<seq>`) are unique across nodes,
   * and stored on the calls, recordings and media jobs it holds.
   */
  readonly nodeId: string;
  /**
   * How long this node's lease lasts unrenewed (NODE_LEASE_SECONDS, default 15; renewed five times as
   * often). Past it, a live node finishes this node's unfinished calls as reconciled.
   */
  readonly nodeLeaseSeconds: number;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /**
     * Reverse proxies whose X-Forwarded-For/-Proto are believed (comma-separated addresses or CIDRs,
     * or `loopback`), so rate limits see the client and HSTS is sent over HTTPS; false: none.
     */
    readonly trustProxy: string | false;
    /** /v1 requests per second per client IP (the burst is five seconds' worth). */
    readonly apiRequestsPerSecond: number;
    /** Failed sign-ins per minute per client IP (a burst of as many); past them, 429 until one is back. */
    readonly authFailuresPerMinute: number;
    /** A signed-in browser's session ends after this long without a request… */
    readonly sessionIdleMinutes: number;
    /** …and after this long in any case (sign in again). */
    readonly sessionMaxHours: number;
  };
  readonly adminToken: string;
  readonly ari: {
    readonly url: string;
    readonly username: string;
    readonly password: string;
    readonly app: string;
    /** Asterisk's HTTP bind address and port, derived from `url`. */
    readonly host: string;
    readonly port: number;
    /**
     * Asterisk's manager interface (AMI), on the same host, for the one thing ARI cannot do: muting
     * the MixMonitor recording of a call the dialplan runs (recording pause). AMI_PORT.
     */
    readonly amiPort: number;
  };
  readonly sip: {
    readonly bindHost: string;
    readonly port: number;
    /** `host:port` the carrier sends from; it identifies the inbound trunk. */
    readonly carrierAddress: string;
    /** `host:port` of the trunk that carries calls to destinations. */
    readonly outboundTrunkAddress: string;
    readonly rtpPortStart: number;
    readonly rtpPortEnd: number;
    /**
     * SIP over TLS (pjsip transport-tls on bindHost): its port (0: no TLS transport) and the
     * certificate and key files as Asterisk sees them (PEM).
     */
    readonly tls: { readonly port: number; readonly certFile: string; readonly keyFile: string };
    /** How each trunk is reached: `udp`, or `tls` (needs the TLS transport). */
    readonly carrierTransport: 'udp' | 'tls';
    readonly outboundTrunkTransport: 'udp' | 'tls';
    /** SRTP on each trunk: `no`, or `sdes` (keys in the SDP: only over TLS, which hides them). */
    readonly carrierMediaEncryption: 'no' | 'sdes';
    readonly outboundTrunkMediaEncryption: 'no' | 'sdes';
    /**
     * Seconds without RTP from a party before Asterisk hangs its channel up (pjsip `rtp_timeout`;
     * 0 = never): a caller or destination that vanished (no BYE) ends the call instead of holding a
     * call slot and a growing recording.
     */
    readonly rtpTimeoutSeconds: number;
    /**
     * The same while the call is on hold (`rtp_timeout_hold`): longer, since a phone that put the
     * other party on hold may rightly send nothing for minutes.
     */
    readonly rtpTimeoutHoldSeconds: number;
    /**
     * SIP session timers (RFC 4028) on both trunks: `yes` when the other side asks or accepts,
     * `always` to insist, `no` to refuse. A refresh that gets no answer ends the call.
     */
    readonly sessionTimers: 'yes' | 'always' | 'no';
    /**
     * Session-Expires offered (pjsip `timers_sess_expires`; 90 is RFC 4028's minimum): a session
     * is refreshed every half of it, and ends when a refresh goes unanswered. RTP timeouts clear a
     * vanished party sooner; the timer catches a dead signalling path whose media still flows.
     */
    readonly sessionExpiresSeconds: number;
  };
  readonly routing: {
    /** Country calling code used to turn national DIDs into E.164. */
    readonly defaultCountryCode: string;
    /** SIP response for an unknown or disabled tracking number. */
    readonly rejectSipCode: number;
    /** Added to the clock route plans read their schedules with (ROUTING_CLOCK_START; tests and drills). */
    readonly clockOffsetMs: number;
    /**
     * The dialplan asks the router where each call goes (FastAGI) before any Stasis;
     * calls to one destination with nothing to play first are then dialed and recorded by Asterisk
     * itself (`callroute-direct`), as cheaply as plain Asterisk (ROUTING_DIALPLAN_HANDOFF, default
     * true). Off: every call enters Stasis and is bridged through ARI.
     */
    readonly dialplanHandOff: boolean;
    /** Loopback port of that routing door, FastAGI (DIALPLAN_HOOK_PORT, default 8079). */
    readonly dialplanHookPort: number;
  };
  readonly fallback: {
    /** What the dialplan does when the router is not connected to Asterisk. */
    readonly mode: 'reject' | 'dial';
    readonly sipCode: number;
    /** E.164 number or sip: URI dialed through the outbound trunk in `dial` mode. */
    readonly destination: string;
    readonly ringTimeoutSeconds: number;
  };
  readonly privacy: {
    /**
     * Keys the hash an erased caller number becomes (PRIVACY_HASH_SECRET; derived from the admin token
     * unless set). Set it before the first erasure and keep it: the same number then keeps one hash.
     */
    readonly hashSecret: string;
    /** Where privacy exports (ZIP archives of one person's data) are written (PRIVACY_EXPORTS_DIR). */
    readonly exportsDir: string;
    /** How long an export's download link, and the archive itself, live (PRIVACY_EXPORT_TTL_SECONDS). */
    readonly exportTtlSeconds: number;
    /** Audit entries of no account (the operator's, failed sign-ins) are kept this many days (AUDIT_RETENTION_DAYS). */
    readonly installationAuditDays: number;
    /**
     * The erasure list (PRIVACY_ERASURE_LIST): every erasure's keyed hash, appended before it runs, so a
     * restore from an older backup re-applies them. Keep it where restores do not roll it back.
     */
    readonly erasureList: string;
  };
  /** Webhook deliveries (src/integrations/webhooks) and how long the event stream keeps events. */
  readonly webhooks: {
    /** A delivery's whole request, connect to last byte (WEBHOOK_TIMEOUT_MS). */
    readonly timeoutMs: number;
    /** Retries of a failing delivery stop this long after its first attempt; the endpoint is then disabled (WEBHOOK_RETRY_HOURS). */
    readonly retryHours: number;
    /** The first retry's delay; each next one doubles it (with jitter), up to an hour (WEBHOOK_RETRY_BASE_MS). */
    readonly retryBaseMs: number;
    /** Deliveries in flight at once, all endpoints together (WEBHOOK_CONCURRENCY). */
    readonly concurrency: number;
    /**
     * Private, loopback and link-local networks deliveries may reach anyway (WEBHOOK_ALLOWED_NETWORKS:
     * comma-separated CIDRs): none by default, so an endpoint cannot be pointed at the box's own services.
     */
    readonly allowedNetworks: readonly string[];
    /** Events (and their delivery log) are kept this many days (EVENT_RETENTION_DAYS). */
    readonly eventRetentionDays: number;
    /**
     * Where ad platforms are reached instead of their public hosts (CONVERSION_PLATFORM_URLS:
     * `google-ads=https://…,meta=…`; names: google-ads, ga4, meta, microsoft-ads, google-oauth,
     * microsoft-oauth): a forward proxy, or stand-ins in tests. Conversions share the webhook retry settings.
     */
    readonly conversionPlatformUrls: Readonly<Record<string, string>>;
  };
  readonly recordings: {
    /** Where finished recordings are stored, by account and date. */
    readonly dir: string;
    /** Where Asterisk's filesystem appears to the router: `/` on the same host, the chroot in the sandbox. */
    readonly asteriskRoot: string;
    readonly format: 'mp3' | 'opus';
    /** Keep Asterisk's WAV next to the transcoded file. */
    readonly keepWav: boolean;
    readonly transcodeConcurrency: number;
    readonly transcodeTimeoutSeconds: number;
    /** Longest a transcode waits while the machine is busy with calls (0: never waits). */
    readonly transcodeMaxDeferSeconds: number;
    /** Explicit ffmpeg binary (else ffmpeg-static when installed, else ffmpeg on the PATH). */
    readonly ffmpegPath: string | null;
    /** AES-256-GCM keys by id (32 bytes each); files are encrypted with `activeKeyId` when set. */
    readonly keys: ReadonlyMap<string, Buffer>;
    readonly activeKeyId: string | null;
    /** HMAC secret of signed download links. */
    readonly linkSecret: string;
    readonly linkTtlSeconds: number;
    /** Base URL put in signed links. */
    readonly publicBaseUrl: string;
  };
  /** New calls beyond these are refused with 503 and a `rejected` record (calls already up are never touched). */
  readonly admission: {
    /** 0 = no limit. */
    readonly maxConcurrentCalls: number;
    /**
     * New calls admitted per second at most (counted in the dialplan, or by the router when every
     * call enters Stasis); 0 = no limit. Setting calls up is the box's most CPU-hungry work: a burst
     * beyond what it can set up starves the calls already up of their audio (bench, overload).
     */
    readonly maxCallsPerSecond: number;
    /** Refuse while the p90 of recent ARI request latency is above this (ms); 0 = off. */
    readonly maxAriLatencyMs: number;
  };
  readonly logLevel: string;
}

type Env = Record<string, string | undefined>;

/** SIP codes we can send as a rejection, each with the Q.850 cause chan_pjsip turns back into it. */
export const SIP_CODE_TO_CAUSE: Readonly<Record<number, number>> = Object.freeze({
  404: 1, // unallocated number
  403: 21, // call rejected
  410: 22, // number changed
  480: 19, // no answer
  484: 28, // invalid number format
  486: 17, // user busy
  503: 34, // no circuit available
});

/** Reads `KEY=VALUE` lines (comments with #); the file named by CALLROUTE_CONFIG_FILE. */
export function parseEnvFile(text: string): Env {
  const out: Env = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return out;
}

/**
 * Builds the validated, frozen configuration from the environment (and the optional file
 * named by CALLROUTE_CONFIG_FILE; the environment wins). Throws one error naming every bad key.
 *
 * @example loadConfig({ CALLROUTE_ADMIN_TOKEN: 'x'.repeat(32), ARI_PASSWORD: 'secret' })
 */
/** What NODE_ID may be (a host name usually is; a dotted FQDN is not: dots would break channel-id parsing). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** The host name's first label, made into a NODE_ID (`db-1.example.net` → `db-1`). */
export function defaultNodeId(host: string = hostname()): string {
  const id = (host.split('.')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[-_]+/, '').slice(0, 32);
  return id === '' ? 'node' : id;
}

export function loadConfig(env: Env = process.env): Config {
  const fileName = env.CALLROUTE_CONFIG_FILE;
  const merged: Env = fileName ? { ...parseEnvFile(readFileSync(fileName, 'utf8')), ...env } : { ...env };
  const problems: string[] = [];

  const str = (key: string, fallback?: string): string => {
    const v = merged[key];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    problems.push(`${key} is required`);
    return '';
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = merged[key];
    if (v === undefined || v === '') return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${key} must be an integer from ${min} to ${max} (got "${v}")`);
      return fallback;
    }
    return n;
  };
  const address = (key: string, fallback: string): string => {
    const v = str(key, fallback);
    if (!/^\d{1,3}(\.\d{1,3}){3}:\d{1,5}$/.test(v)) problems.push(`${key} must be IPv4:port (got "${v}")`);
    return v;
  };
  const sipCode = (key: string, fallback: number): number => {
    const code = int(key, fallback, 400, 699);
    if (!(code in SIP_CODE_TO_CAUSE)) {
      problems.push(`${key} must be one of ${Object.keys(SIP_CODE_TO_CAUSE).join(', ')} (got ${code})`);
    }
    return code;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[], fallback: T): T => {
    const v = str(key, fallback);
    if ((allowed as readonly string[]).includes(v)) return v as T;
    problems.push(`${key} must be one of ${allowed.join(', ')} (got "${v}")`);
    return fallback;
  };

  const ariUrl = str('ARI_URL', 'http://127.0.0.1:8088');
  let ariHost = '127.0.0.1';
  let ariPort = 8088;
  try {
    const u = new URL(ariUrl);
    ariHost = u.hostname;
    ariPort = u.port ? Number(u.port) : 80;
  } catch {
    problems.push(`ARI_URL must be a URL (got "${ariUrl}")`);
  }
  const adminToken = str('CALLROUTE_ADMIN_TOKEN');
  if (adminToken && adminToken.length < 24) problems.push('CALLROUTE_ADMIN_TOKEN must be at least 24 characters');

  const fallbackMode = str('FALLBACK_MODE', 'reject');
  if (fallbackMode !== 'reject' && fallbackMode !== 'dial') {
    problems.push(`FALLBACK_MODE must be "reject" or "dial" (got "${fallbackMode}")`);
  }
  const fallbackDestination = str('FALLBACK_DESTINATION', '');
  if (fallbackMode === 'dial' && fallbackDestination === '') {
    problems.push('FALLBACK_DESTINATION is required when FALLBACK_MODE=dial');
  }
  const rtpPortStart = int('RTP_PORT_START', 10000, 1024, 65535);
  const rtpPortEnd = int('RTP_PORT_END', 20000, 1024, 65535);
  if (rtpPortEnd <= rtpPortStart) problems.push('RTP_PORT_END must be above RTP_PORT_START');
  const countryCode = str('DEFAULT_COUNTRY_CODE', '1');
  if (!/^[1-9]\d{0,2}$/.test(countryCode)) problems.push(`DEFAULT_COUNTRY_CODE must be 1-3 digits (got "${countryCode}")`);

  const dbUrl = str('CALLROUTE_DB_URL', '');
  if (dbUrl !== '' && !/^postgres(ql)?:\/\/[^\s]+$/.test(dbUrl)) problems.push('CALLROUTE_DB_URL must be a postgres:// URL (or unset for the SQLite file)');

  const nodeId = str('NODE_ID', defaultNodeId());
  // It becomes part of every channel id, a recording file name and a SIP-safe token: letters, digits, - and _.
  if (!NODE_ID_PATTERN.test(nodeId)) problems.push(`NODE_ID must be 1-32 letters, digits, - or _, starting with a letter or digit (got "${nodeId}")`);

  const keys = new Map<string, Buffer>();
  for (const entry of str('RECORDING_KEYS', '').split(',').filter(Boolean)) {
    const [id, b64] = entry.split(':');
    const key = b64 ? Buffer.from(b64, 'base64') : Buffer.alloc(0);
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || key.length !== 32) {
      problems.push('RECORDING_KEYS must be a comma-separated list of id:base64 with 32-byte keys');
      continue;
    }
    keys.set(id, key);
  }
  const activeKeyId = str('RECORDING_ACTIVE_KEY_ID', '') || null;
  if (activeKeyId && !keys.has(activeKeyId)) problems.push(`RECORDING_ACTIVE_KEY_ID "${activeKeyId}" is not in RECORDING_KEYS`);
  const recordingFormat = str('RECORDING_FORMAT', 'mp3');
  if (recordingFormat !== 'mp3' && recordingFormat !== 'opus') problems.push(`RECORDING_FORMAT must be "mp3" or "opus" (got "${recordingFormat}")`);
  const keepWav = str('RECORDING_KEEP_WAV', 'false');
  if (keepWav !== 'true' && keepWav !== 'false') problems.push(`RECORDING_KEEP_WAV must be true or false (got "${keepWav}")`);
  const handOff = str('ROUTING_DIALPLAN_HANDOFF', 'true');
  if (handOff !== 'true' && handOff !== 'false') problems.push(`ROUTING_DIALPLAN_HANDOFF must be true or false (got "${handOff}")`);
  const routingClockStart = str('ROUTING_CLOCK_START', '');
  let routingClockOffset = 0;
  if (routingClockStart) {
    const t = Date.parse(routingClockStart);
    if (Number.isNaN(t)) problems.push(`ROUTING_CLOCK_START must be an ISO 8601 time (got "${routingClockStart}")`);
    else routingClockOffset = t - Date.now();
  }
  const sipTlsPort = int('SIP_TLS_PORT', 0, 0, 65535);
  if (sipTlsPort > 0 && (!str('SIP_TLS_CERT_FILE', '') || !str('SIP_TLS_KEY_FILE', ''))) {
    problems.push('SIP_TLS_PORT needs SIP_TLS_CERT_FILE and SIP_TLS_KEY_FILE (PEM files as Asterisk sees them)');
  }
  const carrierTransport = oneOf('CARRIER_TRANSPORT', ['udp', 'tls'] as const, 'udp');
  const outboundTrunkTransport = oneOf('OUTBOUND_TRUNK_TRANSPORT', ['udp', 'tls'] as const, 'udp');
  const carrierMediaEncryption = oneOf('CARRIER_MEDIA_ENCRYPTION', ['no', 'sdes'] as const, 'no');
  const outboundTrunkMediaEncryption = oneOf('OUTBOUND_TRUNK_MEDIA_ENCRYPTION', ['no', 'sdes'] as const, 'no');
  for (const [key, transport, encryption] of [
    ['CARRIER', carrierTransport, carrierMediaEncryption],
    ['OUTBOUND_TRUNK', outboundTrunkTransport, outboundTrunkMediaEncryption],
  ] as const) {
    if (transport === 'tls' && sipTlsPort === 0) problems.push(`${key}_TRANSPORT=tls needs SIP_TLS_PORT (the TLS transport)`);
    if (encryption === 'sdes' && transport !== 'tls') problems.push(`${key}_MEDIA_ENCRYPTION=sdes needs ${key}_TRANSPORT=tls: SDES sends the SRTP keys in the SDP`);
  }
  const httpHost = str('CALLROUTE_HTTP_HOST', '127.0.0.1');
  const httpPort = int('CALLROUTE_HTTP_PORT', 8080, 0, 65535);
  const trustProxy = str('TRUST_PROXY', '');
  const proxyEntry = /^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/;
  const proxies = trustProxy.split(',').map((p) => p.trim()).filter(Boolean);
  for (const p of proxies) {
    if (!proxyEntry.test(p)) problems.push(`TRUST_PROXY must list proxy addresses, CIDRs or "loopback" (got "${p}"; "true" would believe any client)`);
  }

  const allowedNetworks = str('WEBHOOK_ALLOWED_NETWORKS', '').split(',').map((n) => n.trim()).filter(Boolean);
  for (const n of allowedNetworks) {
    if (!isCidr(n)) problems.push(`WEBHOOK_ALLOWED_NETWORKS must list CIDRs such as 127.0.0.1/32 or fd00::/8 (got "${n}")`);
  }

  const conversionPlatformUrls: Record<string, string> = {};
  for (const entry of str('CONVERSION_PLATFORM_URLS', '').split(',').map((e) => e.trim()).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq);
    const url = entry.slice(eq + 1).replace(/\/+$/, '');
    if (eq <= 0 || !CONVERSION_URL_NAMES.includes(name) || !/^https?:\/\/[^/\s]+/.test(url)) {
      problems.push(`CONVERSION_PLATFORM_URLS must list name=url pairs with names among ${CONVERSION_URL_NAMES.join(', ')} (got "${entry}")`);
      continue;
    }
    conversionPlatformUrls[name] = url;
  }

  const config: Config = {
    dbPath: str('CALLROUTE_DB_PATH', 'data/callroute.db'),
    dbUrl: dbUrl === '' ? null : dbUrl,
    nodeId,
    nodeLeaseSeconds: int('NODE_LEASE_SECONDS', 15, 3, 3600),
    http: {
      host: httpHost,
      port: httpPort,
      trustProxy: proxies.length > 0 ? proxies.join(',') : false,
      apiRequestsPerSecond: int('API_RATE_LIMIT_PER_SECOND', 50, 1, 100_000),
      authFailuresPerMinute: int('AUTH_FAILURES_PER_MINUTE', 10, 1, 10_000),
      sessionIdleMinutes: int('SESSION_IDLE_MINUTES', 60, 1, 7 * 24 * 60),
      sessionMaxHours: int('SESSION_MAX_HOURS', 12, 1, 24 * 30),
    },
    adminToken,
    ari: {
      url: ariUrl.replace(/\/+$/, ''),
      username: str('ARI_USERNAME', 'callroute'),
      password: str('ARI_PASSWORD'),
      app: str('ARI_APP', 'callroute'),
      host: ariHost,
      port: ariPort,
      amiPort: int('AMI_PORT', 5038, 1, 65535),
    },
    sip: {
      bindHost: str('SIP_BIND_HOST', '127.0.0.1'),
      port: int('SIP_PORT', 5060, 1, 65535),
      carrierAddress: address('CARRIER_ADDRESS', '127.0.0.1:5070'),
      outboundTrunkAddress: address('OUTBOUND_TRUNK_ADDRESS', '127.0.0.1:5080'),
      rtpPortStart,
      rtpPortEnd,
      tls: { port: sipTlsPort, certFile: str('SIP_TLS_CERT_FILE', ''), keyFile: str('SIP_TLS_KEY_FILE', '') },
      carrierTransport,
      outboundTrunkTransport,
      carrierMediaEncryption,
      outboundTrunkMediaEncryption,
      rtpTimeoutSeconds: int('RTP_TIMEOUT_SECONDS', 30, 0, 3600),
      rtpTimeoutHoldSeconds: int('RTP_TIMEOUT_HOLD_SECONDS', 600, 0, 7200),
      sessionTimers: oneOf('SIP_SESSION_TIMERS', ['yes', 'always', 'no'] as const, 'yes'),
      sessionExpiresSeconds: int('SIP_SESSION_EXPIRES_SECONDS', 300, 90, 86_400),
    },
    routing: {
      defaultCountryCode: countryCode,
      rejectSipCode: sipCode('REJECT_SIP_CODE', 404),
      clockOffsetMs: routingClockOffset,
      dialplanHandOff: handOff === 'true',
      dialplanHookPort: int('DIALPLAN_HOOK_PORT', 8079, 1, 65535),
    },
    fallback: {
      mode: fallbackMode === 'dial' ? 'dial' : 'reject',
      sipCode: sipCode('FALLBACK_SIP_CODE', 503),
      destination: fallbackDestination,
      ringTimeoutSeconds: int('FALLBACK_RING_TIMEOUT', 30, 1, 600),
    },
    privacy: {
      hashSecret: str('PRIVACY_HASH_SECRET', '') || `privacy:${adminToken}`,
      exportsDir: str('PRIVACY_EXPORTS_DIR', 'data/exports'),
      exportTtlSeconds: int('PRIVACY_EXPORT_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
      installationAuditDays: int('AUDIT_RETENTION_DAYS', 365, 1, 3650),
      erasureList: str('PRIVACY_ERASURE_LIST', 'data/erasures.jsonl'),
    },
    webhooks: {
      timeoutMs: int('WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
      retryHours: int('WEBHOOK_RETRY_HOURS', 24, 0, 24 * 7),
      retryBaseMs: int('WEBHOOK_RETRY_BASE_MS', 30_000, 10, 3_600_000),
      concurrency: int('WEBHOOK_CONCURRENCY', 16, 1, 256),
      allowedNetworks,
      eventRetentionDays: int('EVENT_RETENTION_DAYS', 30, 1, 3650),
      conversionPlatformUrls,
    },
    recordings: {
      dir: str('RECORDINGS_DIR', 'data/recordings'),
      asteriskRoot: str('ASTERISK_FS_ROOT', '/'),
      format: recordingFormat === 'opus' ? 'opus' : 'mp3',
      keepWav: keepWav === 'true',
      transcodeConcurrency: int('TRANSCODE_CONCURRENCY', 1, 1, 16),
      transcodeTimeoutSeconds: int('TRANSCODE_TIMEOUT_SECONDS', 300, 5, 3600),
      transcodeMaxDeferSeconds: int('TRANSCODE_MAX_DEFER_SECONDS', 120, 0, 3600),
      ffmpegPath: str('FFMPEG_PATH', '') || null,
      keys,
      activeKeyId,
      // Derived from the admin token unless set, so links work out of the box and die with a token change.
      linkSecret: str('RECORDING_LINK_SECRET', '') || `link:${adminToken}`,
      linkTtlSeconds: int('RECORDING_LINK_TTL_SECONDS', 300, 10, 7 * 86400),
      publicBaseUrl: str('PUBLIC_BASE_URL', `http://${httpHost}:${httpPort}`).replace(/\/+$/, ''),
    },
    admission: {
      maxConcurrentCalls: int('MAX_CONCURRENT_CALLS', 0, 0, 100_000),
      maxCallsPerSecond: int('MAX_CALLS_PER_SECOND', 0, 0, 10_000),
      maxAriLatencyMs: int('ADMISSION_ARI_LATENCY_MS', 500, 0, 60_000),
    },
    logLevel: str('LOG_LEVEL', 'info'),
  };
  if (problems.length > 0) {
    throw new CallrouteError('CR_ERR_CONFIG', `invalid configuration: ${problems.join('; ')}`);
  }
  return deepFreeze(config);
}

/** The services CONVERSION_PLATFORM_URLS may redirect (src/integrations/conversions/platformAdapter.ts). */
const CONVERSION_URL_NAMES = ['google-ads', 'ga4', 'meta', 'microsoft-ads', 'google-oauth', 'microsoft-oauth'];

/** `address/prefix` with an IPv4 or IPv6 address and a prefix that fits it. */
function isCidr(value: string): boolean {
  const [addr, prefix, extra] = value.split('/');
  const family = isIP(addr ?? '');
  const bits = Number(prefix);
  return extra === undefined && family !== 0 && Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128) && prefix !== '';
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object' && !(v instanceof Map) && !Buffer.isBuffer(v)) deepFreeze(v as object);
  return Object.freeze(o);
}
