// Fencing (src/cluster/fencing.ts) on a real 3-member etcd cluster, with several in-process
// "nodes", each with its own etcd connection, lease, Membership and StateAcker: a state change
// written by compare-and-set is acknowledged by every live holder and then no node would sign; a
// holder that stops acknowledging is fenced (lease revoked, its TTL waited out) and is not live
// when the call returns, and is live again only after catching up; a crashed holder does not hold
// the call up beyond its lease; holders that were not live, or registered after the change, are
// not waited for; an ack for a later revision counts; it all works with one etcd member down.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { FENCE_MARGIN_MS, StateAcker, awaitAcks, type KeyChange } from '../../src/cluster/fencing.js';
import { Membership } from '../../src/cluster/membership.js';
import { ClusterKeys } from '../../src/cluster/ids.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { clusterCa, eventually, freshNamespace, registration } from './_support.js';

const T = { timeout: 50_000 };
const TTL = 2;
let etcd: EtcdCluster;
const ca = await clusterCa();
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  etcd = await startEtcdCluster(3);
});
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await etcd.stop();
});

interface TestNode {
  id: string;
  store: EtcdStore;
  m: Membership;
  acker: StateAcker;
  states: Map<string, string>;
  /** What the node's signing path would decide right now. */
  canSign(keyId: string): boolean;
}

/** One node. `stall(change)` returning a promise holds its watch (nothing after it is applied). */
async function startNode(
  ns: string,
  id: string,
  stall?: (c: KeyChange) => Promise<void> | undefined,
): Promise<TestNode> {
  const store = await openEtcdStore(etcd.endpoints, {
    namespace: ns,
    callTimeoutMs: 1000,
    opTimeoutMs: 4000,
  });
  closers.push(() => store.close());
  const states = new Map<string, string>();
  const ref: { m?: Membership } = {}; // the acker starts first; its membership comes with join
  const acker = await StateAcker.start(store, () => ref.m, {
    holds: () => true,
    apply: async (c) => {
      await stall?.(c);
      if (c.value === undefined) states.delete(c.keyId);
      else states.set(c.keyId, (JSON.parse(c.value) as { state: string }).state);
    },
    onError: () => undefined,
  });
  closers.push(async () => acker.close());
  const m = await Membership.join(store, registration(ca, id).reg, {
    ttlSeconds: TTL,
    ca: ca.certPem,
    ready: () => acker.resync(),
    onError: () => undefined,
  });
  ref.m = m;
  closers.push(() => m.close());
  return { id, store, m, acker, states, canSign: (k) => m.isLive() && states.get(k) === 'active' };
}

async function createKey(s: EtcdStore, keyId: string): Promise<number> {
  const r = await s.txn(
    [{ key: `keys/${keyId}`, modRevision: 0 }],
    [{ type: 'put', key: `keys/${keyId}`, value: JSON.stringify({ id: keyId, state: 'active' }) }],
  );
  assert.ok(r.ok);
  return r.revision;
}

/** The core's compare-and-set state change: returns the commit revision. */
async function setState(s: EtcdStore, keyId: string, state: string): Promise<number> {
  const e = (await s.get(`keys/${keyId}`))!;
  const rec = { ...(JSON.parse(e.value) as object), state };
  const r = await s.txn(
    [{ key: `keys/${keyId}`, modRevision: e.modRevision }],
    [{ type: 'put', key: `keys/${keyId}`, value: JSON.stringify(rec) }],
  );
  assert.ok(r.ok, 'compare-and-set');
  return r.revision;
}

test('every live holder acknowledges; when awaitAcks returns no node would sign', T, async () => {
  const ns = freshNamespace('acks');
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startNode(ns, id)));
  const [w] = nodes;
  await createKey(w!.store, 'k1');
  await eventually(() => nodes.every((n) => n.canSign('k1')), 3000, 'every node has the key active');

  const timings: number[] = [];
  for (const state of ['deactivated', 'active', 'compromised']) {
    const rev = await setState(w!.store, 'k1', state);
    if (state === 'active') {
      // Re-activation loosens nothing dangerous: no fence, holders do not acknowledge it.
      await eventually(() => nodes.every((n) => n.canSign('k1')), 3000, 'active again everywhere');
      continue;
    }
    const t0 = performance.now();
    const out = await awaitAcks(w!.store, 'k1', rev, ['n1', 'n2', 'n3']);
    timings.push(performance.now() - t0);
    assert.deepEqual(out.acked, ['n1', 'n2', 'n3']);
    assert.deepEqual([out.fenced, out.notLive, out.gone], [[], [], []]);
    for (const n of nodes) assert.equal(n.canSign('k1'), false, `${n.id} would not sign`);
    // The writer cleans its acks up (after answering).
    await eventually(
      async () => (await w!.store.list(ClusterKeys.acksPrefix('k1', rev))).length === 0,
      3000,
      'acks deleted',
    );
  }
  console.log(`  state change in force on 3 holders in ${timings.map((t) => t.toFixed(0)).join(' / ')} ms`);
  assert.ok(timings.every((t) => t < 1000));
});

