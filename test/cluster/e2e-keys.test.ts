// Keys in a real cluster: a 3-member etcd Raft cluster and 3 Keymesh node processes (eu/2, eu/3,
// us/1). Default placement puts a replica on every node; region and level placement only where
// allowed; a node without a replica forwards over mutual TLS and the signature verifies (noble);
// both nodes audit the call under one request id; a kill -9 leaves the others signing, a key only
// the dead node held answers 503 NO_LIVE_REPLICA and signs again once it is back; and etcd's
// data dir holds no byte of an imported private key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { getBytes, Transaction, verifyMessage } from 'ethers';
import { waitFor, type TestNode } from '../helpers/node.js';
import {
  type ClusterKey,
  createKey,
  signOn,
  skipWithoutEtcd,
  SPECS,
  startClusterNode,
  useCluster,
} from './_nodes.js';

type Key = ClusterKey;
interface AuditEntry {
  action: string;
  keyId?: string;
  requestId?: string;
  outcome: string;
  node: string;
}

const c = useCluster();
const skip = skipWithoutEtcd;
const nodes = c.nodes;

const create = (n: TestNode, name: string, placement?: unknown) => createKey(n, c.admin, name, placement);

const sign = (n: TestNode, key: Key) => signOn(n, c.admin, key);

async function audit(n: TestNode): Promise<AuditEntry[]> {
  const r = await n.api<{ entries: AuditEntry[] }>('GET', '/v1/audit?limit=1000', undefined, c.admin);
  return r.body.entries;
}

test('default placement: a replica on every node, and every node signs locally', { skip }, async () => {
  const r = await create(nodes[0]!, 'everywhere');
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.replicas, ['n1', 'n2', 'n3']);
  assert.deepEqual(r.body.placement, {});
  for (const n of nodes) {
    const s = await sign(n, r.body);
    assert.equal(s.status, 200);
    assert.equal(s.node, n.nodeId);
  }
  // Each node signed from its watch-fed copy of the key (src/cluster/key-cache.ts): it started.
  for (const n of nodes) assert.doesNotMatch(n.stderr(), /key cache/);
  // The key object is the same from any node.
  const got = await nodes[2]!.api<Key>('GET', `/v1/keys/${r.body.id}`, undefined, c.admin);
  assert.deepEqual(got.body.replicas, ['n1', 'n2', 'n3']);
});

test(
  'region and level placement hold only where allowed; an ineligible node forwards, audited on both',
  { skip },
  async () => {
    const us = await create(nodes[0]!, 'us-only', { regions: ['us'] });
    assert.equal(us.status, 201, JSON.stringify(us.body));
    assert.deepEqual(us.body.replicas, ['n3']);
    const high = await create(nodes[2]!, 'level-3', { minLevel: 3 });
    assert.equal(high.status, 201, JSON.stringify(high.body));
    assert.deepEqual(high.body.replicas, ['n2']);
    const eu = await create(nodes[1]!, 'eu-2', { regions: ['eu'], minLevel: 2, replicas: 2 });
    assert.deepEqual(eu.body.replicas, ['n1', 'n2']);

    // Forwarded from n1 (eu) to n3, the only holder: the signature verifies, n3 signed it.
    const s = await sign(nodes[0]!, us.body);
    assert.equal(s.status, 200, JSON.stringify(s.body));
    assert.equal(s.node, 'n3');
    const s2 = await sign(nodes[2]!, high.body);
    assert.equal(s2.node, 'n2');
    // Both nodes audited it under one request id.
    const a1 = (await audit(nodes[0]!)).filter((e) => e.requestId === s.requestId);
    const a3 = (await audit(nodes[2]!)).filter((e) => e.requestId === s.requestId);
    assert.deepEqual(
      a1.map((e) => [e.action, e.node]),
      [['key.forward', 'n1']],
    );
    assert.ok(
      a3.some((e) => e.action === 'key.sign' && e.node === 'n3'),
      JSON.stringify(a3),
    );

    const no = await create(nodes[0]!, 'too-many', { minLevel: 3, replicas: 2 });
    assert.equal(no.status, 409);
    assert.equal(no.body.error?.code, 'PLACEMENT_UNSATISFIABLE');
    const none = await create(nodes[0]!, 'nowhere', { regions: ['ap'] });
    assert.equal(none.status, 409);
  },
);

