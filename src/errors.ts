// Typed errors with stable codes. Every failure Keymesh reports to a caller is a KeymeshError;
// every interface maps `code` through the one error table (error-table.ts), never by message text.
// Messages are for humans and must never contain secret material; whether a code's message may
// reach a caller at all is the table's `exposeMessage`.

export const ErrorCodes = [
  'INVALID_REQUEST', // malformed input: schema, hex, lengths, values
  'MALFORMED_JSON',
  'INVALID_KEY', // a private key that is not a valid scalar/seed for its curve
  'UNSUPPORTED', // an operation the key's algorithm does not offer
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT', // duplicate name, lost compare-and-set
  'INVALID_STATE', // an operation the key's state forbids
  'POLICY_DENIED',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE', // a request body that is not JSON
  'HEADERS_TOO_LARGE', // request line and headers over the HTTP parser's limit
  'REQUEST_TIMEOUT', // the request did not arrive in time (slow or silent client)
  'EXPECTATION_FAILED', // an Expect header other than 100-continue
  'PLACEMENT_UNSATISFIABLE',
  'NO_LIVE_REPLICA',
  'AUDIT_UNAVAILABLE', // the audit log cannot be written: refuse to act
  'ENCLAVE_FAILURE', // the enclave refused or failed (fault check, unseal failure)
  'RECORD_INTEGRITY', // a key or token record read from the store failed its check or its MAC
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class KeymeshError extends Error {
  override readonly name = 'KeymeshError';
  readonly code: ErrorCode;
  /** One sentence, safe to show a caller. */
  readonly shortMessage: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    shortMessage: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(shortMessage, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = opts.details;
  }
}

export const invalid = (msg: string, details?: Record<string, unknown>) =>
  new KeymeshError('INVALID_REQUEST', msg, details ? { details } : {});
export const notFound = (what: string) => new KeymeshError('NOT_FOUND', `${what} not found`);
export const conflict = (msg: string) => new KeymeshError('CONFLICT', msg);

export { callerMessage, ERROR_TABLE, type ErrorRow } from './error-table.js';

export function isKeymeshError(e: unknown): e is KeymeshError {
  return e instanceof KeymeshError;
}
