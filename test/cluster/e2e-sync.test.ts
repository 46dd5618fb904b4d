// Replicas follow the membership in a real cluster (3-member etcd, Keymesh node processes): keys
// created while a node was down reach it when it is back; a node that joins receives every key it
// is eligible for, and only those; an operator removes a node that is down and its replicas go;
// losing an etcd member (the Raft leader) loses nothing and writes go on; and a kill -9 in the
// middle of a burst of key creations leaves every acknowledged key with all its replicas and no
// key half-written. Each node's replica is checked by signing on it (x-keymesh-node names the
// signer: a node signs locally only from its own replica).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, waitFor, type TestNode } from '../helpers/node.js';
import { openEtcdStore } from '../../src/store/etcd.js';
import {
  addNode,
  type ClusterKey,
  type ClusterNodeSpec,
  createKey,
  signOn,
  skipWithoutEtcd,
  SPECS,
  startClusterNode,
  useCluster,
} from './_nodes.js';

const N4: ClusterNodeSpec = { id: 'n4', region: 'us', level: 3 };

type Key = ClusterKey;

const c = useCluster([N4]);
const skip = skipWithoutEtcd;
const nodes = c.nodes;

const byId = (id: string) => nodes.find((n) => n.nodeId === id)!;

const create = (n: TestNode, name: string, placement?: unknown) => createKey(n, c.admin, name, placement);