function* files(d: string): Generator<string> {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

test("no byte sequence of an imported private key is in any etcd member's data dir", { skip }, async () => {
  const priv = secp256k1.utils.randomSecretKey();
  const privHex = Buffer.from(priv).toString('hex');
  const r = await nodes[1]!.api<Key>(
    'POST',
    '/v1/keys/import',
    {
      name: 'imported',
      algorithm: 'secp256k1',
      privateKey: '0x' + privHex,
    },
    c.admin,
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.replicas, ['n1', 'n2', 'n3']);
  assert.equal((await sign(nodes[0]!, r.body)).status, 200);
  const needles = [
    Buffer.from(priv),
    Buffer.from(privHex),
    Buffer.from(Buffer.from(priv).toString('base64')),
  ];
  let scanned = 0;
  for (const m of c.etcd.members)
    for (const f of files(m.dataDir)) {
      const buf = readFileSync(f);
      scanned += buf.length;
      for (const n of needles) assert.equal(buf.indexOf(n), -1, `found in ${f}`);
    }
  assert.ok(scanned > 0);
});

test(
  'a state change is in force on every node the moment it returns; destroy removes the replicas',
  { skip },
  async () => {
    const k = await create(nodes[0]!, 'fenced');
    for (const n of nodes) assert.equal((await sign(n, k.body)).status, 200);
    const t0 = performance.now();
    const r = await nodes[0]!.api('POST', `/v1/keys/${k.body.id}/state`, { state: 'deactivated' }, c.admin);
    const ms = performance.now() - t0;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // No waiting: the next call on every node is refused.
    for (const n of nodes) {
      const s = await sign(n, k.body);
      assert.equal(s.status, 409, `${n.nodeId}: ${JSON.stringify(s.body)}`);
    }
    assert.ok(ms < 5000, `deactivate took ${ms} ms`);
    console.log(`# deactivate in force everywhere: ${ms.toFixed(1)} ms`);
    assert.equal(
      (await nodes[1]!.api('POST', `/v1/keys/${k.body.id}/state`, { state: 'active' }, c.admin)).status,
      200,
    );
    assert.equal((await sign(nodes[2]!, k.body)).status, 200);
    const d = await nodes[2]!.api<Key>('DELETE', `/v1/keys/${k.body.id}`, undefined, c.admin);
    assert.equal(d.status, 200);
    for (const n of nodes) assert.notEqual((await sign(n, k.body)).status, 200);
  },
);

test(
  'kill -9 of a node: the others keep signing; a key only it held is 503 until it restarts',
  { skip },
  async () => {
    const us = await create(nodes[1]!, 'us-again', { regions: ['us'] });
    const all = await create(nodes[1]!, 'all-again');
    await nodes[2]!.kill9();
    for (const n of nodes.slice(0, 2)) assert.equal((await sign(n, all.body)).status, 200);
    const dead = await waitFor('503 once n3 is not live', async () => {
      const s = await sign(nodes[0]!, us.body);
      return s.status === 503 ? s : undefined;
    });
    assert.equal((dead.body as unknown as { error: { code: string } }).error.code, 'NO_LIVE_REPLICA');
    nodes[2] = await startClusterNode(SPECS[2]!, c.etcd.endpoints, c.dir, nodes[2]!.dataDir);
    const back = await waitFor('signing again once n3 is back', async () => {
      const s = await sign(nodes[0]!, us.body);
      return s.status === 200 ? s : undefined;
    });
    assert.equal(back.node, 'n3');
  },
);

test(
  'the JSON-RPC signer on a node without the key signs through a holder, audited on both',
  { skip },
  async () => {
    const k = await create(nodes[0]!, 'rpc-us-only', { regions: ['us'] });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const address = (k.body as ClusterKey & { addresses: { ethereum: string } }).addresses.ethereum;
    const rpc = (method: string, params: unknown[]) =>
      nodes[1]!.api<{ result?: unknown; error?: { code: number; message: string } }>(
        'POST',
        '/rpc',
        { jsonrpc: '2.0', id: 1, method, params },
        c.admin,
      );
    const msg = await rpc('personal_sign', ['0x68656c6c6f', address]);
    assert.equal(msg.status, 200, JSON.stringify(msg.body));
    assert.equal(verifyMessage(getBytes('0x68656c6c6f'), msg.body.result as string), address);
    const tx = {
      from: address,
      to: '0x000000000000000000000000000000000000dEaD',
      value: '0x1',
      nonce: '0x0',
      gas: '0x5208',
      maxFeePerGas: '0x3b9aca00',
      maxPriorityFeePerGas: '0x1',
      chainId: '0x1',
    };
    const signed = await rpc('eth_signTransaction', [tx]);
    assert.equal(signed.status, 200, JSON.stringify(signed.body));
    assert.equal(Transaction.from(signed.body.result as string).from, address);
    // Audited as a forward on n2 and as a signature on n3, under one request id.
    const id = signed.headers.get('x-request-id')!;
    assert.ok((await audit(nodes[1]!)).some((e) => e.requestId === id && e.action === 'key.forward'));
    assert.ok((await audit(nodes[2]!)).some((e) => e.requestId === id && e.node === 'n3'));
  },
);
