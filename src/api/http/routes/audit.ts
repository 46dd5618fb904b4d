// /v1/audit: reading the node's audit log.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import { credential } from '../credential.js';
import { schemas } from '../schemas.js';

export function auditRoutes(app: FastifyInstance, core: Core): void {
  app.get<{ Querystring: { after?: string; limit?: string } }>(
    '/v1/audit',
    { schema: schemas.listAudit, config: { operation: 'audit.list' } },
    (req) => core.listAudit(credential(req), req.query),
  );
}
