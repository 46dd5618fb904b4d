// Describing the cluster (GET /v1/cluster): every known node with its region, level, liveness,
// attestation and endpoints. Any authenticated principal may read it (it names no key); a node
// outside a cluster answers NOT_FOUND. Reads are audited only when refused (operations table).
import { KeymeshError } from '../../errors.js';
import type { ClusterNode, OpContext } from '../context.js';

export interface ClusterView {
  node: string;
  live: boolean;
  nodes: ClusterNode[];
}

export function describeCluster(ctx: OpContext): ClusterView {
  const cluster = ctx.deps.cluster;
  if (!cluster) throw new KeymeshError('NOT_FOUND', 'this node is not in a cluster');
  return {
    node: cluster.nodeId,
    live: cluster.isLive(),
    nodes: cluster.nodes().map((n) => ({
      id: n.id,
      region: n.region,
      level: n.level,
      live: n.live,
      attested: n.attested,
      endpoints: [...n.endpoints],
      ...(n.startedAt ? { startedAt: n.startedAt } : {}),
    })),
  };
}
