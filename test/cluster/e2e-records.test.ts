// Checked records on a real 3-node cluster (3-member etcd): someone who can write to etcd but has
// no enclave edits key and token records directly (a deactivated and a compromised key flipped
// back to active, a token's scopes widened, a revocation undone), and every node refuses each
// edited record with RECORD_INTEGRITY, logs it and audits it, never signing or authorising from
// it. The integrity key itself was made by n1 and received, wrapped, by n2 and n3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor, type TestNode } from '../helpers/node.js';
import { openEtcdStore } from '../../src/store/etcd.js';
import { IntegrityKeysInEtcd } from '../../src/cluster/integrity.js';
import { INTEGRITY_FILE } from '../../src/enclave/software/integrity.js';
import { type ClusterKey, createKey, signOn, skipWithoutEtcd, useCluster } from './_nodes.js';

type Err = { error?: { code: string } };
const c = useCluster();
const skip = skipWithoutEtcd;
const nodes = c.nodes;

async function withEtcd<T>(fn: (s: Awaited<ReturnType<typeof openEtcdStore>>) => Promise<T>): Promise<T> {
  const s = await openEtcdStore(c.etcd.endpoints);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}
const edited = (json: string, f: (v: Record<string, unknown>) => void) => {
  const v = JSON.parse(json) as Record<string, unknown>;
  f(v);
  return JSON.stringify(v);
};

async function refusedAudited(n: TestNode, id: string): Promise<boolean> {
  const r = await n.api<{ entries: { action: string; node: string; details?: { id?: string } }[] }>(
    'GET',
    '/v1/audit?limit=1000',
    undefined,
    c.admin,
  );
  return r.body.entries.some((e) => e.action === 'record.refused' && e.details?.id === id);
}

test('n1 made the integrity key; n2 and n3 received it wrapped to their enclaves', { skip }, async () => {
  await withEtcd(async (s) => {
    const marker = JSON.parse((await s.get(IntegrityKeysInEtcd.marker))!.value) as {
      by: string;
      check: string;
    };
    assert.equal(marker.by, 'n1');
    assert.match(marker.check, /^0x[0-9a-f]{64}$/);
    for (const id of ['n2', 'n3']) {
      const copy = JSON.parse((await s.get(IntegrityKeysInEtcd.copy(id)))!.value) as Record<string, string>;
      assert.equal(copy.nodeId, id);
      // Tagged by the enclave of the node that wrapped it (a member), which the recipient checked.
      assert.ok(['n1', 'n2', 'n3'].includes(copy.wrappedBy!));
      assert.match(copy.tag!, /^[0-9a-f]{64}$/);
      // Wrapped, never the key: the copy holds no 32-byte value in the clear (base64 of an HPKE blob).
      assert.ok(Buffer.from(copy.wrapped!, 'base64').length > 32 + 32);
    }
  });
  for (const n of nodes) assert.ok(existsSync(join(n.dataDir, INTEGRITY_FILE)), n.nodeId);
});

