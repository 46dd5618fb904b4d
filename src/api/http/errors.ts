// The HTTP face of the error table (error-table.ts): the status per code, the OpenAPI error
// responses per route, the error body, and the translation of Fastify's own errors (bad JSON,
// schema failures, oversized bodies) into Keymesh codes. Decided by code, never by text.
import { callerMessage, column, ERROR_TABLE } from '../../error-table.js';
import type { ErrorCode } from '../../errors.js';

export const STATUS: Readonly<Record<ErrorCode, number>> = column('http');

/**
 * A route's OpenAPI error responses, from the codes it may answer: one response per status, its
 * description naming the codes, so that the document cannot drift from the table.
 */
export function openApiErrors(...codes: ErrorCode[]): Record<number, { description: string; $ref: string }> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERROR_TABLE[code].http;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, cs]) => [
      status,
      { description: `Error: ${cs.join(' or ')}`, $ref: 'Error#' },
    ]),
  );
}

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

/** The contract's error body; a message the table does not expose is replaced by the code's own. */
export const errorBody = (code: ErrorCode, message: string): ErrorBody => ({
  error: { code, message: callerMessage(code, message) },
});
