// GET /v1/cluster: the nodes of the cluster, their region, level and liveness (API.md, "Cluster").
// Any valid token may read it (it names no key); outside cluster mode it is 404.
// DELETE /v1/cluster/nodes/{id}: an admin removes a node that is down for good (core/cluster).
import type { FastifyInstance } from 'fastify';
import type { Core } from '../../../core/core.js';
import { authenticate } from '../../../core/auth/authenticate.js';
import { KeymeshError } from '../../../errors.js';
import { credential } from '../credential.js';
import { NODE_ID_PATTERN } from '../../../util/ids.js';
import { errors } from '../schemas.js';

/** What the route needs of the node's membership (src/cluster/membership.ts). */
export interface ClusterInfo {
  selfId: string;
  isLive(): boolean;
  nodes(): {
    id: string;
    region: string;
    level: number;
    endpoints: string[];
    live: boolean;
    attested: boolean;
    startedAt?: string;
  }[];
}

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

export function clusterRoutes(app: FastifyInstance, core: Core, cluster: ClusterInfo | undefined): void {
  app.get(
    '/v1/cluster',
    {
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
    async (req) => {
      await authenticate(core.deps.store, credential(req).principal);
      if (!cluster) throw new KeymeshError('NOT_FOUND', 'this node is not in a cluster');
      return {
        node: cluster.selfId,
        live: cluster.isLive(),
        nodes: cluster.nodes().map((n) => ({
          id: n.id,
          region: n.region,
          level: n.level,
          live: n.live,
          attested: n.attested,
          endpoints: n.endpoints,
          ...(n.startedAt ? { startedAt: n.startedAt } : {}),
        })),
      };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/cluster/nodes/:id',
    {
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
          ...errors('INVALID_REQUEST', 'UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT'),
        },
      },
    },
    (req) => core.removeClusterNode(credential(req), req.params.id),
  );
}
