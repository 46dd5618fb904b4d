// cluster.describe (src/core/cluster/describe.ts) through the dispatcher: any authenticated
// principal reads the cluster's nodes (the call names no key), a caller without a valid token is
// refused, and a node outside any cluster answers NOT_FOUND. The membership here is a stand-in
// (the real one needs etcd; test/cluster/e2e-membership.test.ts reads it on a real cluster).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterDeps, ClusterNode } from '../../../src/core/context.js';
import { assertAnyPrincipal, assertRefused, refuses, useOps } from '../_ops.js';

const NODES: ClusterNode[] = [
  { id: 'n1', region: 'eu', level: 2, endpoints: ['https://127.0.0.1:1'], live: true, attested: true },
  {
    id: 'n2',
    region: 'us',
    level: 1,
    endpoints: ['https://127.0.0.1:2'],
    live: false,
    attested: true,
    startedAt: '2026-12-06T00:00:00.000Z',
  },
];
const membership: ClusterDeps = {
  nodeId: 'n1',
  isLive: () => true,
  liveNodes: () => [],
  nodes: () => NODES,
  awaitApplied: async () => undefined,
  removeNode: async () => undefined,
};

const h = useOps({ cluster: membership });
const alone = useOps();

describe('cluster.describe', () => {
  test('the node, its liveness and every known node; a read: nothing audited', async () => {
    const view = await h.core.describeCluster(h.admin.as('d1'));
    assert.deepEqual(view, { node: 'n1', live: true, nodes: NODES });
    assert.deepEqual(h.audited('d1'), []);
  });

  test('any authenticated principal may read it, whatever its scopes', async () => {
    await assertAnyPrincipal(h, 'cluster.describe', (c) => h.core.describeCluster(c));
  });

  test('no valid token: UNAUTHENTICATED; outside a cluster: NOT_FOUND', async () => {
    await refuses(
      'cluster.describe',
      h.core.describeCluster({ principal: { kind: 'token', token: 'km_bogus' }, requestId: 'd2' }),
      'UNAUTHENTICATED',
    );
    await assertRefused(alone, 'cluster.describe', (c) => alone.core.describeCluster(c), 'NOT_FOUND', 'none');
  });
});
