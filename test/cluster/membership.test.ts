// Membership (src/cluster/membership.ts) on real etcd: nodes register under leases and see each
// other through list+watch (no gaps, also for nodes joining concurrently with the view starting);
// a closed node stays a member but is not live; a node whose lease is revoked (fenced) or lapses
// (etcd unreachable) is not live at once, re-registers with a new lease and is live again only
// after its `ready` catch-up; duplicates are refused; unattested and malformed records never reach
// placement.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Membership, parseNodeRecord, type NodeView } from '../../src/cluster/membership.js';
import { revokeLeaseById } from '../../src/cluster/fencing.js';
import { ClusterKeys } from '../../src/cluster/ids.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { KeymeshError } from '../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { clusterCa, eventually, freshNamespace, registration } from './_support.js';

const T = { timeout: 40_000 };
const TTL = 2;
let etcd: EtcdCluster;
const ca = await clusterCa();
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  etcd = await startEtcd();
});
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  await etcd.stop();
});

async function store(ns: string, endpoints = etcd.endpoints): Promise<EtcdStore> {
  const s = await openEtcdStore(endpoints, { namespace: ns, callTimeoutMs: 1000, opTimeoutMs: 3000 });
  closers.push(() => s.close());
  return s;
}

async function join(
  ns: string,
  id: string,
  region = 'eu-west',
  level = 1,
  extra: Parameters<typeof Membership.join>[2] = {},
) {
  const s = await store(ns);
  const errors: Error[] = [];
  const m = await Membership.join(s, registration(ca, id, region, level).reg, {
    ttlSeconds: TTL,
    ca: ca.certPem,
    onError: (e) => errors.push(e),
    ...extra,
  });
  closers.push(() => m.close());
  return { m, s, errors };
}

const ids = (nodes: NodeView[]) => nodes.map((n) => n.id);

test('nodes register under a lease and see each other, attested, through the watch', T, async () => {
  const ns = freshNamespace('members');
  const a = await join(ns, 'node-a', 'eu-west', 3);
  assert.equal(a.m.isLive(), true);
  assert.deepEqual(ids(a.m.liveNodes()), ['node-a']);
  const b = await join(ns, 'node-b', 'us-east', 5);
  const c = await join(ns, 'node-c', 'us-east', 1);
  // Each node learns of the others through its own watch: wait for every view, not just A's.
  for (const x of [a, b, c])
    await eventually(() => x.m.liveNodes().length === 3, 3000, 'each node sees all three');
  for (const x of [a, b, c]) assert.deepEqual(ids(x.m.liveNodes()), ['node-a', 'node-b', 'node-c']);
  const viewB = a.m.node('node-b')!;
  assert.equal(viewB.region, 'us-east');
  assert.equal(viewB.level, 5);
  assert.equal(viewB.live, true);
  assert.equal(viewB.attested, true);
  assert.match(viewB.lease!, /^[1-9][0-9]*$/);
  assert.equal(viewB.leaseTtlSeconds, TTL);

  // The records in etcd: leased node record (lease id inside), persistent member record.
  const rec = parseNodeRecord((await a.s.get(ClusterKeys.node('node-b')))!.value, 'node-b')!;
  assert.equal(rec.lease, b.m.lease!.id);
  assert.ok(await a.s.get(ClusterKeys.member('node-b')));

  // Closing a node: its lease is revoked, it is a member but not live, everywhere at once.
  const changes: string[][] = [];
  a.m.onChange((nodes) => changes.push(ids(nodes.filter((n) => n.live))));
  await c.m.close();
  assert.equal(c.m.isLive(), false);
  await eventually(() => a.m.node('node-c')?.live === false, 2000, 'A sees C not live');
  assert.deepEqual(ids(a.m.nodes()), ['node-a', 'node-b', 'node-c']);
  assert.deepEqual(ids(a.m.liveNodes()), ['node-a', 'node-b']);
  assert.deepEqual(changes.at(-1), ['node-a', 'node-b']);

  // Leaving for good removes the member record too.
  await b.m.leave();
  await eventually(() => a.m.node('node-b') === undefined, 2000, 'A forgets B');
  assert.deepEqual(a.errors, []);
});

