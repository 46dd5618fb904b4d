// The one error table: for every ErrorCode, what each interface answers and how the refusal is
// audited. The HTTP statuses (api/http/errors.ts STATUS), the JSON-RPC codes (api/rpc/errors.ts
// RPC_CODE), the CLI's exit codes (cli/client.ts), the audit outcome (core.ts auditFailure), the
// OpenAPI error responses (api/http/errors.ts openApiErrors) and what a caller may read of an
// error's message are all read from here, so that adding a code is adding one row, and no
// interface decides anything by an error's message text.
//
// KMIP Result Reason values: KMIP 1.4 §9.1.3.2.29 and KMIP 2.1 §11.46 "Result Reason Enumeration"
// (tag 0x42007E). Reasons added in 2.0 are unknown to a 1.x client, so a row whose reason is one
// of them also names the 1.x reason a 1.x session answers with (`kmip1`).
//
// JSON-RPC codes: JSON-RPC 2.0 §5.1 for the standard range; EIP-1474 (-32001 resource not found,
// -32002 resource unavailable, -32003 transaction rejected, -32005 limit exceeded) and EIP-1193
// (4100 unauthorized) beside it.
import type { ErrorCode } from './errors.js';

/** KMIP Result Reason: the XML text name, its value, and the major version that defines it. */
export const KMIP_RESULT_REASON = Object.freeze({
  ItemNotFound: { value: 0x01, since: 1 },
  AuthenticationNotSuccessful: { value: 0x03, since: 1 },
  InvalidMessage: { value: 0x04, since: 1 },
  InvalidField: { value: 0x07, since: 1 },
  FeatureNotSupported: { value: 0x08, since: 1 },
  CryptographicFailure: { value: 0x0a, since: 1 },
  PermissionDenied: { value: 0x0c, since: 1 },
  ObjectAlreadyExists: { value: 0x18, since: 1 },
  InternalServerError: { value: 0x2a, since: 2 },
  ServerLimitExceeded: { value: 0x3a, since: 2 },
  WrongKeyLifecycleState: { value: 0x43, since: 2 },
  ProtectionStorageUnavailable: { value: 0x44, since: 2 },
  GeneralFailure: { value: 0x100, since: 1 },
} as const satisfies Record<string, { value: number; since: 1 | 2 }>);
export type KmipResultReason = keyof typeof KMIP_RESULT_REASON;

/** JSON-RPC 2.0 §5.1. */
export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
/** EIP-1474 and EIP-1193. */
const RESOURCE_NOT_FOUND = -32001;
const RESOURCE_UNAVAILABLE = -32002;
const TRANSACTION_REJECTED = -32003;
const LIMIT_EXCEEDED = -32005;
const UNAUTHORIZED = 4100;

/** The CLI's exit codes, which scripts rely on. */
export const EXIT = Object.freeze({ error: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, unavailable: 6 });
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface ErrorRow {
  /** The HTTP status (API.md "HTTP conventions"). */
  readonly http: number;
  /** The JSON-RPC error code. */
  readonly rpc: number;
  /** The KMIP Result Reason; `kmip1` is what a KMIP 1.x session answers when `kmip` is 2.x only. */
  readonly kmip: KmipResultReason;
  readonly kmip1?: KmipResultReason;
  /** A refusal of the caller (denied) or a failure to do what was asked (error), in the audit log. */
  readonly audit: 'denied' | 'error';
  /**
   * Whether the error's own message may reach a caller. When it may not, the caller reads
   * `message` and the node log keeps the real one: these messages come from inside the node
   * (the enclave's fault checks, the store) and would tell a caller which check failed.
   */
  readonly exposeMessage: boolean;
  /**
   * A fixed sentence for the code: what a caller reads when the message is not exposed, and for
   * errors from libraries (Fastify), whose own messages may quote what the client sent.
   */
  readonly message: string;
  /** The CLI's exit code for an answer with this code. */
  readonly exit: ExitCode;
}

