// The HTTP request's credential, as the core expects it: the bearer token (if any) and the
// request id that ties the audit entry to the log line, and the client's address.
import type { FastifyRequest } from 'fastify';
import type { CallTrace, Credential } from '../../core/context.js';
import { fromBearer } from '../../core/auth/principal.js';

/** Per request: the peer that forwarded it (checked by server.ts), and what the core reports back. */
const forwarded = new WeakMap<FastifyRequest, string>();
const traces = new WeakMap<FastifyRequest, CallTrace>();

/** Called once the peer listener has proven that `peer` sent this request on for its caller. */
export function markForwarded(req: FastifyRequest, peer: string): void {
  forwarded.set(req, peer);
}

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
  const forwardedBy = forwarded.get(req);
  const caller = fromBearer(m ? m[1] : undefined);
  return {
    trace,
    // Over the peer listener, a node proven by its certificate acts for the caller (server.ts).
    principal: forwardedBy !== undefined ? { kind: 'peer', nodeId: forwardedBy, onBehalfOf: caller } : caller,
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
