// cluster.remove-node (src/core/cluster/remove-node.ts) through the dispatcher: audited as allowed
// before the membership is asked, and the membership's answer is the call's. The membership here
// is a stand-in with the real one's refusals (a live node: CONFLICT; an unknown one: NOT_FOUND;
// src/cluster/membership.ts remove), since the real one needs etcd; a node outside any cluster
// answers NOT_FOUND. Only an admin may remove a node.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClusterDeps } from '../../../src/core/context.js';
import { conflict, notFound } from '../../../src/errors.js';
import { allowed, assertForbidden, assertRefused, refuses, useOps } from '../_ops.js';

const nodes = new Map([
  ['n2', { live: false }],
  ['n3', { live: true }],
]);
const removed: string[] = [];
const membership: ClusterDeps = {
  nodeId: 'n1',
  isLive: () => true,
  liveNodes: () => [],
  nodes: () => [],
  awaitApplied: async () => undefined,
  removeNode: async (id) => {
    const n = nodes.get(id);
    if (!n) throw notFound('node');
    if (n.live) throw conflict(`Node ${id} is live: stop it before removing it.`);
    nodes.delete(id);
    removed.push(id);
  },
};

const h = useOps({ cluster: membership });
const alone = useOps();

describe('cluster.remove-node', () => {
  test('a node that is down is removed; audited as allowed', async () => {
    assert.deepEqual(await h.core.removeClusterNode(h.admin.as('x1'), 'n2'), { removed: 'n2' });
    assert.deepEqual(removed, ['n2']);
    assert.deepEqual(h.audited('x1'), [allowed('cluster.remove-node', h.admin)]);
    assert.equal(h.audit.list(0, 100_000).find((e) => e.requestId === 'x1')!.details?.node, 'n2');
  });

  test('without admin: FORBIDDEN, audited as denied, nothing removed', async () => {
    await assertForbidden(h, 'cluster.remove-node', (c) => h.core.removeClusterNode(c, 'n3'));
    assert.ok(nodes.has('n3'));
  });

  test('a live node: CONFLICT; an unknown one: NOT_FOUND; no cluster at all: NOT_FOUND', async () => {
    // The membership refuses after the call was allowed: both entries stand.
    for (const [node, code] of [
      ['n3', 'CONFLICT'],
      ['n9', 'NOT_FOUND'],
    ] as const) {
      await refuses('cluster.remove-node', h.core.removeClusterNode(h.admin.as(`x-${node}`), node), code);
      assert.deepEqual(h.audited(`x-${node}`), [
        allowed('cluster.remove-node', h.admin),
        { action: 'cluster.remove-node', outcome: 'error', actor: h.admin.actor, code },
      ]);
    }
    await assertRefused(
      alone,
      'cluster.remove-node',
      (c) => alone.core.removeClusterNode(c, 'n2'),
      'NOT_FOUND',
      'error',
    );
  });
});
