// Replica wrapping (src/enclave/crypto/wrap.ts): round trips, the format, the binding of key id,
// version, algorithm and recipient node, tampering anywhere in a blob, an independent
// re-implementation of the documented format with node:crypto only (so the header is the truth),
// and Project Wycheproof's X25519 and HKDF-SHA256 vectors through the same DH and KDF functions
// wrapping uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createCipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  getRandomValues,
  hkdfSync,
} from 'node:crypto';
import type { Algorithm } from '../../src/enclave/enclave.js';
import {
  MAX_WRAP_PLAINTEXT_BYTES,
  WRAP_TYPE_X25519,
  WRAP_TYPE_X25519_MLKEM768,
  generateTransportKeyPair,
  hkdfSha256,
  transportPublicKey,
  unwrapAtNode,
  wrapAssociatedData,
  wrapToNode,
  x25519SharedSecret,
  type WrapBinding,
} from '../../src/enclave/crypto/wrap.js';
import { KeymeshError } from '../../src/errors.js';
import { expectCode, hex, readWycheproof, unhex, type WycheproofTest } from './_support.js';

const rand = (n: number) => getRandomValues(new Uint8Array(n));
const binding: WrapBinding = {
  keyId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  version: 3,
  algorithm: 'secp256k1',
  nodeId: 'node-eu-1',
};

test('wrap/unwrap round trip, format, fresh ephemeral per wrap', () => {
  const node = generateTransportKeyPair();
  assert.equal(node.publicKey.length, 32);
  assert.equal(hex(transportPublicKey(node.privateKey)), hex(node.publicKey));
  for (const len of [1, 33, 65, 200, MAX_WRAP_PLAINTEXT_BYTES]) {
    const material = rand(len);
    const before = hex(material);
    const blob = wrapToNode(material, node.publicKey, binding);
    assert.equal(hex(material), before, 'the caller’s plaintext is left alone');
    assert.equal(blob[0], WRAP_TYPE_X25519);
    assert.equal(blob.length, 1 + 32 + len + 16);
    const out = unwrapAtNode(blob, node.privateKey, binding);
    assert.equal(hex(out), before);
  }
  const m = rand(33);
  const a = wrapToNode(m, node.publicKey, binding);
  const b = wrapToNode(m, node.publicKey, binding);
  assert.notEqual(hex(a.subarray(1, 33)), hex(b.subarray(1, 33)), 'a fresh ephemeral key each time');
  assert.notEqual(hex(a.subarray(33)), hex(b.subarray(33)));
});

test('a replica moved to another key, version, algorithm or node, or opened with another transport key, fails', () => {
  const node = generateTransportKeyPair();
  const other = generateTransportKeyPair();
  const material = rand(33);
  const blob = wrapToNode(material, node.publicKey, binding);
  const changed: WrapBinding[] = [
    { ...binding, keyId: binding.keyId.replace(/5b$/, '5c') },
    { ...binding, keyId: binding.keyId + 'x' },
    { ...binding, version: 2 },
    { ...binding, version: 4 },
    { ...binding, algorithm: 'p256' },
    { ...binding, algorithm: 'ed25519' },
    { ...binding, nodeId: 'node-eu-2' },
    { ...binding, nodeId: 'Node-eu-1' },
  ];
  for (const b of changed)
    expectCode(
      () => unwrapAtNode(blob, node.privateKey, b),
      'ENCLAVE_FAILURE',
      /^the replica could not be unwrapped$/,
    );
  expectCode(() => unwrapAtNode(blob, other.privateKey, binding), 'ENCLAVE_FAILURE');
  // Re-wrapped to another node: opens only there, only as that node.
  const moved = wrapToNode(material, other.publicKey, { ...binding, nodeId: 'node-us-1' });
  assert.equal(
    hex(unwrapAtNode(moved, other.privateKey, { ...binding, nodeId: 'node-us-1' })),
    hex(material),
  );
  expectCode(() => unwrapAtNode(moved, other.privateKey, binding), 'ENCLAVE_FAILURE');
});

