// Properties of the signers and the verifier on random keys and inputs, each judged by an
// implementation other than the one under test where one exists: sign → verify round trips,
// low-s always, the recovery id recovers the public key (noble), RFC 6979 / RFC 8032 signatures
// equal noble's byte for byte, BIP86 output keys equal @scure/btc-signer's. Plus input checks and
// the strict DER parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, getRandomValues } from 'node:crypto';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { p256 } from '@noble/curves/nist.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p2tr } from '@scure/btc-signer';
import type { Algorithm } from '../../src/enclave/enclave.js';
import { generateSecret, importSigner, validateSecret } from '../../src/enclave/crypto/signers.js';
import { verifySignature } from '../../src/enclave/crypto/verify.js';
import { compactToDer, derToCompact } from '../../src/enclave/crypto/der.js';
import {
  ecdsaCheck,
  schnorrSignDigest,
  SECP256K1_HALF_N,
  SECP256K1_N,
  taprootOutputKey,
} from '../../src/enclave/crypto/secp256k1.js';
import { P256_HALF_N, P256_N } from '../../src/enclave/crypto/p256.js';
import { compareBytes } from '../../src/enclave/crypto/bytes.js';
import { expectCode, hex, unhex } from './_support.js';

const ROUNDS = 40;
const rand = (n: number) => getRandomValues(new Uint8Array(n));
const big = (b: Uint8Array) => BigInt('0x' + hex(b));
const to32 = (n: bigint) => unhex(n.toString(16).padStart(64, '0'));
const sha256 = (m: Uint8Array) => new Uint8Array(createHash('sha256').update(m).digest());
const flip = (b: Uint8Array, bit: number) => {
  const c = new Uint8Array(b);
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
};

test('constants agree with noble', () => {
  assert.equal(big(SECP256K1_N), secp256k1.Point.Fn.ORDER);
  assert.equal(big(SECP256K1_HALF_N), secp256k1.Point.Fn.ORDER >> 1n);
  assert.equal(big(P256_N), p256.Point.Fn.ORDER);
  assert.equal(big(P256_HALF_N), p256.Point.Fn.ORDER >> 1n);
});

test('secp256k1 ECDSA: RFC 6979 equals noble, low-s, recovery id recovers the key, round trips', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const d = generateSecret('secp256k1');
    const signer = importSigner('secp256k1', d);
    assert.equal(hex(signer.publicKey), hex(secp256k1.getPublicKey(d, true)));
    const message = rand(i * 7);
    const digest = sha256(message);
    for (const req of [{ digest }, { message }]) {
      const { signature, recoveryId } = signer.sign(req);
      assert.equal(
        hex(signature),
        hex(secp256k1.sign(digest, d, { prehash: false })),
        'deterministic, same as noble',
      );
      assert.ok(compareBytes(signature.subarray(32), SECP256K1_HALF_N) <= 0, 'low-s');
      assert.ok(recoveryId === 0 || recoveryId === 1);
      const recovered = secp256k1.Signature.fromBytes(signature, 'compact')
        .addRecoveryBit(recoveryId!)
        .recoverPublicKey(digest)
        .toBytes(true);
      assert.equal(hex(recovered), hex(signer.publicKey), 'recovery id');
      const v = { algorithm: 'secp256k1' as const, publicKey: signer.publicKey, ...req };
      assert.ok(verifySignature({ ...v, signature }));
      assert.equal(verifySignature({ ...v, signature: flip(signature, i % 512) }), false);
      // The same signature with high s is still valid ECDSA, but not under the low-s policy.
      const high = new Uint8Array(signature);
      high.set(to32(big(SECP256K1_N) - big(signature.subarray(32))), 32);
      assert.ok(verifySignature({ ...v, signature: high }));
      assert.equal(verifySignature({ ...v, signature: high }, { strictLowS: true }), false);
      assert.ok(
        verifySignature({ ...v, signature: compactToDer(signature) }, { der: true, strictLowS: true }),
      );
      // The fault check refuses a corrupted signature, a wrong recovery id, and high s.
      assert.ok(ecdsaCheck(signature, recoveryId!, digest, signer.publicKey));
      assert.equal(ecdsaCheck(flip(signature, 5), recoveryId!, digest, signer.publicKey), false);
      assert.equal(ecdsaCheck(signature, 1 - recoveryId!, digest, signer.publicKey), false);
      assert.equal(ecdsaCheck(high, recoveryId!, digest, signer.publicKey), false);
    }
  }
});

