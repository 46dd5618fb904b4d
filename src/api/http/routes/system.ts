// Health, metrics and API documentation: the routes that need no token.
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import type { NodeMetrics } from '../../../metrics.js';
import { schemas } from '../schemas.js';

export function systemRoutes(app: FastifyInstance, core: Core, metrics: NodeMetrics): void {
  app.get('/v1/health', { schema: schemas.health }, () => core.health());
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
}