test('no gaps: nodes joining while a view starts are all seen', T, async () => {
  const ns = freshNamespace('nogaps');
  const joining = Array.from({ length: 8 }, (_, i) => join(ns, `n${i}`));
  const viewer = join(ns, 'viewer');
  await Promise.all([...joining, viewer]);
  const v = (await viewer).m;
  await eventually(() => v.liveNodes().length === 9, 3000, 'the viewer sees all 9');
});

test(
  'a revoked (fenced) lease: not live at once, re-registered with a new lease after catching up',
  T,
  async () => {
    const ns = freshNamespace('fenced');
    let readyCalls = 0;
    let gate: Promise<void> = Promise.resolve();
    const a = await join(ns, 'node-a', 'eu-west', 1, {
      ready: async () => {
        readyCalls++;
        await gate;
      },
    });
    const w = await join(ns, 'watcher');
    const livenessFlips: boolean[] = [];
    a.m.onLiveChange((live) => livenessFlips.push(live));
    assert.equal(readyCalls, 1);
    const firstLease = a.m.lease!.id;

    let release!: () => void;
    gate = new Promise((r) => (release = r));
    await revokeLeaseById(w.s, firstLease);
    const took = await eventually(() => !a.m.isLive(), TTL * 1000 + 500, 'A knows it lost its lease');
    assert.ok(took <= TTL * 1000 + 200, `within its TTL (${took} ms)`);
    // Re-registered (a new lease, visible to others) but still catching up: not live.
    await eventually(() => readyCalls === 2, 3000, 're-registration reached ready');
    assert.notEqual(a.m.lease!.id, firstLease);
    assert.equal(a.m.isLive(), false);
    await eventually(() => w.m.node('node-a')?.lease === a.m.lease!.id, 2000, 'others see the new lease');
    release();
    await eventually(() => a.m.isLive(), 2000, 'live again after catching up');
    assert.deepEqual(livenessFlips, [false, true]);
  },
);

test(
  'a lease that lapses while etcd is unreachable: not live within the TTL, back after etcd returns',
  T,
  async () => {
    const own = await startEtcd();
    closers.push(() => own.stop());
    const s = await openEtcdStore(own.endpoints, {
      namespace: 'lapse/',
      callTimeoutMs: 500,
      opTimeoutMs: 1000,
    });
    closers.push(() => s.close());
    const m = await Membership.join(s, registration(ca, 'node-l').reg, {
      ttlSeconds: TTL,
      ca: ca.certPem,
      onError: () => undefined,
    });
    closers.push(() => m.close());
    const before = m.lease!.id;
    await own.kill(0);
    const t0 = Date.now();
    await eventually(() => !m.isLive(), TTL * 1000 + 500, 'not live without etcd');
    assert.ok(Date.now() - t0 <= TTL * 1000 + 100, 'no later than its TTL after the last renewal');
    await own.restart(0);
    await eventually(() => m.isLive(), 10_000, 're-registered once etcd is back');
    assert.notEqual(m.lease!.id, before);
  },
);

test('an operator deleting the node record makes the node re-register', T, async () => {
  const ns = freshNamespace('deleted');
  const a = await join(ns, 'node-a');
  const lease = a.m.lease!.id;
  await a.s.delete(ClusterKeys.node('node-a'));
  await eventually(() => a.m.lease?.id !== lease && a.m.isLive(), 5000, 're-registered');
  assert.ok(await a.s.get(ClusterKeys.node('node-a')));
});

test('a second live process with the same node id is refused', T, async () => {
  const ns = freshNamespace('dup');
  await join(ns, 'node-a');
  const s = await store(ns);
  await assert.rejects(
    Membership.join(s, registration(ca, 'node-a').reg, {
      ttlSeconds: TTL,
      duplicateWaitMs: 500,
      onError: () => undefined,
    }),
    (e: unknown) => e instanceof KeymeshError && e.code === 'CONFLICT',
  );
});