async function getKey(n: TestNode, id: string): Promise<Key> {
  const r = await n.api<Key>('GET', `/v1/keys/${id}`, undefined, c.admin);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const sign = (n: TestNode, key: Key) => signOn(n, c.admin, key);

async function liveIds(n: TestNode): Promise<string[]> {
  const r = await n.api<{ nodes: { id: string; live: boolean }[] }>('GET', '/v1/cluster', undefined, c.admin);
  return r.body.nodes.filter((x) => x.live).map((x) => x.id);
}

/** Waits until the key's replicas are exactly `want` (sync runs in the background). */
async function replicasBecome(id: string, want: string[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `replicas of ${id} = ${want.join(',')}`,
    async () => JSON.stringify((await getKey(nodes[0]!, id)).replicas) === JSON.stringify(want),
    timeoutMs,
  );
}

test('keys created while a node was down reach it when it is back', { skip }, async () => {
  const n3 = byId('n3');
  await n3.kill9();
  await waitFor('n3 not live', async () => !(await liveIds(nodes[0]!)).includes('n3'));
  const k = await create(nodes[0]!, 'made-while-n3-down');
  assert.equal(k.status, 201, JSON.stringify(k.body));
  assert.deepEqual(k.body.replicas, ['n1', 'n2']);
  // A placement only the down node satisfies is refused, not parked.
  const us = await create(nodes[1]!, 'us-while-down', { regions: ['us'] });
  assert.equal(us.status, 409);
  assert.equal(us.body.error?.code, 'PLACEMENT_UNSATISFIABLE');

  nodes[nodes.indexOf(n3)] = await startClusterNode(SPECS[2]!, c.etcd.endpoints, c.dir, n3.dataDir);
  await replicasBecome(k.body.id, ['n1', 'n2', 'n3']);
  const s = await sign(byId('n3'), k.body);
  assert.equal(s.status, 200);
  assert.equal(s.node, 'n3', 'n3 signs from its own replica, not by forwarding');
});

test('a node that joins receives every key it is eligible for, and only those', { skip }, async () => {
  const all = await create(nodes[0]!, 'join-all');
  const eu = await create(nodes[0]!, 'join-eu', { regions: ['eu'] });
  const high = await create(nodes[2]!, 'join-level-3', { minLevel: 3 });
  const us = await create(nodes[2]!, 'join-us', { regions: ['us'] });
  // `replicas` is a floor, not a cap: such a key is on every eligible node, a joiner included.
  const two = await create(nodes[0]!, 'join-two', { replicas: 2 });
  for (const r of [all, eu, high, us, two]) assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(high.body.replicas, ['n2']);
  assert.deepEqual(us.body.replicas, ['n3']);
  assert.deepEqual(two.body.replicas, ['n1', 'n2', 'n3']);

  nodes.push(await startClusterNode(N4, c.etcd.endpoints, c.dir));
  const n4 = byId('n4');
  await replicasBecome(all.body.id, ['n1', 'n2', 'n3', 'n4']);
  await replicasBecome(high.body.id, ['n2', 'n4']);
  await replicasBecome(us.body.id, ['n3', 'n4']);
  await replicasBecome(two.body.id, ['n1', 'n2', 'n3', 'n4']);
  for (const k of [all, high, us, two]) {
    const s = await sign(n4, k.body);
    assert.equal(s.status, 200);
    assert.equal(s.node, 'n4');
  }
  // Not eligible (eu only): n4 forwards it.
  const fwd = await sign(n4, eu.body);
  assert.equal(fwd.status, 200);
  assert.ok(fwd.node === 'n1' || fwd.node === 'n2', String(fwd.node));
  assert.deepEqual((await getKey(n4, eu.body.id)).replicas, ['n1', 'n2']);
});

test('an operator removes a node that is down; its replicas are deleted everywhere', { skip }, async () => {
  const k = await create(nodes[0]!, 'before-removal');
  assert.deepEqual(k.body.replicas, ['n1', 'n2', 'n3', 'n4']);
  const n4 = byId('n4');
  // A live node cannot be removed (it would just re-register); nor can an unknown one.
  const live = await nodes[0]!.api<Key>('DELETE', '/v1/cluster/nodes/n4', undefined, c.admin);
  assert.equal(live.status, 409, JSON.stringify(live.body));
  const liveCli = await runCli(['cluster', 'remove-node', 'n4', '--url', nodes[0]!.url, '--token', c.admin]);
  assert.equal(liveCli.code, 5, 'the CLI exits 5 on a conflict');
  assert.match(liveCli.stderr, /live/);
  assert.equal((await nodes[0]!.api('DELETE', '/v1/cluster/nodes/nope', undefined, c.admin)).status, 404);
  assert.equal((await nodes[0]!.api('DELETE', '/v1/cluster/nodes/..%2F', undefined, c.admin)).status, 400);
  assert.equal((await nodes[0]!.api('DELETE', '/v1/cluster/nodes/n4', undefined, null)).status, 401);
  const ro = await nodes[0]!.api<{ token: string }>(
    'POST',
    '/v1/tokens',
    { name: 'reader', scopes: ['keys:read'] },
    c.admin,
  );
  assert.equal((await nodes[0]!.api('DELETE', '/v1/cluster/nodes/n4', undefined, ro.body.token)).status, 403);

  await n4.kill9();
  nodes.splice(nodes.indexOf(n4), 1);
  await waitFor('n4 not live', async () => !(await liveIds(nodes[0]!)).includes('n4'));
  // Through the CLI, against n2.
  const r = await runCli([
    'cluster',
    'remove-node',
    'n4',
    '--url',
    nodes[1]!.url,
    '--token',
    c.admin,
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { removed: 'n4' });
  await replicasBecome(k.body.id, ['n1', 'n2', 'n3']);
  const view = await nodes[2]!.api<{ nodes: { id: string }[] }>('GET', '/v1/cluster', undefined, c.admin);
  assert.deepEqual(
    view.body.nodes.map((x) => x.id),
    ['n1', 'n2', 'n3'],
  );
  // No replica record for n4 is left in etcd, for any key.
  const store = await openEtcdStore(c.etcd.endpoints);
  try {
    const left = (await store.list('replicas/', { limit: 1000 })).filter((e) => e.key.endsWith('/n4'));
    assert.deepEqual(
      left.map((e) => e.key),
      [],
    );
  } finally {
    await store.close();
  }
  // The removal is in the audit log of the node that did it.
  const a = await nodes[1]!.api<{ entries: { action: string; outcome: string }[] }>(
    'GET',
    '/v1/audit?limit=1000',
    undefined,
    c.admin,
  );
  assert.ok(a.body.entries.some((e) => e.action === 'cluster.remove-node' && e.outcome === 'allowed'));
});

test('losing the etcd leader loses nothing, and writes go on', { skip }, async () => {
  const before = await create(nodes[0]!, 'before-etcd-loss');
  assert.equal(before.status, 201);
  const leader = await c.etcd.leader();
  assert.notEqual(leader, undefined);
  await c.etcd.kill(leader!);
  // The two members left elect a new leader at once (50 ms heartbeats); the nodes' clients move
  // to them. Creates, signatures and a state change all succeed without the lost member.
  const made: Key[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await waitFor(`create ${i} with one etcd member down`, async () => {
      const c = await create(nodes[i % 3]!, `during-etcd-loss-${i}`);
      return c.status === 201 ? c : undefined;
    });
    assert.deepEqual(r.body.replicas, ['n1', 'n2', 'n3']);
    made.push(r.body);
  }
  for (const k of [before.body, ...made])
    for (const n of nodes) {
      const s = await sign(n, k);
      assert.equal(s.status, 200, `${n.nodeId}: ${JSON.stringify(s)}`);
      assert.equal(s.node, n.nodeId);
    }
  const d = await nodes[1]!.api('POST', `/v1/keys/${made[0]!.id}/state`, { state: 'deactivated' }, c.admin);
  assert.equal(d.status, 200);
  for (const n of nodes) assert.equal((await sign(n, made[0]!)).status, 409);
  await c.etcd.restart(leader!);
  await c.etcd.waitHealthy();
  for (const k of [before.body, ...made]) assert.equal((await getKey(nodes[2]!, k.id)).id, k.id);
});

test(
  'kill -9 during a burst of key creations: every acknowledged key has all its replicas, none is half-written',
  { skip },
  async () => {
    const victim = byId('n2');
    const acked: Key[] = [];
    let stop = false;
    let sent = 0;
    const worker = async (w: number) => {
      for (let i = 0; !stop; i++) {
        sent++;
        try {
          const r = await create(victim, `burst-${w}-${i}`);
          if (r.status === 201) acked.push(r.body);
        } catch {
          return; // the connection died with the node: that creation was never acknowledged
        }
      }
    };
    const workers = [0, 1, 2, 3, 4, 5, 6, 7].map(worker);
    await waitFor('some creations acknowledged', () => acked.length >= 20, 30_000);
    await victim.kill9();
    stop = true;
    await Promise.all(workers);
    assert.ok(acked.length >= 20 && sent > acked.length, `${acked.length} acked of ${sent}`);
    console.log(`# burst: ${acked.length} creations acknowledged of ${sent} sent before kill -9`);
    for (const k of acked) assert.deepEqual(k.replicas, ['n1', 'n2', 'n3']);

    // On the survivors, before the victim is back: every acknowledged key is there, whole.
    for (const k of acked) {
      const got = await getKey(nodes[0]!, k.id);
      assert.equal(got.publicKey, k.publicKey);
      assert.deepEqual(got.replicas, ['n1', 'n2', 'n3']);
    }
    // In etcd: every key record has each replica it lists, every replica and name has its record.
    const store = await openEtcdStore(c.etcd.endpoints);
    try {
      const keys = new Map<string, { name: string; replicas?: string[] }>();
      for (const e of await store.list('keys/', { limit: 1000 }))
        keys.set(e.key.slice(5), JSON.parse(e.value));
      const replicas = new Set((await store.list('replicas/', { limit: 1000 })).map((e) => e.key));
      for (const [id, rec] of keys)
        for (const h of rec.replicas ?? [])
          assert.ok(replicas.has(`replicas/${id}/${h}`), `key ${rec.name} lacks its replica on ${h}`);
      for (const r of replicas) assert.ok(keys.has(r.split('/')[1]!), `orphan replica ${r}`);
      for (const e of await store.list('keynames/', { limit: 1000 }))
        assert.ok(keys.has(e.value), `a name reserved without its key: ${e.key}`);
      for (const k of acked) assert.ok(keys.has(k.id));
    } finally {
      await store.close();
    }
    // Back on its data c.dir, the victim signs every acknowledged key from its own replica.
    nodes[nodes.indexOf(victim)] = await startClusterNode(SPECS[1]!, c.etcd.endpoints, c.dir, victim.dataDir);
    const back = byId('n2');
    await waitFor('n2 live', async () => (await liveIds(back)).includes('n2'));
    for (const k of acked) {
      const s = await sign(back, k);
      assert.equal(s.status, 200);
      assert.equal(s.node, 'n2');
    }
  },
);

test(
  'a node restarted at another level gains the keys it now qualifies for and gives up the others',
  { skip },
  async () => {
    const k = await create(nodes[0]!, 'needs-level-3', { minLevel: 3 });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    assert.deepEqual(k.body.replicas, ['n2']);
    const restartAt = async (id: string, level: number) => {
      const old = byId(id);
      await old.kill9();
      const spec = { ...SPECS.find((s) => s.id === id)!, level };
      // The operator re-issues its certificate for the new level; the old one would be refused.
      await addNode(c.dir, spec);
      nodes[nodes.indexOf(old)] = await startClusterNode(spec, c.etcd.endpoints, c.dir, old.dataDir);
    };
    // n3 (us, level 1) comes back at level 3: it gets a replica.
    await restartAt('n3', 3);
    await replicasBecome(k.body.id, ['n2', 'n3']);
    const s3 = await sign(byId('n3'), k.body);
    assert.equal(s3.node, 'n3');
    // n2 (eu, level 3) comes back at level 1: its replica goes (n3 still has one), and it forwards.
    await restartAt('n2', 1);
    await replicasBecome(k.body.id, ['n3']);
    const s2 = await sign(byId('n2'), k.body);
    assert.equal(s2.status, 200);
    assert.equal(s2.node, 'n3');
  },
);