test('every single-bit flip, truncation, extension and type change is refused', () => {
  const node = generateTransportKeyPair();
  const blob = wrapToNode(rand(33), node.publicKey, binding);
  let refused = 0;
  for (let i = 0; i < blob.length * 8; i++) {
    const t = Uint8Array.from(blob);
    t[i >> 3]! ^= 1 << (i & 7);
    expectCode(() => unwrapAtNode(t, node.privateKey, binding), 'ENCLAVE_FAILURE');
    refused++;
  }
  assert.equal(refused, blob.length * 8);
  for (const n of [0, 1, 33, 49, blob.length - 1])
    expectCode(() => unwrapAtNode(blob.subarray(0, n), node.privateKey, binding), 'ENCLAVE_FAILURE');
  const longer = new Uint8Array(blob.length + 1);
  longer.set(blob);
  expectCode(() => unwrapAtNode(longer, node.privateKey, binding), 'ENCLAVE_FAILURE');
  const hybrid = Uint8Array.from(blob);
  hybrid[0] = WRAP_TYPE_X25519_MLKEM768;
  expectCode(() => unwrapAtNode(hybrid, node.privateKey, binding), 'ENCLAVE_FAILURE');
  // An ephemeral key of low order (a forged blob) is an unwrap failure, not a caller error.
  const lowOrder = Uint8Array.from(blob);
  lowOrder.fill(0, 1, 33);
  expectCode(() => unwrapAtNode(lowOrder, node.privateKey, binding), 'ENCLAVE_FAILURE');
});

test('inputs are checked: lengths, low-order recipient keys, bindings', () => {
  const node = generateTransportKeyPair();
  expectCode(() => wrapToNode(new Uint8Array(0), node.publicKey, binding), 'INVALID_REQUEST');
  expectCode(
    () => wrapToNode(rand(MAX_WRAP_PLAINTEXT_BYTES + 1), node.publicKey, binding),
    'INVALID_REQUEST',
  );
  expectCode(() => wrapToNode(rand(32), node.publicKey.subarray(0, 31), binding), 'INVALID_REQUEST');
  // RFC 7748 §6.1: the all-zero point and the other small-order u values.
  const zero = new Uint8Array(32);
  const one = new Uint8Array(32);
  one[0] = 1;
  for (const bad of [zero, one])
    expectCode(() => wrapToNode(rand(32), bad, binding), 'INVALID_REQUEST', /low order/);
  const bad: unknown[] = [
    { ...binding, keyId: '' },
    { ...binding, keyId: 'x'.repeat(257) },
    { ...binding, keyId: '\ud800' },
    { ...binding, version: -1 },
    { ...binding, version: 2 ** 32 },
    { ...binding, version: 1.5 },
    { ...binding, algorithm: 'rsa' },
    { ...binding, nodeId: '' },
    { ...binding, nodeId: 'a/b' },
    { ...binding, nodeId: 'x'.repeat(64) },
    null,
  ];
  for (const b of bad) {
    expectCode(() => wrapToNode(rand(32), node.publicKey, b as WrapBinding), 'INVALID_REQUEST');
    expectCode(() => unwrapAtNode(new Uint8Array(82), node.privateKey, b as WrapBinding), 'INVALID_REQUEST');
  }
  expectCode(() => unwrapAtNode(new Uint8Array(82), node.privateKey.subarray(1), binding), 'INVALID_REQUEST');
});

test('an independent implementation of the documented format (node:crypto only) agrees byte for byte', () => {
  const lp = (b: Uint8Array) => {
    const out = Buffer.alloc(4 + b.length);
    out.writeUInt32BE(b.length, 0);
    out.set(b, 4);
    return out;
  };
  const utf8 = (s: string) => Buffer.from(s, 'utf8');
  // Raw X25519 keys as KeyObjects (RFC 8410 PKCS#8 / SPKI prefixes).
  const priv = (k: Uint8Array) =>
    createPrivateKey({
      key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), k]),
      format: 'der',
      type: 'pkcs8',
    });
  const pub = (k: Uint8Array) =>
    createPublicKey({
      key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), k]),
      format: 'der',
      type: 'spki',
    });
  for (let i = 0; i < 20; i++) {
    const node = generateTransportKeyPair();
    const eph = rand(32);
    const material = rand(1 + (i % 70));
    const b: WrapBinding = {
      keyId: `k-${i}`,
      version: i,
      algorithm: (['secp256k1', 'ed25519', 'p256'] as Algorithm[])[i % 3]!,
      nodeId: `n${i}`,
    };
    const blob = wrapToNode(material, node.publicKey, b, { ephemeralPrivateKey: eph });

    const enc = createPublicKey(priv(eph)).export({ format: 'der', type: 'spki' }).subarray(-32);
    const dh = diffieHellman({ privateKey: priv(eph), publicKey: pub(node.publicKey) });
    const type = Buffer.of(1);
    const salt = Buffer.concat([lp(utf8('keymesh/wrap/v1')), type]);
    const info = Buffer.concat([lp(utf8('keymesh/wrap/v1 key')), type, lp(enc), lp(node.publicKey)]);
    const okm = Buffer.from(hkdfSync('sha256', dh, salt, info, 44));
    const ad = Buffer.concat([
      lp(utf8('keymesh/wrap/v1')),
      type,
      lp(utf8(b.keyId)),
      lp(Buffer.from([0, 0, 0, b.version])),
      lp(utf8(b.algorithm)),
      lp(utf8(b.nodeId)),
    ]);
    assert.equal(hex(wrapAssociatedData(1, b)), hex(ad));
    const c = createCipheriv('aes-256-gcm', okm.subarray(0, 32), okm.subarray(32), { authTagLength: 16 });
    c.setAAD(ad);
    const expected = Buffer.concat([type, enc, c.update(material), c.final(), c.getAuthTag()]);
    assert.equal(hex(blob), expected.toString('hex'));
    assert.equal(hex(unwrapAtNode(blob, node.privateKey, b)), hex(material));
  }
});

