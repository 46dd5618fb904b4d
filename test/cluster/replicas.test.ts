// Replicas (src/cluster/replicas.ts): a key is created with all its replicas in one etcd
// transaction, each node opens only its own replica from what etcd holds, a conflicting create
// writes nothing, and no plaintext key byte is stored; the sync plan adds replicas for nodes that
// joined, came back or became eligible (only by the designated holder), removes those of nodes that
// left or became ineligible and of destroyed keys, and a sync write loses to a concurrent change.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getRandomValues } from 'node:crypto';
import {
  ReplicaKeys,
  createWithReplicasTxn,
  parseReplica,
  planSync,
  syncTxn,
  type ReplicaRecord,
  type SyncKey,
  type SyncNode,
} from '../../src/cluster/replicas.js';
import { generateTransportKeyPair, unwrapAtNode, wrapToNode } from '../../src/enclave/crypto/wrap.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { KeymeshError } from '../../src/errors.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { freshNamespace } from './_support.js';

let etcd: EtcdCluster;
let store: EtcdStore;
before(async () => {
  etcd = await startEtcd();
  store = await openEtcdStore(etcd.endpoints, { namespace: freshNamespace('replicas') });
});
after(async () => {
  await store.close();
  await etcd.stop();
});

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const keyId = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

function replicasFor(
  material: Uint8Array,
  nodes: { id: string; pub: Uint8Array }[],
  id = keyId,
): ReplicaRecord[] {
  return nodes.map((n) => ({
    keyId: id,
    version: 1,
    algorithm: 'secp256k1',
    nodeId: n.id,
    transportPublicKey: hex(n.pub),
    wrapped: Buffer.from(
      wrapToNode(material, n.pub, { keyId: id, version: 1, algorithm: 'secp256k1', nodeId: n.id }),
    ).toString('base64'),
    wrappedBy: 'n1',
    createdAt: new Date().toISOString(),
  }));
}

test(
  'a key and all its replicas are written in one transaction; each node opens only its own',
  { timeout: 20_000 },
  async () => {
    const nodes = ['n1', 'n2', 'n3'].map((id) => ({ id, ...generateTransportKeyPair() }));
    const material = Uint8Array.of(0x01, ...getRandomValues(new Uint8Array(32)));
    const reps = replicasFor(
      material,
      nodes.map((n) => ({ id: n.id, pub: n.publicKey })),
    );
    const record = { key: `keys/${keyId}`, value: JSON.stringify({ id: keyId, state: 'active' }) };
    const nameIdx = { key: 'keynames/abc', value: keyId };
    const t = createWithReplicasTxn(record, reps, {
      compares: [{ key: nameIdx.key, modRevision: 0 }],
      ops: [{ type: 'put', ...nameIdx }],
    });
    const res = await store.txn(t.compares, t.ops);
    assert.ok(res.ok);
    const listed = await store.list(ReplicaKeys.prefix(keyId));
    assert.deepEqual(
      listed.map((e) => e.key.split('/').pop()),
      ['n1', 'n2', 'n3'],
    );
    assert.ok(
      listed.every((e) => e.modRevision === res.revision),
      'one revision: one transaction',
    );
    for (const n of nodes) {
      const e = listed.find((x) => x.key.endsWith('/' + n.id))!;
      const r = parseReplica(e.value, keyId, n.id)!;
      const blob = new Uint8Array(Buffer.from(r.wrapped, 'base64'));
      const b = { keyId, version: 1, algorithm: 'secp256k1' as const };
      assert.equal(hex(unwrapAtNode(blob, n.privateKey, { ...b, nodeId: n.id })), hex(material));
      for (const other of nodes.filter((o) => o !== n))
        assert.throws(() => unwrapAtNode(blob, other.privateKey, { ...b, nodeId: other.id }), KeymeshError);
    }
    // The same create again (or any create racing it) writes nothing at all.
    const again = createWithReplicasTxn(
      record,
      replicasFor(material, [{ id: 'n4', pub: generateTransportKeyPair().publicKey }]),
    );
    assert.equal((await store.txn(again.compares, again.ops)).ok, false);
    assert.equal(await store.get(ReplicaKeys.replica(keyId, 'n4')), undefined);
    // No plaintext key byte sequence in anything stored, in any encoding we use.
    const secret = material.subarray(1);
    const all = await store.list('');
    const forms = [Buffer.from(secret).toString('hex'), Buffer.from(secret).toString('base64').slice(4, 36)];
    for (const e of all) for (const f of forms) assert.ok(!e.value.includes(f), `plaintext in ${e.key}`);
    const raw = Buffer.concat(all.map((e) => Buffer.from(e.value)));
    assert.equal(raw.indexOf(Buffer.from(secret.subarray(0, 16))), -1);
  },
);