test('BIP340 and BIP86: tiny-secp256k1 equals noble, output keys equal @scure/btc-signer, round trips', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const d = generateSecret('secp256k1');
    const signer = importSigner('secp256k1', d);
    const digest = rand(32);
    const aux = rand(32);
    assert.equal(hex(schnorrSignDigest(digest, d, aux)), hex(schnorr.sign(digest, d, aux)));
    const plain = signer.sign({ digest, scheme: 'schnorr' }).signature;
    assert.ok(schnorr.verify(plain, digest, signer.publicKey.subarray(1)), 'noble accepts it');
    const outputKey = taprootOutputKey(signer.publicKey);
    assert.equal(hex(outputKey), hex(p2tr(signer.publicKey.subarray(1)).tweakedPubkey));
    const tweaked = signer.sign({ digest, scheme: 'schnorr-taproot' }).signature;
    assert.ok(schnorr.verify(tweaked, digest, outputKey), 'noble accepts it under the output key');
    const v = { algorithm: 'secp256k1' as const, publicKey: signer.publicKey, digest };
    assert.ok(verifySignature({ ...v, scheme: 'schnorr-taproot', signature: tweaked }));
    assert.equal(verifySignature({ ...v, scheme: 'schnorr-taproot', signature: flip(tweaked, i) }), false);
    assert.equal(verifySignature({ ...v, scheme: 'schnorr', signature: flip(plain, 300 + i) }), false);
  }
});

test('P-256 ECDSA: deterministic, low-s, verified by OpenSSL and noble, round trips', () => {
  for (let i = 0; i < ROUNDS / 2; i++) {
    const d = generateSecret('p256');
    const signer = importSigner('p256', d);
    assert.equal(hex(signer.publicKey), hex(p256.getPublicKey(d, true)));
    const message = rand(1 + i * 13);
    const digest = sha256(message);
    const a = signer.sign({ message }).signature;
    const b = signer.sign({ digest }).signature;
    assert.equal(hex(a), hex(b), 'message is SHA-256 then ECDSA');
    assert.ok(compareBytes(a.subarray(32), P256_HALF_N) <= 0, 'low-s');
    assert.ok(p256.verify(a, digest, signer.publicKey, { prehash: false }), 'noble accepts it');
    const v = { algorithm: 'p256' as const, publicKey: signer.publicKey };
    assert.ok(verifySignature({ ...v, message, signature: a }));
    assert.ok(verifySignature({ ...v, digest, signature: a }));
    assert.equal(verifySignature({ ...v, message, signature: flip(a, i) }), false);
    assert.equal(verifySignature({ ...v, digest: flip(digest, i), signature: a }), false);
  }
});

test('Ed25519: OpenSSL signatures equal noble, round trips', () => {
  for (let i = 0; i < ROUNDS; i++) {
    const seed = generateSecret('ed25519');
    const signer = importSigner('ed25519', seed);
    assert.equal(hex(signer.publicKey), hex(ed25519.getPublicKey(seed)));
    const message = rand(i * 31);
    const { signature } = signer.sign({ message });
    assert.equal(hex(signature), hex(ed25519.sign(message, seed)));
    const v = { algorithm: 'ed25519' as const, publicKey: signer.publicKey, message };
    assert.ok(verifySignature({ ...v, signature }));
    assert.equal(verifySignature({ ...v, signature: flip(signature, i * 11) }), false);
    assert.equal(verifySignature({ ...v, signature: signature.subarray(0, 63) }), false);
  }
});

