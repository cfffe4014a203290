import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { CallrouteError } from '../errors.js';
import type { Config } from './config.js';

export type { Config } from './config.js';

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

/** What NODE_ID may be (a host name usually is; a dotted FQDN is not: dots would break channel-id parsing). */
export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/** The host name's first label, made into a NODE_ID (`db-1.example.net` → `db-1`). */
export function defaultNodeId(host: string = hostname()): string {
  const id = (host.split('.')[0] ?? '').replace(/[^A-Za-z0-9_-]/g, '-').replace(/^[-_]+/, '').slice(0, 32);
  return id === '' ? 'node' : id;
}

/**
 * Builds the validated, frozen configuration from the environment (and the optional file
 * named by CALLROUTE_CONFIG_FILE; the environment wins). Throws one error naming every bad key.
 *
 * @example loadConfig({ CALLROUTE_ADMIN_TOKEN: 'x'.repeat(32), ARI_PASSWORD: 'secret' })
 */
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