test(
  'unattested or malformed records never count as live nodes; a node with a bad attestation cannot join',
  T,
  async () => {
    const ns = freshNamespace('attest');
    const a = await join(ns, 'node-a');
    // Attested for another transport key, another level, or by another CA: listed, not placeable.
    const s = await store(ns);
    const other = await clusterCa();
    const liars = [
      registration(ca, 'liar-key', 'eu-west', 1, { attestFor: { transport: new Uint8Array(32).fill(9) } })
        .reg,
      registration(ca, 'liar-level', 'eu-west', 9, { attestFor: { level: 1 } }).reg,
      registration(ca, 'liar-region', 'us-east', 1, { attestFor: { region: 'eu-west' } }).reg,
      registration(other, 'stranger').reg,
    ];
    for (const reg of liars) {
      const m = await Membership.join(s, reg, { ttlSeconds: TTL, onError: () => undefined }); // no CA: not checked on join
      closers.push(() => m.close());
    }
    await eventually(() => a.m.nodes().length === 5, 3000, 'A lists everyone');
    assert.deepEqual(ids(a.m.liveNodes()), ['node-a']);
    for (const n of a.m.nodes()) assert.equal(n.attested, n.id === 'node-a', n.id);

    // Malformed records are left out and reported.
    await s.put(ClusterKeys.member('garbage'), '{"id":"garbage"');
    await s.put(ClusterKeys.member('other-id'), JSON.stringify({ ...liars[0], id: 'someone-else' }));
    await eventually(() => a.errors.length >= 2, 2000, 'reported');
    assert.equal(a.m.node('garbage'), undefined);
    assert.equal(a.m.node('other-id'), undefined);

    // With the CA, a node cannot join on an attestation that is not its own.
    await assert.rejects(
      Membership.join(s, liars[1]!, { ttlSeconds: TTL, ca: ca.certPem }),
      (e: unknown) => e instanceof KeymeshError && e.code === 'FORBIDDEN',
    );
    await assert.rejects(
      Membership.join(s, { ...liars[1]!, endpoints: ['http://x:1'] }, { ttlSeconds: TTL }),
      (e: unknown) => e instanceof KeymeshError && e.code === 'INVALID_REQUEST',
    );
  },
);

test(
  'freshLiveNodes reads etcd, not the view: a node live the moment its join resolves; callers at once share one read',
  T,
  async () => {
    const ns = freshNamespace('fresh');
    const a = await join(ns, 'node-a');
    const b = await join(ns, 'node-b', 'us-east', 2);
    // No waiting for a's watch: the read is linearizable, and b's join resolved after its write.
    const fresh = await a.m.freshLiveNodes();
    assert.deepEqual([...fresh.keys()].sort(), ['node-a', 'node-b']);
    const nb = fresh.get('node-b')!;
    assert.equal(nb.live, true);
    assert.equal(nb.attested, true);
    assert.equal(nb.region, 'us-east');
    assert.equal(nb.lease, b.m.lease!.id);
    // A malformed record is left out, as in the view.
    await a.s.put(ClusterKeys.node('node-x'), 'not a record');
    assert.ok(!(await a.m.freshLiveNodes()).has('node-x'));

    // 40 callers at once: one read in flight and at most one queued behind it.
    let reads = 0;
    const list = a.s.list.bind(a.s);
    a.s.list = (...args: Parameters<EtcdStore['list']>) => {
      reads++;
      return list(...args);
    };
    const all = await Promise.all(Array.from({ length: 40 }, () => a.m.freshLiveNodes()));
    assert.ok(reads >= 1 && reads <= 2, `${reads} reads`);
    for (const r of all) assert.ok(r.has('node-b'));
    // b stops (its lease revoked): etcd's answer drops it at once.
    await b.m.close();
    assert.ok(!(await a.m.freshLiveNodes()).has('node-b'), 'a closed node is gone at once');
  },
);