test('private key validation: lengths, zero, the order, and the seed', () => {
  const n = SECP256K1_N;
  expectCode(() => validateSecret('secp256k1', new Uint8Array(32)), 'INVALID_KEY');
  expectCode(() => validateSecret('secp256k1', n), 'INVALID_KEY');
  expectCode(() => validateSecret('secp256k1', new Uint8Array(32).fill(0xff)), 'INVALID_KEY');
  validateSecret('secp256k1', to32(big(n) - 1n));
  validateSecret('secp256k1', to32(1n));
  expectCode(() => validateSecret('p256', P256_N), 'INVALID_KEY');
  expectCode(() => validateSecret('p256', new Uint8Array(32)), 'INVALID_KEY');
  validateSecret('p256', to32(big(P256_N) - 1n));
  // secp256k1's n - 1 is above P-256's n: valid for one curve only.
  expectCode(() => validateSecret('p256', to32(big(n) - 1n)), 'INVALID_KEY');
  validateSecret('ed25519', new Uint8Array(32));
  for (const alg of ['secp256k1', 'p256', 'ed25519'] as Algorithm[]) {
    expectCode(() => validateSecret(alg, new Uint8Array(31)), 'INVALID_REQUEST');
    expectCode(() => validateSecret(alg, new Uint8Array(33)), 'INVALID_REQUEST');
    expectCode(() => importSigner(alg, 'not bytes' as unknown as Uint8Array), 'INVALID_REQUEST');
  }
  expectCode(() => validateSecret('rsa' as Algorithm, new Uint8Array(32)), 'INVALID_REQUEST');
});

test('signer requests: schemes, digest/message rules, paths', () => {
  const k1 = importSigner('secp256k1', generateSecret('secp256k1'));
  const r1 = importSigner('p256', generateSecret('p256'));
  const ed = importSigner('ed25519', generateSecret('ed25519'));
  const digest = rand(32);
  expectCode(() => ed.sign({ digest }), 'UNSUPPORTED');
  expectCode(() => r1.sign({ digest, scheme: 'schnorr' }), 'UNSUPPORTED');
  expectCode(() => ed.sign({ message: digest, scheme: 'ecdsa' }), 'UNSUPPORTED');
  expectCode(() => k1.sign({ digest, scheme: 'ed25519' }), 'UNSUPPORTED');
  expectCode(() => k1.sign({ digest, scheme: 'bogus' as 'ecdsa' }), 'UNSUPPORTED');
  expectCode(() => k1.sign({ digest, message: digest }), 'INVALID_REQUEST');
  expectCode(() => k1.sign({}), 'INVALID_REQUEST');
  expectCode(() => k1.sign({ digest: rand(31) }), 'INVALID_REQUEST');
  expectCode(() => k1.sign({ digest: rand(33) }), 'INVALID_REQUEST');
  expectCode(() => k1.sign({ message: rand(10), scheme: 'schnorr' }), 'INVALID_REQUEST');
  expectCode(() => k1.sign({ message: new Uint8Array(1024 * 1024 + 1) }), 'INVALID_REQUEST');
  expectCode(() => k1.sign({ digest, path: "m/0'" }), 'INVALID_REQUEST');
  k1.sign({ message: new Uint8Array(0) });
  ed.sign({ message: new Uint8Array(0) });
});

test('signers own their key: a copy at import, wiped by zero()', () => {
  const d = generateSecret('secp256k1');
  const signer = importSigner('secp256k1', d);
  const before = signer.sign({ digest: new Uint8Array(32) }).signature;
  d.fill(0x11); // the caller's buffer is theirs; the signer must not alias it
  assert.equal(hex(signer.sign({ digest: new Uint8Array(32) }).signature), hex(before));
  const pub = signer.publicKey;
  pub.fill(0);
  assert.notEqual(hex(signer.publicKey), hex(pub), 'publicKey hands out a copy');
  for (const alg of ['secp256k1', 'p256', 'ed25519'] as Algorithm[]) {
    const s = importSigner(alg, generateSecret(alg));
    s.zero();
    expectCode(
      () => s.sign(alg === 'ed25519' ? { message: rand(3) } : { digest: rand(32) }),
      'ENCLAVE_FAILURE',
    );
    s.zero(); // idempotent
  }
  const t = importSigner('secp256k1', generateSecret('secp256k1'));
  t.sign({ digest: rand(32), scheme: 'schnorr-taproot' });
  t.zero();
  expectCode(() => t.sign({ digest: rand(32), scheme: 'schnorr-taproot' }), 'ENCLAVE_FAILURE');
});

