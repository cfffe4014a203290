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
  CR_ERR_ARI_HTTP: 'Asterisk REST request failed',
  CR_ERR_ARI_UNREACHABLE: 'Asterisk is not reachable',
  CR_ERR_ARI_AUTH: 'Asterisk rejected the ARI credentials',
  CR_ERR_SANDBOX: 'Asterisk sandbox failed',
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
