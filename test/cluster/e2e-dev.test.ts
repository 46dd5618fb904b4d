// A development cluster from the contract's flags alone (API.md, "Cluster"): three `keymesh start
// --dev` nodes given only --cluster, --node-id, --region and --level (and --http/--data-dir as
// every test node) against a real etcd. No cluster dir: the first node makes a development CA in
// etcd, each node issues itself a certificate for its region and level, and peers listen on free
// ports. Placement, attestation and forwarding work as in a production cluster; a non-dev node
// still needs --cluster-dir.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { startNode, type TestNode } from '../helpers/node.js';
import { contractFlags, createKey, signOn, skipWithoutEtcd, SPECS } from './_nodes.js';

const skip = skipWithoutEtcd;
let etcd: EtcdCluster;
const nodes: TestNode[] = [];

before(async () => {
  if (skip) return;
  etcd = await startEtcd();
  // Started together: they must agree on one development CA.
  nodes.push(...(await Promise.all(SPECS.map((s) => startNode({ args: contractFlags(s, etcd.endpoints) })))));
});

after(async () => {
  for (const n of nodes) await n.kill9();
  await etcd?.stop();
});

test(
  'three --dev nodes started with the contract flags alone form an attested cluster',
  { skip },
  async () => {
    const admin = nodes.map((n) => n.adminToken).filter((t) => t.length > 0);
    assert.equal(admin.length, 1, 'exactly one node bootstrapped the admin token');
    const token = admin[0]!;
    for (const n of nodes) {
      const r = await n.api<{ nodes: { id: string; live: boolean; attested: boolean; level: number }[] }>(
        'GET',
        '/v1/cluster',
        undefined,
        token,
      );
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.nodes.map((x) => [x.id, x.level, x.live, x.attested]),
        SPECS.map((s) => [s.id, s.level, true, true]),
      );
    }
    const us = await createKey(nodes[0]!, token, 'dev-us', { regions: ['us'] });
    assert.equal(us.status, 201, JSON.stringify(us.body));
    assert.deepEqual(us.body.replicas, ['n3']);
    const s = await signOn(nodes[1]!, token, us.body);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.node, 'n3', 'n2 (eu) forwarded to n3, the only holder');
  },
);

test('without --dev a cluster node needs --cluster-dir', { skip }, async () => {
  const err = await startNode({
    dev: false,
    args: contractFlags({ id: 'n9', region: 'eu', level: 1 }, etcd.endpoints),
  }).then(
    () => assert.fail('started'),
    (e: Error) => e.message,
  );
  assert.match(err, /needs --cluster-dir/);
});
