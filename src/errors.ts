/** The catalog of stable error codes. A code never changes meaning once released. */
export const ERROR_CODES = {
  CR_ERR_CONFIG: 'configuration is invalid',
  CR_ERR_DID_NOT_FOUND: 'no tracking number for the dialed number',
  CR_ERR_NUMBER_DISABLED: 'tracking number is disabled',
  CR_ERR_INVALID_NUMBER: 'not a valid phone number',
  CR_ERR_DUPLICATE_DID: 'tracking number already exists',
  CR_ERR_NOT_FOUND: 'resource not found',
  CR_ERR_VALIDATION: 'request is invalid',
  CR_ERR_UNAUTHORIZED: 'missing or wrong credentials',
  CR_ERR_FORBIDDEN: 'you may not use this route',
  CR_ERR_SECOND_FACTOR_REQUIRED: 'a code from the authenticator app (or a recovery code) is needed to sign in',
  CR_ERR_TWO_FACTOR_REQUIRED: 'two-factor sign-in must be set up before anything else',
  CR_ERR_CALL_IN_PROGRESS: 'the subject has a call in progress',
  CR_ERR_CALL_ENDED: 'the call is not in progress',
  CR_ERR_NOT_RECORDING: 'the call is not being recorded',
  CR_ERR_CSRF: 'a request signed in by cookie must come from the same origin',
  CR_ERR_RECORDING_NOT_READY: 'recording has no audio to serve in its current status',
  CR_ERR_RANGE_NOT_SATISFIABLE: 'requested range is outside the file',
  CR_ERR_LINK_INVALID: 'signed link is not valid',
  CR_ERR_LINK_EXPIRED: 'signed link has expired',
  CR_ERR_NOT_AUDIO: 'body is not audio that can be converted',
  CR_ERR_ANNOUNCEMENT_IN_USE: 'announcement is used by a tracking number',
  CR_ERR_DESTINATION_NOT_ALLOWED: 'destination is premium-rate or outside the dial allowlist',
  CR_ERR_ROUTE_PLAN_IN_USE: 'route plan is used by a tracking number',
  CR_ERR_ALLOWLIST_CONFLICT: 'saved destinations would be outside the new dial allowlist',
  CR_ERR_ARI_HTTP: 'Asterisk REST request failed',
  CR_ERR_ARI_UNREACHABLE: 'Asterisk is not reachable',
  CR_ERR_ARI_AUTH: 'Asterisk rejected the ARI credentials',
  CR_ERR_SANDBOX: 'Asterisk sandbox failed',
  CR_ERR_MEDIA: 'media processing failed',
  CR_ERR_RECORDING_KEY_UNKNOWN: 'recording is encrypted with an unknown key',
  CR_ERR_RECORDING_CORRUPT: 'recording file is corrupt or was tampered with',
  CR_ERR_RATE_LIMITED: 'too many requests',
  CR_ERR_WEBHOOK_ADDRESS_REFUSED: 'webhook URL reaches a private, loopback or link-local address the operator has not allowed',
  CR_ERR_DATABASE_UNAVAILABLE: 'the database has been unreachable too long to take another call record',
  CR_ERR_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CallrouteError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string = ERROR_CODES[code], details?: Record<string, unknown>) {
    super(message);
    this.name = 'CallrouteError';
    this.code = code;
    this.details = details;
  }
}