test('verify: malformed requests are INVALID_REQUEST, bad signatures are false', () => {
  const s = importSigner('secp256k1', generateSecret('secp256k1'));
  const digest = rand(32);
  const { signature } = s.sign({ digest });
  const base = { algorithm: 'secp256k1' as const, digest, signature };
  expectCode(() => verifySignature({ ...base, publicKey: s.publicKey.subarray(1) }), 'INVALID_REQUEST');
  const hybrid = new Uint8Array(65);
  hybrid[0] = 0x06;
  expectCode(() => verifySignature({ ...base, publicKey: hybrid }), 'INVALID_REQUEST');
  expectCode(
    () => verifySignature({ ...base, publicKey: s.publicKey, signature: 'x' as unknown as Uint8Array }),
    'INVALID_REQUEST',
  );
  expectCode(
    () => verifySignature({ ...base, algorithm: 'dsa' as Algorithm, publicKey: s.publicKey }),
    'INVALID_REQUEST',
  );
  expectCode(
    () => verifySignature({ algorithm: 'ed25519', publicKey: rand(32), digest, signature }),
    'UNSUPPORTED',
  );
  assert.equal(verifySignature({ ...base, publicKey: s.publicKey, signature: signature.subarray(1) }), false);
  const offCurve = new Uint8Array(33).fill(0xff);
  offCurve[0] = 0x02;
  assert.equal(verifySignature({ ...base, publicKey: offCurve }), false);
  // r = 0, s = 0, r = n: refused before any arithmetic.
  for (const bad of [new Uint8Array(64), new Uint8Array([...SECP256K1_N, ...to32(1n)])])
    assert.equal(verifySignature({ ...base, publicKey: s.publicKey, signature: bad }), false);
});

test('strict DER: round trips, and BER leniencies are refused', () => {
  for (let i = 0; i < 200; i++) {
    const c = rand(64);
    if (i % 4 === 0) c.fill(0, 0, 1 + (i % 20)); // short integers
    if (i % 5 === 0) c[32] = 0x80; // needs a sign byte
    const der = compactToDer(c);
    assert.equal(hex(derToCompact(der)!), hex(c));
  }
  const der = compactToDer(unhex('01'.repeat(32) + '02'.repeat(32)));
  const mutate = (f: (b: number[]) => number[]) => new Uint8Array(f([...der]));
  assert.ok(derToCompact(der));
  // long-form sequence length
  assert.equal(derToCompact(mutate((b) => [0x30, 0x81, b[1]!, ...b.slice(2)])), undefined);
  // a padding zero in r (not needed for the sign)
  assert.equal(derToCompact(mutate((b) => [0x30, b[1]! + 1, 0x02, 0x21, 0x00, ...b.slice(4)])), undefined);
  // negative r
  assert.equal(derToCompact(mutate((b) => [...b.slice(0, 4), 0x81, ...b.slice(5)])), undefined);
  // trailing byte after the sequence, and inside it
  assert.equal(derToCompact(mutate((b) => [...b, 0x00])), undefined);
  assert.equal(derToCompact(mutate((b) => [0x30, b[1]! + 1, ...b.slice(2), 0x00])), undefined);
  // wrong tags, empty integer, and an integer wider than the curve
  assert.equal(derToCompact(mutate((b) => [0x31, ...b.slice(1)])), undefined);
  assert.equal(derToCompact(mutate((b) => [b[0]!, b[1]!, 0x03, ...b.slice(3)])), undefined);
  assert.equal(derToCompact(new Uint8Array([0x30, 0x06, 0x02, 0x00, 0x02, 0x02, 0x01, 0x01])), undefined);
  const wide = compactToDer(unhex('7f'.repeat(32) + '01'.repeat(32)));
  const w = [...wide];
  assert.equal(derToCompact(new Uint8Array([0x30, w[1]! + 1, 0x02, 0x21, 0x7f, ...w.slice(4)])), undefined);
});
