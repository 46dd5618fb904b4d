// GET /v1/cluster: the nodes of the cluster, their region, level and liveness (API.md, "Cluster").
// Any valid token may read it (core/cluster/describe.ts); outside cluster mode it is 404.
// DELETE /v1/cluster/nodes/{id}: an admin removes a node that is down for good (core/cluster).
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import { credential } from '../credential.js';
import { NODE_ID_PATTERN } from '../../../util/ids.js';

const nodeSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    region: { type: 'string' },
    level: { type: 'integer' },
    live: { type: 'boolean' },
    attested: { type: 'boolean' },
    endpoints: { type: 'array', items: { type: 'string' } },
    startedAt: { type: 'string' },
  },
} as const;

export function clusterRoutes(app: FastifyInstance, core: Core): void {
  app.get(
    '/v1/cluster',
    {
      config: { operation: 'cluster.describe' },
      schema: {
        summary: 'The cluster: every known node with its region, level and liveness',
        response: {
          200: {
            type: 'object',
            properties: {
              node: { type: 'string' },
              live: { type: 'boolean' },
              nodes: { type: 'array', items: nodeSchema },
            },
          },
        },
      },
    },
    (req) => core.describeCluster(credential(req)),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/cluster/nodes/:id',
    {
      config: { operation: 'cluster.remove-node' },
      schema: {
        tags: ['cluster'],
        summary: 'Remove a node that is down from the cluster for good; its replicas are deleted',
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: NODE_ID_PATTERN } },
          required: ['id'],
        },
        response: {
          200: { type: 'object', properties: { removed: { type: 'string' } } },
        },
      },
    },
    (req) => core.removeClusterNode(credential(req), req.params.id),
  );
}
