// The HTTP request's credential, as the core expects it: the bearer token (if any) and the
// request id that ties the audit entry to the log line, and the client's address.
import type { FastifyRequest } from 'fastify';
import type { CallTrace, Credential } from '../../core/context.js';
import { fromBearer } from '../../core/auth/principal.js';

/** Per request: what the core reports back (where a key-using call ran). */
const traces = new WeakMap<FastifyRequest, CallTrace>();

export function traceOf(req: FastifyRequest): CallTrace | undefined {
  return traces.get(req);
}

const BEARER_RE = /^Bearer ([\x21-\x7e]{1,256})$/;

export function credential(req: FastifyRequest): Credential {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? BEARER_RE.exec(h) : null;
  const inputError = req.validationError?.message;
  // The socket's peer address: the server trusts no proxy header, so a client cannot choose it.
  const source = req.socket?.remoteAddress;
  let trace = traces.get(req);
  if (!trace) traces.set(req, (trace = {}));
  return {
    trace,
    principal: fromBearer(m ? m[1] : undefined),
    requestId: req.id,
    ...(source ? { source } : {}),
    ...(inputError ? { inputError } : {}),
  };
}

/** The body as an object; with attachValidation a handler may see any JSON value. */
export function bodyOf<T>(req: FastifyRequest): T {
  const b = req.body;
  return (b !== null && typeof b === 'object' && !Array.isArray(b) ? b : {}) as T;
}
