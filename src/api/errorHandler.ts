import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { CallrouteError, type ErrorCode } from '../errors.js';

/** Every 4xx/5xx body the API sends. `field` is the request path that was wrong, e.g. `body.did`. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; field?: string };
}

/** The HTTP status of each code that is not a 500 (the OpenAPI document lists them per status). */
export const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  CR_ERR_VALIDATION: 400,
  CR_ERR_INVALID_NUMBER: 400,
  CR_ERR_NOT_AUDIO: 400,
  CR_ERR_UNAUTHORIZED: 401,
  CR_ERR_FORBIDDEN: 403,
  CR_ERR_SECOND_FACTOR_REQUIRED: 401,
  CR_ERR_TWO_FACTOR_REQUIRED: 403,
  CR_ERR_CSRF: 403,
  CR_ERR_CALL_IN_PROGRESS: 409,
  CR_ERR_CALL_ENDED: 409,
  CR_ERR_NOT_RECORDING: 409,
  CR_ERR_LINK_INVALID: 403,
  CR_ERR_NOT_FOUND: 404,
  CR_ERR_DUPLICATE_DID: 409,
  CR_ERR_RECORDING_NOT_READY: 409,
  CR_ERR_ANNOUNCEMENT_IN_USE: 409,
  CR_ERR_DESTINATION_NOT_ALLOWED: 400,
  CR_ERR_WEBHOOK_ADDRESS_REFUSED: 400,
  CR_ERR_ROUTE_PLAN_IN_USE: 409,
  CR_ERR_ALLOWLIST_CONFLICT: 409,
  CR_ERR_LINK_EXPIRED: 410,
  CR_ERR_RANGE_NOT_SATISFIABLE: 416,
  CR_ERR_RATE_LIMITED: 429,
};

/** Response headers a 4xx needs (a 416's Content-Range with the file size), carried in `details.headers`. */
function headersOf(error: Error): Record<string, string> {
  const headers = error instanceof CallrouteError ? error.details?.headers : undefined;
  const out: Record<string, string> = {};
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (typeof v === 'string') out[k] = v;
  }
  return out;
}

/** `/a/0/b` → `a.0.b`, prefixed by the request part (`body`, `querystring`, `params`, `headers`). */
function joinPath(part: string, instancePath: string, property?: string): string {
  const segments = instancePath.split('/').filter((s) => s !== '');
  if (property !== undefined) segments.push(property);
  return [part, ...segments].join('.');
}

function fromValidation(v: FastifySchemaValidationError, part: string): { field: string; message: string } {
  const params = v.params as Record<string, unknown>;
  if (v.keyword === 'required' && typeof params.missingProperty === 'string') {
    const field = joinPath(part, v.instancePath, params.missingProperty);
    return { field, message: `${field} is required` };
  }
  if (v.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    const field = joinPath(part, v.instancePath, params.additionalProperty);
    return { field, message: `${field} is not allowed` };
  }
  const field = joinPath(part, v.instancePath);
  return { field, message: `${field} ${v.message ?? 'is invalid'}` };
}

function toResponse(error: FastifyError | CallrouteError | Error): { status: number; body: ErrorBody } {
  const fe = error as Partial<FastifyError>;
  if (fe.validation && fe.validation.length > 0) {
    const first = fe.validation[0];
    const part = fe.validationContext ?? 'body';
    const { field, message } = first ? fromValidation(first, part) : { field: part, message: `${part} is invalid` };
    return { status: 400, body: { error: { code: 'CR_ERR_VALIDATION', message, field } } };
  }
  if (error instanceof CallrouteError) {
    const status = STATUS_BY_CODE[error.code];
    if (status !== undefined) {
      const field = error.details?.field;
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (typeof field === 'string') body.error.field = field;
      return { status, body };
    }
  } else if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // fastify's own client errors (malformed JSON, unsupported media type, body too large): their
    // messages describe the request, not our internals.
    return { status: fe.statusCode, body: { error: { code: 'CR_ERR_VALIDATION', message: error.message } } };
  }
  return { status: 500, body: { error: { code: 'CR_ERR_INTERNAL', message: 'internal error' } } };
}

/** The one error handler: 4xx say what and where, logged at info; 5xx say nothing internal, logged at error. */
export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toResponse(error);
  if (status >= 500) {
    request.log.error({ err: error }, 'request failed');
  } else {
    request.log.info({ statusCode: status, code: body.error.code, field: body.error.field }, 'request rejected');
  }
  if (status === 401) void reply.header('www-authenticate', 'Bearer');
  if (status < 500) void reply.headers(headersOf(error));
  void reply.code(status).send(body);
}

/** Unknown routes get the same body shape as every other error. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  request.log.info({ statusCode: 404, code: 'CR_ERR_NOT_FOUND' }, 'route not found');
  const path = request.url.split('?')[0] ?? '';
  void reply.code(404).send({
    error: { code: 'CR_ERR_NOT_FOUND', message: `route ${request.method} ${path} not found` },
  } satisfies ErrorBody);
}

/** Adds the request part to a field named by a repository (`did` → `body.did`). */
export async function inRequestPart<T>(part: 'body' | 'querystring' | 'params', fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const field = err instanceof CallrouteError ? err.details?.field : undefined;
    if (err instanceof CallrouteError && typeof field === 'string') {
      throw new CallrouteError(err.code, err.message, { ...err.details, field: `${part}.${field}` });
    }
    throw err;
  }
}