test(
  'a deactivated or compromised key flipped back to active in etcd is refused by every node',
  { skip },
  async () => {
    for (const to of ['deactivated', 'compromised']) {
      const k = (await createKey(nodes[0]!, c.admin, `flip-${to}`)).body;
      for (const n of nodes) assert.equal((await signOn(n, c.admin, k)).status, 200, n.nodeId);
      const set = await nodes[1]!.api<ClusterKey>('POST', `/v1/keys/${k.id}/state`, { state: to }, c.admin);
      assert.equal(set.status, 200);
      for (const n of nodes) assert.equal((await signOn(n, c.admin, k)).status, 409, n.nodeId);
      const own = await withEtcd(async (s) => (await s.get(`keys/${k.id}`))!.value);
      await withEtcd((s) =>
        s.put(
          `keys/${k.id}`,
          edited(own, (v) => (v.state = 'active')),
        ),
      );
      for (const n of nodes) {
        // Until the node's watch-fed copy has the edit it answers from what it had (409); it never signs.
        await waitFor(`${n.nodeId} refuses the edited ${to} key`, async () => {
          const r = await signOn(n, c.admin, k);
          assert.notEqual(r.status, 200, `${n.nodeId} signed with an edited ${to} key`);
          return r.status === 500 && (r.body as Err).error?.code === 'RECORD_INTEGRITY';
        });
        const g = await n.api<Err>('GET', `/v1/keys/${k.id}`, undefined, c.admin);
        assert.equal(g.status, 500);
        assert.equal(g.body.error?.code, 'RECORD_INTEGRITY');
        const re = await n.api<Err>('POST', `/v1/keys/${k.id}/state`, { state: 'active' }, c.admin);
        assert.equal(
          re.body.error?.code,
          'RECORD_INTEGRITY',
          `${n.nodeId} reactivates from an edited record`,
        );
        await waitFor(`${n.nodeId} audits the refusal`, () => refusedAudited(n, k.id));
        assert.match(n.stderr(), new RegExp(`refused the stored key record ${k.id} \\(mac\\)`));
      }
      // The record as the node wrote it: the key is what it was, and still does not sign.
      await withEtcd((s) => s.put(`keys/${k.id}`, own));
      for (const n of nodes)
        await waitFor(`${n.nodeId} reads the node's own record again`, async () => {
          const r = await signOn(n, c.admin, k);
          assert.notEqual(r.status, 200);
          return r.status === 409;
        });
    }
  },
);

test('a token widened or un-revoked in etcd is refused by every node', { skip }, async () => {
  const t = (
    await nodes[0]!.api<{ id: string; token: string }>(
      'POST',
      '/v1/tokens',
      { name: 'reader', scopes: ['keys:read'] },
      c.admin,
    )
  ).body;
  for (const n of nodes) {
    assert.equal((await n.api('GET', '/v1/keys', undefined, t.token)).status, 200, n.nodeId);
    assert.equal((await n.api('POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }, t.token)).status, 403);
  }
  const own = await withEtcd(async (s) => (await s.get(`tokens/${t.id}`))!.value);
  await withEtcd((s) =>
    s.put(
      `tokens/${t.id}`,
      edited(own, (v) => (v.scopes = ['admin'])),
    ),
  );
  for (const n of nodes) {
    // Tokens are read from etcd on every request: the edit is refused at once, everywhere.
    const mint = await n.api<Err>('POST', '/v1/tokens', { name: 'x', scopes: ['admin'] }, t.token);
    assert.equal(mint.status, 500, `${n.nodeId}: ${JSON.stringify(mint.body)}`);
    assert.equal(mint.body.error?.code, 'RECORD_INTEGRITY');
    const list = await n.api<Err>('GET', '/v1/keys', undefined, t.token);
    assert.equal(list.body.error?.code, 'RECORD_INTEGRITY');
    await waitFor(`${n.nodeId} audits the refusal`, () => refusedAudited(n, t.id));
  }
  await withEtcd((s) => s.put(`tokens/${t.id}`, own));
  for (const n of nodes) assert.equal((await n.api('GET', '/v1/keys', undefined, t.token)).status, 200);

  // Revoked on n2; removing revokedAt from the tombstone in etcd brings nothing back.
  assert.equal((await nodes[1]!.api('DELETE', `/v1/tokens/${t.id}`, undefined, c.admin)).status, 204);
  for (const n of nodes) assert.equal((await n.api('GET', '/v1/keys', undefined, t.token)).status, 401);
  const tombstone = await withEtcd(async (s) => (await s.get(`tokens/${t.id}`))!.value);
  await withEtcd((s) =>
    s.put(
      `tokens/${t.id}`,
      edited(tombstone, (v) => delete v.revokedAt),
    ),
  );
  for (const n of nodes) {
    const r = await n.api<Err>('GET', '/v1/keys', undefined, t.token);
    assert.equal(r.status, 500, n.nodeId);
    assert.equal(r.body.error?.code, 'RECORD_INTEGRITY');
  }
});