test('createWithReplicasTxn refuses mixed, duplicate, empty or oversized replica sets', () => {
  const pub = generateTransportKeyPair().publicKey;
  const [a] = replicasFor(Uint8Array.of(1, 2), [{ id: 'n1', pub }]);
  const rec = { key: 'keys/x', value: '{}' };
  const code = (fn: () => unknown) => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return (e as KeymeshError).code;
    }
  };
  assert.equal(
    code(() => createWithReplicasTxn(rec, [])),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => createWithReplicasTxn(rec, [a!, a!])),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => createWithReplicasTxn(rec, [a!, { ...a!, nodeId: 'n2', version: 2 }])),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => createWithReplicasTxn(rec, [{ ...a!, wrapped: 'not base64!' }])),
    'INVALID_REQUEST',
  );
  assert.equal(
    code(() => createWithReplicasTxn(rec, [{ ...a!, nodeId: '../x' }])),
    'INVALID_REQUEST',
  );
  const many = Array.from({ length: 128 }, (_, i) => ({ ...a!, nodeId: `n${i}` }));
  assert.equal(
    code(() => createWithReplicasTxn(rec, many)),
    'INVALID_REQUEST',
  );
  assert.equal(parseReplica(JSON.stringify(a), keyId, 'n2'), undefined, 'not at its own key');
  assert.equal(parseReplica('{', keyId, 'n1'), undefined);
});

const P = (c: string) => '0x' + c.repeat(64);
const node = (id: string, region: string, level: number, extra: Partial<SyncNode> = {}): SyncNode => ({
  id,
  region,
  level,
  live: true,
  attested: true,
  transportPublicKey: P(id.slice(-1)),
  ...extra,
});

test('planSync: joiners, returners and newly eligible nodes get replicas, from the designated holder only', () => {
  const nodes = [
    node('n1', 'eu', 3),
    node('n2', 'eu', 5),
    node('n3', 'us', 5),
    node('n4', 'us', 1), // joined: not yet a holder
    node('n5', 'eu', 9, { live: false }), // down: keeps its place, not wrapped to now
    node('n6', 'eu', 9, { attested: false }), // unattested: never wrapped to
  ];
  const keys: SyncKey[] = [
    {
      keyId: 'all',
      state: 'active',
      placement: {},
      replicas: [
        { nodeId: 'n2', transportPublicKey: P('2') },
        { nodeId: 'n1', transportPublicKey: P('1') },
      ],
    },
    {
      keyId: 'eu-only',
      state: 'deactivated',
      placement: { regions: ['eu'] },
      replicas: [{ nodeId: 'n2', transportPublicKey: P('2') }],
    },
    {
      keyId: 'lvl5',
      state: 'active',
      placement: { minLevel: 5 },
      replicas: [
        { nodeId: 'n3', transportPublicKey: P('3') },
        { nodeId: 'n2', transportPublicKey: P('0') },
      ],
    },
  ];
  const p1 = planSync('n1', keys, nodes);
  assert.deepEqual(p1, {
    wrap: [
      { keyId: 'all', nodeId: 'n3', transportPublicKey: P('3') },
      { keyId: 'all', nodeId: 'n4', transportPublicKey: P('4') },
    ],
    remove: [],
  });
  // n2's replica of lvl5 was made for a transport key it no longer has: it cannot act for lvl5,
  // and n3 (the other holder) re-wraps to it.
  assert.deepEqual(planSync('n2', keys, nodes), {
    wrap: [{ keyId: 'eu-only', nodeId: 'n1', transportPublicKey: P('1') }],
    remove: [],
  });
  assert.deepEqual(planSync('n3', keys, nodes), {
    wrap: [{ keyId: 'lvl5', nodeId: 'n2', transportPublicKey: P('2') }],
    remove: [],
  });
  assert.deepEqual(planSync('n4', keys, nodes), { wrap: [], remove: [] });
  // n5 comes back: the designated holders wrap to it.
  const back = nodes.map((n) => (n.id === 'n5' ? { ...n, live: true } : n));
  const short = (id: string, ns: SyncNode[]) =>
    planSync(id, keys, ns).wrap.map((w) => `${w.keyId}>${w.nodeId}`);
  assert.deepEqual(short('n1', back), ['all>n3', 'all>n4', 'all>n5']);
  assert.deepEqual(short('n2', back), ['eu-only>n1', 'eu-only>n5']);
  assert.deepEqual(short('n3', back), ['lvl5>n2', 'lvl5>n5']);
  // The designated holder is dead: the next live holder takes over.
  const n1Dead = nodes.map((n) => (n.id === 'n1' ? { ...n, live: false } : n));
  assert.deepEqual(short('n2', n1Dead), ['all>n3', 'all>n4']);
  assert.deepEqual(short('n1', n1Dead), []);
});