export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorRow>> = deepFreeze<Record<ErrorCode, ErrorRow>>({
  INVALID_REQUEST: {
    http: 400,
    rpc: INVALID_PARAMS,
    kmip: 'InvalidField',
    audit: 'error',
    exposeMessage: true,
    message: 'The request is malformed.',
    exit: EXIT.usage,
  },
  MALFORMED_JSON: {
    http: 400,
    rpc: PARSE_ERROR,
    kmip: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'The request body is not valid JSON.',
    exit: EXIT.usage,
  },
  INVALID_KEY: {
    http: 400,
    rpc: INVALID_PARAMS,
    kmip: 'InvalidField',
    audit: 'error',
    exposeMessage: true,
    message: 'The private key is not valid for its algorithm.',
    exit: EXIT.usage,
  },
  UNSUPPORTED: {
    http: 400,
    rpc: INVALID_PARAMS,
    kmip: 'FeatureNotSupported',
    audit: 'error',
    exposeMessage: true,
    message: "The key's algorithm does not offer this operation.",
    exit: EXIT.usage,
  },
  UNAUTHENTICATED: {
    http: 401,
    rpc: UNAUTHORIZED,
    kmip: 'AuthenticationNotSuccessful',
    audit: 'denied',
    exposeMessage: true,
    message: 'A valid bearer token is required.',
    exit: EXIT.auth,
  },
  FORBIDDEN: {
    http: 403,
    rpc: UNAUTHORIZED,
    kmip: 'PermissionDenied',
    audit: 'denied',
    exposeMessage: true,
    message: 'The caller may not do this.',
    exit: EXIT.auth,
  },
  NOT_FOUND: {
    http: 404,
    rpc: RESOURCE_NOT_FOUND,
    kmip: 'ItemNotFound',
    audit: 'error',
    exposeMessage: true,
    message: 'No such resource.',
    exit: EXIT.notFound,
  },
  CONFLICT: {
    http: 409,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'ObjectAlreadyExists',
    audit: 'error',
    exposeMessage: true,
    message: 'The request conflicts with the current state; reload and retry.',
    exit: EXIT.conflict,
  },
  INVALID_STATE: {
    http: 409,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'WrongKeyLifecycleState',
    // KMIP 1.x has no state reason: the state refuses the caller, as a permission would.
    kmip1: 'PermissionDenied',
    audit: 'denied',
    exposeMessage: true,
    message: "The key's state forbids this operation.",
    exit: EXIT.conflict,
  },
  POLICY_DENIED: {
    http: 403,
    rpc: TRANSACTION_REJECTED,
    kmip: 'PermissionDenied',
    audit: 'denied',
    exposeMessage: true,
    message: 'A policy refused the request.',
    exit: EXIT.auth,
  },
  PAYLOAD_TOO_LARGE: {
    http: 413,
    rpc: LIMIT_EXCEEDED,
    kmip: 'ServerLimitExceeded',
    kmip1: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'The request body is too large.',
    exit: EXIT.usage,
  },
  UNSUPPORTED_MEDIA_TYPE: {
    http: 415,
    rpc: INVALID_REQUEST,
    kmip: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'The request body must be JSON: send it with content-type: application/json.',
    exit: EXIT.error,
  },
  HEADERS_TOO_LARGE: {
    http: 431,
    rpc: LIMIT_EXCEEDED,
    kmip: 'ServerLimitExceeded',
    kmip1: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'The request line and headers are too large.',
    exit: EXIT.error,
  },
  REQUEST_TIMEOUT: {
    http: 408,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'The request did not arrive in time.',
    exit: EXIT.error,
  },
  EXPECTATION_FAILED: {
    http: 417,
    rpc: INVALID_REQUEST,
    kmip: 'InvalidMessage',
    audit: 'error',
    exposeMessage: true,
    message: 'Only "Expect: 100-continue" is supported.',
    exit: EXIT.error,
  },
  PLACEMENT_UNSATISFIABLE: {
    http: 409,
    rpc: RESOURCE_UNAVAILABLE,
    // 2.x: the server cannot keep the object where its attributes require, as here.
    kmip: 'ProtectionStorageUnavailable',
    kmip1: 'GeneralFailure',
    audit: 'error',
    exposeMessage: true,
    message: 'No live node satisfies the placement.',
    exit: EXIT.conflict,
  },
  NO_LIVE_REPLICA: {
    http: 503,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'GeneralFailure',
    audit: 'error',
    exposeMessage: true,
    message: 'No live node holds a replica of this key.',
    exit: EXIT.unavailable,
  },
  AUDIT_UNAVAILABLE: {
    http: 503,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'GeneralFailure',
    audit: 'error',
    exposeMessage: true,
    message: 'The audit log cannot be written; the node refuses to act.',
    exit: EXIT.unavailable,
  },
  ENCLAVE_FAILURE: {
    http: 500,
    rpc: INTERNAL_ERROR,
    kmip: 'CryptographicFailure',
    audit: 'error',
    // Which fault or sealing check failed is for the operator, not an oracle for the caller.
    exposeMessage: false,
    message: 'The enclave could not complete the operation; see the node log.',
    exit: EXIT.unavailable,
  },
  RECORD_INTEGRITY: {
    // Not the caller's doing: someone wrote a record to the store without the cluster integrity
    // key (src/records/integrity.ts). Which check failed, and on which record, goes to the node
    // log and the audit log, not to the caller.
    http: 500,
    rpc: INTERNAL_ERROR,
    kmip: 'CryptographicFailure',
    audit: 'error',
    exposeMessage: false,
    message: 'A stored record failed its integrity check; the node refuses to use it (see the node log).',
    exit: EXIT.unavailable,
  },
  UNAVAILABLE: {
    http: 503,
    rpc: RESOURCE_UNAVAILABLE,
    kmip: 'GeneralFailure',
    audit: 'error',
    exposeMessage: true,
    message: 'The node cannot serve this request now; retry later.',
    exit: EXIT.unavailable,
  },
  INTERNAL: {
    http: 500,
    rpc: INTERNAL_ERROR,
    kmip: 'InternalServerError',
    kmip1: 'GeneralFailure',
    audit: 'error',
    exposeMessage: false,
    message: 'Internal error; see the node log.',
    exit: EXIT.unavailable,
  },
});

/** A column of the table as a frozen record by code. */
export function column<K extends keyof ErrorRow>(key: K): Readonly<Record<ErrorCode, ErrorRow[K]>> {
  return Object.freeze(
    Object.fromEntries(Object.entries(ERROR_TABLE).map(([code, row]) => [code, row[key]])) as Record<
      ErrorCode,
      ErrorRow[K]
    >,
  );
}

/** What a caller may read of an error with this code and message. */
export function callerMessage(code: ErrorCode, message: string): string {
  const row = ERROR_TABLE[code];
  return row.exposeMessage ? message : row.message;
}

/** The KMIP Result Reason to answer with, for a session of the given major protocol version. */
export function kmipResultReason(code: ErrorCode, major: 1 | 2): { name: KmipResultReason; value: number } {
  const row = ERROR_TABLE[code];
  const name = major < KMIP_RESULT_REASON[row.kmip].since && row.kmip1 ? row.kmip1 : row.kmip;
  return { name, value: KMIP_RESULT_REASON[name].value };
}

function deepFreeze<T extends Record<string, object>>(o: T): T {
  for (const v of Object.values(o)) Object.freeze(v);
  return Object.freeze(o);
}