test('the ephemeral secret given for a known-answer test is copied, and the copy wiped', () => {
  const node = generateTransportKeyPair();
  const eph = rand(32);
  const keep = hex(eph);
  const one = wrapToNode(rand(32).fill(7), node.publicKey, binding, { ephemeralPrivateKey: eph });
  assert.equal(hex(eph), keep);
  const two = wrapToNode(rand(32).fill(7), node.publicKey, binding, { ephemeralPrivateKey: eph });
  assert.equal(hex(one), hex(two), 'deterministic given the ephemeral');
});

test('Wycheproof X25519 through x25519SharedSecret (low-order keys refused)', () => {
  const data = readWycheproof<{
    numberOfTests: number;
    testGroups: {
      curve: string;
      tests: (WycheproofTest & { public: string; private: string; shared: string })[];
    }[];
  }>('x25519_test.json');
  let count = 0;
  let refusedLowOrder = 0;
  for (const g of data.testGroups) {
    assert.equal(g.curve, 'curve25519');
    for (const t of g.tests) {
      count++;
      const label = `tcId ${t.tcId} (${t.comment}; ${t.flags.join(',')})`;
      const zero = /^0+$/.test(t.shared);
      let got: string | undefined;
      let err: unknown;
      try {
        got = hex(x25519SharedSecret(unhex(t.private), unhex(t.public)));
      } catch (e) {
        err = e;
      }
      if (t.result === 'invalid') {
        assert.ok(err, label);
      } else if (zero || t.flags.includes('ZeroSharedSecret')) {
        // `acceptable` in Wycheproof; RFC 7748 §6.1's check is mandatory for us.
        assert.ok(err instanceof KeymeshError && err.code === 'INVALID_REQUEST', `${label}: must be refused`);
        refusedLowOrder++;
      } else {
        // valid, and acceptable twist / non-canonical inputs: the RFC 7748 result.
        assert.equal(err, undefined, `${label}: ${String(err)}`);
        assert.equal(got, t.shared, label);
      }
    }
  }
  assert.equal(count, data.numberOfTests, 'every test in the file ran');
  assert.ok(refusedLowOrder >= 20, 'the low-order cases were exercised');
});

test('Wycheproof HKDF-SHA256 through hkdfSha256', () => {
  const data = readWycheproof<{
    numberOfTests: number;
    testGroups: {
      tests: (WycheproofTest & { ikm: string; salt: string; info: string; size: number; okm: string })[];
    }[];
  }>('hkdf_sha256_test.json');
  let count = 0;
  for (const g of data.testGroups)
    for (const t of g.tests) {
      count++;
      const label = `tcId ${t.tcId} (${t.comment})`;
      if (t.result === 'valid') {
        assert.equal(hex(hkdfSha256(unhex(t.ikm), unhex(t.salt), unhex(t.info), t.size)), t.okm, label);
      } else {
        expectCode(() => hkdfSha256(unhex(t.ikm), unhex(t.salt), unhex(t.info), t.size), 'INVALID_REQUEST');
      }
    }
  assert.equal(count, data.numberOfTests, 'every test in the file ran');
});
