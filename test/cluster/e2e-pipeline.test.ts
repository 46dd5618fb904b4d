// Issue 8's three defects, on a real 3-node etcd cluster (eu/2, eu/3, us/1), each of which follows
// from routing living in the HTTP adapter rather than in the core:
// - verify with an HD path on a node without a replica is answered where the material is;
// - routing runs after authentication and authorisation: a bogus token is 401 whatever the key,
//   and a token without keys:sign never causes a peer call;
// - a signature refused on the node that routes (holders down) is audited there.
// And the same call reached through REST and JSON-RPC on a non-holder gives the same answer and
// the same audit entries on both nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { waitFor, type TestNode } from '../helpers/node.js';
import { type ClusterKey, createKey, signOn, skipWithoutEtcd, useCluster } from './_nodes.js';

interface AuditEntry {
  action: string;
  actor: string;
  keyId?: string;
  requestId?: string;
  outcome: string;
  node: string;
  details?: Record<string, unknown>;
}
type Err = { error?: { code: string } };

const c = useCluster();
const skip = skipWithoutEtcd;
const nodes = c.nodes;
const DIGEST = '0x' + '42'.repeat(32);

async function audit(n: TestNode): Promise<AuditEntry[]> {
  const r = await n.api<{ entries: AuditEntry[] }>('GET', '/v1/audit?limit=1000', undefined, c.admin);
  assert.equal(r.status, 200);
  return r.body.entries;
}
const byRequest = async (n: TestNode, id: string | null) =>
  (await audit(n)).filter((e) => e.requestId === id);

async function token(scopes: string[]): Promise<string> {
  const r = await nodes[0]!.api<{ token: string }>('POST', '/v1/tokens', { name: 't', scopes }, c.admin);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.token;
}

test('verify with an HD path on a node without a replica is answered by a holder', { skip }, async () => {
  const r = await nodes[0]!.api<ClusterKey>(
    'POST',
    '/v1/keys',
    { name: 'hd-us', algorithm: 'secp256k1', hd: true, placement: { regions: ['us'] } },
    c.admin,
  );
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.replicas, ['n3']);
  const path = "m/44'/60'/0'/0/0";
  // Signed by the holder (forwarded from n1), then verified from n1 and n2: both forward.
  const s = await nodes[0]!.api<{ signature: string }>(
    'POST',
    `/v1/keys/${r.body.id}/sign`,
    { digest: DIGEST, path },
    c.admin,
  );
  assert.equal(s.status, 200, JSON.stringify(s.body));
  const child = await nodes[0]!.api<{ publicKey: string }>(
    'GET',
    `/v1/keys/${r.body.id}/derive?path=${encodeURIComponent(path)}`,
    undefined,
    c.admin,
  );
  assert.equal(child.status, 200, JSON.stringify(child.body));
  const unhex = (h: string) => Buffer.from(h.slice(2), 'hex');
  assert.ok(
    secp256k1.verify(unhex(s.body.signature), unhex(DIGEST), unhex(child.body.publicKey), { prehash: false }),
  );
  for (const n of [nodes[0]!, nodes[1]!, nodes[2]!]) {
    const v = await n.api<{ valid: boolean } & Err>(
      'POST',
      `/v1/keys/${r.body.id}/verify`,
      { digest: DIGEST, signature: s.body.signature, path },
      c.admin,
    );
    assert.equal(v.status, 200, `${n.nodeId}: ${JSON.stringify(v.body)}`);
    assert.equal(v.body.valid, true);
    assert.equal(v.headers.get('x-keymesh-node'), 'n3');
  }
});

