// Removing a node from the cluster for good (DELETE /v1/cluster/nodes/{id}): an admin call,
// audited before it takes effect. The membership refuses a live node (409) and an unknown one
// (404); once the member record is gone, the holders' sync deletes the node's replicas.
import { KeymeshError } from '../../errors.js';
import { auditAllowed, type OpContext } from '../context.js';

export async function removeClusterNode(ctx: OpContext, nodeId: string): Promise<{ removed: string }> {
  const cluster = ctx.deps.cluster;
  if (!cluster) throw new KeymeshError('NOT_FOUND', 'this node is not in a cluster');
  await auditAllowed(ctx, undefined, { node: nodeId });
  await cluster.removeNode(nodeId);
  return { removed: nodeId };
}
