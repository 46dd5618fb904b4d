// The one table from Keymesh error code to JSON-RPC error code, beside the JSON-RPC 2.0 standard
// codes. Decided by code, never by message text. Codes outside the standard range follow
// EIP-1474 (-32001 resource not found, -32002 resource unavailable, -32003 transaction rejected,
// -32005 limit exceeded) and EIP-1193 (4100 unauthorized, 4200 unsupported method); every error
// also carries the Keymesh code and the HTTP status the REST API would answer, in `data`.
import type { ErrorCode } from '../../errors.js';
import { STATUS } from '../http/errors.js';

/** JSON-RPC 2.0 §5.1. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** EIP-1193: the provider does not support the method (chain state, broadcasting: chain.ts). */
export const UNSUPPORTED_METHOD = 4200;

export const RPC_CODE: Readonly<Record<ErrorCode, number>> = Object.freeze({
  INVALID_REQUEST: INVALID_PARAMS,
  MALFORMED_JSON: PARSE_ERROR,
  INVALID_KEY: INVALID_PARAMS,
  UNSUPPORTED: INVALID_PARAMS,
  UNAUTHENTICATED: 4100,
  FORBIDDEN: 4100,
  POLICY_DENIED: -32003,
  NOT_FOUND: -32001,
  CONFLICT: -32002,
  INVALID_STATE: -32002,
  PLACEMENT_UNSATISFIABLE: -32002,
  PAYLOAD_TOO_LARGE: -32005,
  UNSUPPORTED_MEDIA_TYPE: INVALID_REQUEST,
  HEADERS_TOO_LARGE: -32005,
  REQUEST_TIMEOUT: -32002,
  EXPECTATION_FAILED: INVALID_REQUEST,
  INTERNAL: INTERNAL_ERROR,
  ENCLAVE_FAILURE: INTERNAL_ERROR,
  AUDIT_UNAVAILABLE: -32002,
  NO_LIVE_REPLICA: -32002,
  UNAVAILABLE: -32002,
});

export interface RpcError {
  code: number;
  message: string;
  data?: { code: ErrorCode; status: number };
}

export function rpcError(code: ErrorCode, message: string): RpcError {
  return { code: RPC_CODE[code], message, data: { code, status: STATUS[code] } };
}

/** The standard errors that are about the JSON-RPC envelope rather than a Keymesh operation. */
export const envelopeError = (code: number, message: string): RpcError => ({ code, message });

/** A method Keymesh knows and will not answer, with why (chain.ts REFUSED). */
export const unsupportedMethod = (message: string): RpcError => ({
  code: UNSUPPORTED_METHOD,
  message,
  data: { code: 'UNSUPPORTED', status: STATUS.UNSUPPORTED },
});