test(
  'a holder that stops acknowledging is fenced: not live when the call returns, live again after catching up',
  T,
  async () => {
    const ns = freshNamespace('fence');
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    const nodes = await Promise.all([
      startNode(ns, 'n1'),
      startNode(ns, 'n2'),
      startNode(ns, 'n3', (c) => (c.value?.includes('deactivated') ? stuck : undefined)),
    ]);
    const [w, , n3] = nodes;
    await createKey(w!.store, 'k2');
    await eventually(() => nodes.every((n) => n.canSign('k2')), 3000, 'every node has the key active');

    const rev = await setState(w!.store, 'k2', 'deactivated');
    const t0 = performance.now();
    const out = await awaitAcks(w!.store, 'k2', rev, ['n1', 'n2', 'n3']);
    const took = performance.now() - t0;
    // Checked at once: n3 never applied the change, and yet it cannot sign.
    assert.equal(n3!.m.isLive(), false, 'the fenced holder is not live');
    assert.equal(n3!.states.get('k2'), 'active', 'it never applied the change');
    assert.equal(n3!.canSign('k2'), false);
    for (const n of nodes) assert.equal(n.canSign('k2'), false, n.id);
    assert.deepEqual(out.acked, ['n1', 'n2']);
    assert.deepEqual(out.fenced, ['n3']);
    const floor = 2 * TTL * 1000;
    assert.ok(
      took >= floor && took < floor + FENCE_MARGIN_MS + 1500,
      `ack wait + fence wait (${took.toFixed(0)} ms)`,
    );
    console.log(`  fenced a silent holder in ${took.toFixed(0)} ms (TTL ${TTL} s)`);

    // It re-registers but stays not live while its watch is stuck; once it catches up it is live,
    // with the change applied.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(n3!.m.isLive(), false);
    release();
    await eventually(() => n3!.m.isLive(), 5000, 'n3 live again');
    assert.equal(n3!.states.get('k2'), 'deactivated');
    assert.equal(n3!.canSign('k2'), false);
  },
);

test('a crashed holder holds the call up no longer than its lease', T, async () => {
  const ns = freshNamespace('crash');
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startNode(ns, id)));
  const [w, , n3] = nodes;
  await createKey(w!.store, 'k3');
  await eventually(() => nodes.every((n) => n.canSign('k3')), 3000, 'active everywhere');
  await n3!.store.close(); // like kill -9: keepalives stop, nothing is revoked
  const rev = await setState(w!.store, 'k3', 'destroyed');
  const t0 = performance.now();
  const out = await awaitAcks(w!.store, 'k3', rev, ['n1', 'n2', 'n3']);
  const took = performance.now() - t0;
  assert.deepEqual(out.acked, ['n1', 'n2']);
  assert.deepEqual([...out.gone, ...out.fenced], ['n3']);
  assert.ok(took < 2 * TTL * 1000 + FENCE_MARGIN_MS + 1500, `${took.toFixed(0)} ms`);
  assert.equal(n3!.m.isLive(), false);
});

test('not-live holders, holders registered after the change, and acks of later revisions', T, async () => {
  const ns = freshNamespace('edges');
  const n1 = await startNode(ns, 'n1');
  await createKey(n1.store, 'k4');
  await eventually(() => n1.canSign('k4'), 3000, 'active');
  const rev1 = await setState(n1.store, 'k4', 'deactivated');
  // n5 joins after the change: caught up by registration, not waited for. n9 was never here.
  const n5 = await startNode(ns, 'n5');
  assert.equal(n5.states.get('k4'), 'deactivated');
  const t0 = performance.now();
  const out = await awaitAcks(n1.store, 'k4', rev1, ['n1', 'n5', 'n9']);
  assert.deepEqual(out.acked, ['n1']);
  assert.deepEqual(out.notLive, ['n5', 'n9']);
  assert.ok(performance.now() - t0 < 1000);

  // Two changes in a row; a writer waiting on the first accepts acks of the second.
  const rev2 = await setState(n1.store, 'k4', 'compromised');
  await Promise.all([n1.acker.idle(), n5.acker.idle()]);
  const out2 = await awaitAcks(n1.store, 'k4', rev1, ['n1', 'n5']);
  assert.deepEqual(out2.acked.length + out2.notLive.length, 2);
  const out3 = await awaitAcks(n1.store, 'k4', rev2, ['n1', 'n5']);
  assert.deepEqual(out3.acked, ['n1', 'n5']);
  await assert.rejects(awaitAcks(n1.store, 'bad/key', rev2, []), /key id/);
  await assert.rejects(awaitAcks(n1.store, 'k4', 0, []), /revision/);
  await assert.rejects(awaitAcks(n1.store, 'k4', rev2, ['not a node']), /node id/);
});

test('with one etcd member down, state changes are still acknowledged everywhere', T, async () => {
  const ns = freshNamespace('member-down');
  const nodes = await Promise.all(['n1', 'n2', 'n3'].map((id) => startNode(ns, id)));
  const [w] = nodes;
  await createKey(w!.store, 'k5');
  await eventually(() => nodes.every((n) => n.canSign('k5')), 3000, 'active everywhere');
  const leader = (await etcd.leader()) ?? 0;
  await etcd.kill(leader);
  try {
    const rev = await setState(w!.store, 'k5', 'deactivated');
    const out = await awaitAcks(w!.store, 'k5', rev, ['n1', 'n2', 'n3']);
    // A node whose connection was on the killed member may have lost its lease meanwhile
    // (gone/fenced); none may still sign.
    assert.equal(out.acked.length + out.gone.length + out.fenced.length, 3, JSON.stringify(out));
    for (const n of nodes) assert.equal(n.canSign('k5'), false, n.id);
  } finally {
    await etcd.restart(leader);
  }
});