test(
  'a token without keys:sign is refused on the node it reached, and no peer is called',
  { skip },
  async () => {
    const k = await createKey(nodes[0]!, c.admin, 'us-scope', { regions: ['us'] });
    assert.deepEqual(k.body.replicas, ['n3']);
    const reader = await token(['keys:read']);
    const s = await signOn(nodes[0]!, reader, k.body);
    assert.equal(s.status, 403, JSON.stringify(s.body));
    assert.equal((s.body as Err).error?.code, 'FORBIDDEN');
    // Refused and audited on n1; n3 never heard of it.
    const a1 = await byRequest(nodes[0]!, s.requestId);
    assert.deepEqual(
      a1.map((e) => [e.action, e.outcome]),
      [['key.sign', 'denied']],
    );
    assert.deepEqual(await byRequest(nodes[2]!, s.requestId), []);
  },
);

test(
  'the same signature through REST and JSON-RPC on a non-holder: same answer, same audit',
  { skip },
  async () => {
    const k = await createKey(nodes[0]!, c.admin, 'us-both', { regions: ['us'] });
    const address = (k.body as ClusterKey & { addresses: { ethereum: string } }).addresses.ethereum;
    const message = '0x68656c6c6f';
    const rest = await nodes[1]!.api<{ signature: string }>(
      'POST',
      `/v1/keys/${k.body.id}/ethereum/message`,
      { message: 'hello' },
      c.admin,
    );
    assert.equal(rest.status, 200, JSON.stringify(rest.body));
    const rpc = await nodes[1]!.api<{ result?: string }>(
      'POST',
      '/rpc',
      { jsonrpc: '2.0', id: 1, method: 'personal_sign', params: [message, address] },
      c.admin,
    );
    assert.equal(rpc.status, 200, JSON.stringify(rpc.body));
    // EIP-191 signatures are deterministic (RFC 6979): one answer whichever way it came.
    assert.equal(rpc.body.result, rest.body.signature);
    const shape = (es: AuditEntry[]) => es.map((e) => [e.action, e.outcome, e.node, e.actor]);
    for (const [n, node] of [
      [nodes[1]!, 'n2'],
      [nodes[2]!, 'n3'],
    ] as const) {
      const viaRest = shape(await byRequest(n, rest.headers.get('x-request-id')));
      const viaRpc = shape(await byRequest(n, rpc.headers.get('x-request-id')));
      assert.ok(viaRest.length > 0, `${node} audited the REST call`);
      assert.deepEqual(viaRpc, viaRest, `${node}: the same audit entries`);
    }
  },
);

test(
  'holders down: a bogus token is 401 like for an unknown key, and the refusal is audited here',
  { skip },
  async () => {
    const k = await createKey(nodes[0]!, c.admin, 'us-down', { regions: ['us'] });
    assert.deepEqual(k.body.replicas, ['n3']);
    await nodes[2]!.kill9();
    const down = await waitFor('503 once n3 is not live', async () => {
      const s = await signOn(nodes[0]!, c.admin, k.body);
      return s.status === 503 ? s : undefined;
    });
    assert.equal((down.body as Err).error?.code, 'NO_LIVE_REPLICA');
    // The refused signature is in n1's audit log, under the caller, with its code.
    const a1 = await byRequest(nodes[0]!, down.requestId);
    assert.equal(a1.length, 1, JSON.stringify(a1));
    assert.equal(a1[0]!.action, 'key.sign');
    assert.equal(a1[0]!.keyId, k.body.id);
    assert.notEqual(a1[0]!.outcome, 'allowed');
    assert.equal(a1[0]!.details?.code, 'NO_LIVE_REPLICA');

    // A bogus token learns nothing: the same 401 for this key as for a key that does not exist.
    const bogus = 'kmt_01890000-0000-7000-8000-000000000000_' + 'A'.repeat(43);
    const forKey = await signOn(nodes[0]!, bogus, k.body);
    const unknown = await signOn(nodes[0]!, bogus, {
      id: '01890000-0000-7000-8000-0000000000ff',
      publicKey: k.body.publicKey,
    });
    assert.equal(unknown.status, 401);
    assert.equal(forKey.status, 401, JSON.stringify(forKey.body));
    assert.deepEqual(forKey.body, unknown.body);
    const none = await signOn(nodes[0]!, null as unknown as string, k.body);
    assert.equal(none.status, 401);
  },
);
