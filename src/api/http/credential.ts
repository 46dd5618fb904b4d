// The HTTP request's credential, as the core expects it: the bearer token (if any) and the
// request id that ties the audit entry to the log line.
import type { FastifyRequest } from 'fastify';
import type { Credential } from '../../core/context.js';

const BEARER_RE = /^Bearer ([\x21-\x7e]{1,256})$/;

export function credential(req: FastifyRequest): Credential {
  const h = req.headers.authorization;
  const m = typeof h === 'string' ? BEARER_RE.exec(h) : null;
  return { bearer: m ? m[1] : undefined, requestId: req.id };
}
