// The one table from error code to HTTP status, and the translation of Fastify's own errors
// (bad JSON, schema failures, oversized bodies) into Keymesh codes. Decided by code, never by text.
import type { ErrorCode } from '../../errors.js';

export const STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  INVALID_REQUEST: 400,
  MALFORMED_JSON: 400,
  INVALID_KEY: 400,
  UNSUPPORTED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  POLICY_DENIED: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  INVALID_STATE: 409,
  PLACEMENT_UNSATISFIABLE: 409,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
  ENCLAVE_FAILURE: 500,
  AUDIT_UNAVAILABLE: 503,
  NO_LIVE_REPLICA: 503,
  UNAVAILABLE: 503,
});

/** Fastify's error codes for problems with what the client sent. */
export const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = Object.freeze({
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'INVALID_REQUEST',
  FST_ERR_VALIDATION: 'INVALID_REQUEST',
  FST_ERR_BAD_URL: 'INVALID_REQUEST',
  FST_ERR_ASYNC_CONSTRAINT: 'INVALID_REQUEST',
});

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });
