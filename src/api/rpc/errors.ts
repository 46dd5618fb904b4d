// The JSON-RPC face of the error table (error-table.ts): the JSON-RPC code per Keymesh code, beside
// the JSON-RPC 2.0 standard codes. Decided by code, never by message text. Every error also
// carries the Keymesh code and the HTTP status the REST API would answer, in `data`.
import { callerMessage, column } from '../../error-table.js';
import type { ErrorCode } from '../../errors.js';
import { STATUS } from '../http/errors.js';

export {
  INTERNAL_ERROR,
  INVALID_PARAMS,
  INVALID_REQUEST,
  METHOD_NOT_FOUND,
  PARSE_ERROR,
} from '../../error-table.js';
/** EIP-1193: the provider does not support the method (chain state, broadcasting: chain.ts). */
export const UNSUPPORTED_METHOD = 4200;

export const RPC_CODE: Readonly<Record<ErrorCode, number>> = column('rpc');

export interface RpcError {
  code: number;
  message: string;
  data?: { code: ErrorCode; status: number };
}

export function rpcError(code: ErrorCode, message: string): RpcError {
  return {
    code: RPC_CODE[code],
    message: callerMessage(code, message),
    data: { code, status: STATUS[code] },
  };
}

/** The standard errors that are about the JSON-RPC envelope rather than a Keymesh operation. */
export const envelopeError = (code: number, message: string): RpcError => ({ code, message });

/** A method Keymesh knows and will not answer, with why (chain.ts REFUSED). */
export const unsupportedMethod = (message: string): RpcError => ({
  code: UNSUPPORTED_METHOD,
  message,
  data: { code: 'UNSUPPORTED', status: STATUS.UNSUPPORTED },
});
