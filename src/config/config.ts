/**
 * Every setting callroute reads. The same object renders the Asterisk configuration
 * (`scripts/asterisk-sandbox.ts`, `scripts/renderAsteriskConfig.ts`), so ports and
 * credentials are written once. Read from the environment and checked once, by loadConfig.ts.
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
