// End to end, against a real node process: creating, importing, listing, signing, verifying and
// changing the state of keys. Signatures are judged by @noble/curves and addresses by ethers,
// both independent of the node's own code path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { computeAddress } from 'ethers';
import { startNode, type TestNode } from '../helpers/node.js';

interface Key {
  id: string;
  name: string;
  algorithm: string;
  publicKey: string;
  addresses: Record<string, string>;
  state: string;
  createdAt: string;
  labels: Record<string, string>;
}

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.slice(2), 'hex'));
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

let node: TestNode;
before(async () => {
  node = await startNode();
});
after(async () => {
  await node.stop();
});

describe('creating keys', () => {
  for (const [algorithm, len] of [
    ['secp256k1', 33],
    ['p256', 33],
    ['ed25519', 32],
  ] as const) {
    test(`${algorithm}: 201 with the contract's key object`, async () => {
      const r = await node.api<Key>('POST', '/v1/keys', {
        name: `made-${algorithm}`,
        algorithm,
        labels: { team: 'ops' },
      });
      assert.equal(r.status, 201);
      assert.equal(r.body.algorithm, algorithm);
      assert.equal(r.body.state, 'active');
      assert.equal(r.body.name, `made-${algorithm}`);
      assert.deepEqual(r.body.labels, { team: 'ops' });
      assert.match(r.body.publicKey, /^0x[0-9a-f]+$/);
      assert.equal(bytes(r.body.publicKey).length, len);
      assert.ok(!Number.isNaN(Date.parse(r.body.createdAt)));
      if (algorithm === 'secp256k1')
        assert.equal(r.body.addresses.ethereum, computeAddress(r.body.publicKey));
      else assert.equal(r.body.addresses.ethereum, undefined);
      const got = await node.api<Key>('GET', `/v1/keys/${r.body.id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body, r.body);
    });
  }
});

describe('placement on a node that runs alone', () => {
  test('the default placement (or one replica) is met; regions, levels or more replicas are 409', async () => {
    for (const [i, placement] of [{}, { replicas: 1 }].entries()) {
      const r = await node.api<Key>('POST', '/v1/keys', {
        name: `placed-${i}`,
        algorithm: 'secp256k1',
        placement,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    for (const [i, placement] of [{ regions: ['eu'] }, { minLevel: 1 }, { replicas: 2 }].entries()) {
      const r = await node.api<{ error: { code: string } }>('POST', '/v1/keys', {
        name: `unplaced-${i}`,
        algorithm: 'secp256k1',
        placement,
      });
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.error.code, 'PLACEMENT_UNSATISFIABLE');
    }
    for (const placement of [{ regions: 'eu' }, { replicas: 0 }, { what: 1 }, []]) {
      const r = await node.api('POST', '/v1/keys', {
        name: 'bad-placement',
        algorithm: 'secp256k1',
        placement,
      });
      assert.equal(r.status, 400, JSON.stringify(placement));
    }
  });
});

describe('imported keys sign exactly as the standards say', () => {
  const priv = new Uint8Array(32).fill(0x46); // EIP-155's example key
  const digest = sha256(new TextEncoder().encode('keymesh'));
  const message = new TextEncoder().encode('a message to sign');

  test('secp256k1: EIP-55 address, RFC 6979 low-s, recovery id', async () => {
    const r = await node.api<Key>('POST', '/v1/keys/import', {
      name: 'eip155',
      algorithm: 'secp256k1',
      privateKey: hex(priv),
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.publicKey, hex(secp256k1.getPublicKey(priv, true)));
    assert.equal(r.body.addresses.ethereum, '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F');

    const s = await node.api<{ signature: string; recoveryId: number }>(
      'POST',
      `/v1/keys/${r.body.id}/sign`,
      {
        digest: hex(digest),
      },
    );
    assert.equal(s.status, 200);
    const expected = secp256k1.sign(digest, priv, { prehash: false, format: 'recovered' });
    assert.equal(s.body.signature, hex(expected.subarray(1)));
    assert.equal(s.body.recoveryId, expected[0]);
    const sig = secp256k1.Signature.fromBytes(bytes(s.body.signature), 'compact');
    assert.equal(sig.hasHighS(), false);
    assert.equal(
      hex(sig.addRecoveryBit(s.body.recoveryId).recoverPublicKey(digest).toBytes(true)),
      r.body.publicKey,
    );

    const m = await node.api<{ signature: string }>('POST', `/v1/keys/${r.body.id}/sign`, {
      message: hex(message),
    });
    assert.equal(m.body.signature, hex(secp256k1.sign(sha256(message), priv, { prehash: false })));
  });

  test('p256: RFC 6979, low-s, no recovery id', async () => {
    const r = await node.api<Key>('POST', '/v1/keys/import', {
      name: 'p256-imp',
      algorithm: 'p256',
      privateKey: hex(priv),
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.publicKey, hex(p256.getPublicKey(priv, true)));
    const s = await node.api<{ signature: string; recoveryId?: number }>(
      'POST',
      `/v1/keys/${r.body.id}/sign`,
      {
        digest: hex(digest),
      },
    );
    assert.equal(s.body.signature, hex(p256.sign(digest, priv, { prehash: false })));
    assert.equal(s.body.recoveryId, undefined);
    const m = await node.api<{ signature: string }>('POST', `/v1/keys/${r.body.id}/sign`, {
      message: hex(message),
    });
    assert.ok(
      p256.verify(bytes(m.body.signature), sha256(message), p256.getPublicKey(priv), { prehash: false }),
    );
  });

  test('ed25519: RFC 8032 over the message; digests are refused', async () => {
    const r = await node.api<Key>('POST', '/v1/keys/import', {
      name: 'ed-imp',
      algorithm: 'ed25519',
      privateKey: hex(priv),
    });
    assert.equal(r.status, 201);
    assert.equal(r.body.publicKey, hex(ed25519.getPublicKey(priv)));
    const s = await node.api<{ signature: string }>('POST', `/v1/keys/${r.body.id}/sign`, {
      message: hex(message),
    });
    assert.equal(s.body.signature, hex(ed25519.sign(message, priv)));
    const d = await node.api<{ error: { code: string } }>('POST', `/v1/keys/${r.body.id}/sign`, {
      digest: hex(digest),
    });
    assert.equal(d.status, 400);
  });

  test('verify: true for a good signature, false for a changed one, on every algorithm', async () => {
    for (const algorithm of ['secp256k1', 'p256', 'ed25519']) {
      const k = await node.api<Key>('POST', '/v1/keys', { name: `verify-${algorithm}`, algorithm });
      const s = await node.api<{ signature: string }>('POST', `/v1/keys/${k.body.id}/sign`, {
        message: hex(message),
      });
      const ok = await node.api<{ valid: boolean }>('POST', `/v1/keys/${k.body.id}/verify`, {
        message: hex(message),
        signature: s.body.signature,
      });
      assert.deepEqual(ok.body, { valid: true }, algorithm);
      const bad = bytes(s.body.signature);
      bad[5]! ^= 1;
      const no = await node.api<{ valid: boolean }>('POST', `/v1/keys/${k.body.id}/verify`, {
        message: hex(message),
        signature: hex(bad),
      });
      assert.deepEqual(no.body, { valid: false }, algorithm);
      const other = await node.api<{ valid: boolean }>('POST', `/v1/keys/${k.body.id}/verify`, {
        message: hex(new TextEncoder().encode('another message')),
        signature: s.body.signature,
      });
      assert.deepEqual(other.body, { valid: false }, algorithm);
    }
  });
});

describe('listing', () => {
  test('pages with limit and cursor, filters by name and state', async () => {
    for (let i = 0; i < 5; i++)
      await node.api('POST', '/v1/keys', { name: `page-${i}`, algorithm: 'ed25519' });
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await node.api<{ keys: Key[]; nextCursor?: string }>(
        'GET',
        `/v1/keys?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(r.status, 200);
      assert.ok(r.body.keys.length <= 2);
      seen.push(...r.body.keys.map((k) => k.name));
      if (!r.body.nextCursor) break;
      cursor = r.body.nextCursor;
    }
    assert.equal(new Set(seen).size, seen.length, 'no key listed twice');
    for (let i = 0; i < 5; i++) assert.ok(seen.includes(`page-${i}`));
    const byName = await node.api<{ keys: Key[] }>('GET', '/v1/keys?name=page-3');
    assert.deepEqual(
      byName.body.keys.map((k) => k.name),
      ['page-3'],
    );
    const k = byName.body.keys[0]!;
    await node.api('POST', `/v1/keys/${k.id}/state`, { state: 'deactivated' });
    const deact = await node.api<{ keys: Key[] }>('GET', '/v1/keys?state=deactivated');
    assert.ok(deact.body.keys.some((x) => x.id === k.id));
    assert.ok(deact.body.keys.every((x) => x.state === 'deactivated'));
  });
});

describe('key states (NIST SP 800-57)', () => {
  const digest = '0x' + '11'.repeat(32);
  const sign = (id: string) =>
    node.api<{ error?: { code: string } }>('POST', `/v1/keys/${id}/sign`, { digest });
  const setState = (id: string, state: string) =>
    node.api<Key & { error?: { code: string } }>('POST', `/v1/keys/${id}/state`, { state });

  test('deactivate and reactivate; compromised and destroyed never sign again', async () => {
    const k = (await node.api<Key>('POST', '/v1/keys', { name: 'states', algorithm: 'secp256k1' })).body;
    assert.equal((await sign(k.id)).status, 200);

    assert.equal((await setState(k.id, 'deactivated')).body.state, 'deactivated');
    const refused = await sign(k.id);
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error?.code, 'INVALID_STATE');

    assert.equal((await setState(k.id, 'active')).body.state, 'active');
    assert.equal((await sign(k.id)).status, 200);

    assert.equal((await setState(k.id, 'compromised')).body.state, 'compromised');
    assert.equal((await sign(k.id)).status, 409);
    assert.equal((await setState(k.id, 'active')).status, 409);
    assert.equal((await setState(k.id, 'deactivated')).status, 409);

    const d = await node.api<Key>('DELETE', `/v1/keys/${k.id}`);
    assert.equal(d.status, 200);
    assert.equal(d.body.state, 'destroyed');
    assert.equal((await sign(k.id)).status, 409);
    assert.equal((await setState(k.id, 'active')).status, 409);
    assert.equal((await node.api('DELETE', `/v1/keys/${k.id}`)).status, 409);
    const got = await node.api<Key>('GET', `/v1/keys/${k.id}`);
    assert.equal(got.body.state, 'destroyed');
    assert.equal(got.body.publicKey, k.publicKey, 'the tombstone keeps the public key');
  });

  test('"destroyed" is not a state one can set; DELETE is the way', async () => {
    const k = (await node.api<Key>('POST', '/v1/keys', { name: 'no-set-destroyed', algorithm: 'p256' })).body;
    assert.equal((await setState(k.id, 'destroyed')).status, 400);
    assert.equal((await setState(k.id, 'bogus')).status, 400);
  });
});
