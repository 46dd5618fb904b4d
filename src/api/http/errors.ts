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
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  REQUEST_TIMEOUT: 408,
  EXPECTATION_FAILED: 417,
  INTERNAL: 500,
  ENCLAVE_FAILURE: 500,
  AUDIT_UNAVAILABLE: 503,
  NO_LIVE_REPLICA: 503,
  UNAVAILABLE: 503,
});

/**
 * What the HTTP edge itself refuses (body rules in body.ts, framework and parser errors in
 * edge.ts): each edge error code with the Keymesh code and a fixed message, which never quotes
 * what the client sent.
 */
export const EDGE_ERROR = Object.freeze({
  KM_ERR_BODY_TOO_LARGE: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is larger than 1 MiB.' },
  KM_ERR_BODY_INVALID_UTF8: { code: 'MALFORMED_JSON', message: 'The request body is not valid UTF-8.' },
  KM_ERR_UNSUPPORTED_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    message: 'The request body must be JSON: send it with content-type: application/json.',
  },
  FST_ERR_BAD_URL: { code: 'INVALID_REQUEST', message: 'The request path is not a valid URL path.' },
  FST_ERR_MAX_PARAM_LENGTH: { code: 'NOT_FOUND', message: 'No such resource.' },
  FST_ERR_ASYNC_CONSTRAINT: { code: 'INVALID_REQUEST', message: 'The request is malformed.' },
  HPE_HEADER_OVERFLOW: { code: 'HEADERS_TOO_LARGE', message: 'The request line and headers are too large.' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'REQUEST_TIMEOUT', message: 'The request did not arrive in time.' },
  HTTP_PARSE_ERROR: { code: 'INVALID_REQUEST', message: 'The request is not valid HTTP.' },
  EXPECTATION: { code: 'EXPECTATION_FAILED', message: 'Only "Expect: 100-continue" is supported.' },
  NO_HOST: { code: 'INVALID_REQUEST', message: 'An HTTP/1.1 request needs a Host header.' },
} satisfies Record<string, { code: ErrorCode; message: string }>);
export type EdgeErrorCode = keyof typeof EDGE_ERROR;

/** Fastify's (and the edge's) error codes for problems with what the client sent. */
export const FASTIFY_CODES: Readonly<Record<string, ErrorCode>> = Object.freeze({
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'INVALID_REQUEST',
  ...Object.fromEntries(Object.entries(EDGE_ERROR).map(([k, v]) => [k, v.code])),
});

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({ error: { code, message } });