test('planSync: leavers, ineligible nodes and destroyed keys lose replicas; a down node keeps its own', () => {
  const nodes = [node('n1', 'eu', 3), node('n2', 'us', 1), node('n3', 'eu', 3, { live: false })];
  const keys: SyncKey[] = [
    {
      keyId: 'eu-only',
      state: 'active',
      placement: { regions: ['eu'] },
      replicas: [
        { nodeId: 'n1', transportPublicKey: P('1') },
        { nodeId: 'n2', transportPublicKey: P('2') }, // moved to us: no longer eligible
        { nodeId: 'n3', transportPublicKey: P('3') }, // down: keeps it
        { nodeId: 'n9', transportPublicKey: P('9') }, // left the cluster
      ],
    },
    {
      keyId: 'gone',
      state: 'destroyed',
      placement: {},
      replicas: [
        { nodeId: 'n1', transportPublicKey: P('1') },
        { nodeId: 'n3', transportPublicKey: P('3') },
      ],
    },
    {
      keyId: 'orphan',
      state: undefined,
      placement: {},
      replicas: [{ nodeId: 'n9', transportPublicKey: P('9') }],
    },
  ];
  assert.deepEqual(planSync('n1', keys, nodes), {
    wrap: [],
    remove: [
      { keyId: 'eu-only', nodeId: 'n2' },
      { keyId: 'eu-only', nodeId: 'n9' },
      { keyId: 'gone', nodeId: 'n1' },
      { keyId: 'gone', nodeId: 'n3' },
      { keyId: 'orphan', nodeId: 'n9' },
    ],
  });
  assert.deepEqual(planSync('n2', keys, nodes), { wrap: [], remove: [] });
  assert.throws(() => planSync('n1', keys, [...nodes, nodes[0]!]), KeymeshError);
});

test('planSync never removes the last copy: an ineligible sole holder keeps its replica until another has one', () => {
  // n2 held a level-3 key alone and was restarted at level 1; n1 is now level 3.
  const nodes = [node('n1', 'eu', 3), node('n2', 'eu', 1)];
  const sole: SyncKey = {
    keyId: 'high',
    state: 'active',
    placement: { minLevel: 3 },
    replicas: [{ nodeId: 'n2', transportPublicKey: P('2') }],
  };
  // n2 (the designated holder: the only live one) wraps to n1 and deletes nothing yet.
  assert.deepEqual(planSync('n2', [sole], nodes), {
    wrap: [{ keyId: 'high', nodeId: 'n1', transportPublicKey: P('1') }],
    remove: [],
  });
  // Once n1 has its replica, n2's goes.
  const both = { ...sole, replicas: [...sole.replicas, { nodeId: 'n1', transportPublicKey: P('1') }] };
  assert.deepEqual(planSync('n1', [both], nodes), { wrap: [], remove: [{ keyId: 'high', nodeId: 'n2' }] });
  // No eligible node at all, or the only holder removed from the cluster: the copy stays.
  assert.deepEqual(planSync('n2', [sole], [node('n2', 'eu', 1)]), { wrap: [], remove: [] });
  const left = { ...sole, placement: {}, replicas: [{ nodeId: 'n9', transportPublicKey: P('9') }] };
  assert.deepEqual(planSync('n1', [left], nodes).remove, []);
});

test(
  'a sync write is guarded by the key record: it loses to a state change made meanwhile',
  { timeout: 20_000 },
  async () => {
    const id = '0190a1b2-c3d4-7e5f-8a9b-000000000002';
    const pub = generateTransportKeyPair().publicKey;
    const material = Uint8Array.of(1, ...getRandomValues(new Uint8Array(32)));
    const [r1, r2] = replicasFor(
      material,
      [
        { id: 'n1', pub },
        { id: 'n2', pub },
      ],
      id,
    );
    const c = createWithReplicasTxn({ key: `keys/${id}`, value: '{"state":"active"}' }, [r1!]);
    assert.ok((await store.txn(c.compares, c.ops)).ok);
    const seen = (await store.get(`keys/${id}`))!;
    await store.put(`keys/${id}`, '{"state":"destroyed"}');
    const s = syncTxn({ key: `keys/${id}`, modRevision: seen.modRevision }, [r2!], []);
    assert.equal((await store.txn(s.compares, s.ops)).ok, false);
    assert.equal(await store.get(ReplicaKeys.replica(id, 'n2')), undefined);
    const now = (await store.get(`keys/${id}`))!;
    const clean = syncTxn(
      { key: `keys/${id}`, modRevision: now.modRevision },
      [],
      [{ keyId: id, nodeId: 'n1' }],
    );
    assert.ok((await store.txn(clean.compares, clean.ops)).ok);
    assert.deepEqual(await store.list(ReplicaKeys.prefix(id)), []);
  },
);
