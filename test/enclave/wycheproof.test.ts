// Project Wycheproof (C2SP/wycheproof testvectors_v1, vendored in test/vectors/, see its README) through
// the enclave's own verification and AEAD code: every `valid` case must pass, every `invalid`
// case must be refused.
//
// `acceptable` cases: none occur in these files at this commit. Should one appear, this suite
// accepts either outcome, except that anything flagged BerEncodedSignature must be refused,
// because the verifier promises strict DER.
//
// ECDSA runs with the Wycheproof public key both uncompressed and compressed. P-256 runs through
// both of its engines (OpenSSL over the message, noble over the SHA-256 digest). The Bitcoin file
// runs with strict low-s, as its EcdsaBitcoinVerify type requires. Ed25519 is also cross-checked
// against noble's strict (zip215: false) RFC 8032 verification.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { Algorithm } from '../../src/enclave/enclave.js';
import { verifySignature, type VerifyOptions } from '../../src/enclave/crypto/verify.js';
import { aesGcmDecrypt, aesGcmEncrypt } from '../../src/enclave/crypto/seal.js';
import { KeymeshError } from '../../src/errors.js';
import { hex, readWycheproof, unhex, type WycheproofTest } from './_support.js';

const STRICT_REFUSALS = new Set(['BerEncodedSignature']);

function judge(t: WycheproofTest, got: boolean, label: string): void {
  if (t.result === 'acceptable') {
    if (t.flags.some((f) => STRICT_REFUSALS.has(f))) assert.equal(got, false, label);
    return;
  }
  assert.equal(got, t.result === 'valid', `${label}: tcId ${t.tcId} (${t.comment}; ${t.flags.join(',')})`);
}

function compress(uncompressed: Uint8Array): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = uncompressed[64]! & 1 ? 0x03 : 0x02;
  out.set(uncompressed.subarray(1, 33), 1);
  return out;
}

interface EcdsaGroup {
  publicKey: { uncompressed: string; curve: string };
  sha: string;
  tests: WycheproofTest[];
}

function runEcdsa(
  file: string,
  algorithm: Algorithm,
  opts: VerifyOptions & { digestEngineToo?: boolean },
): number {
  const data = readWycheproof<{ numberOfTests: number; testGroups: EcdsaGroup[] }>(file);
  let count = 0;
  for (const g of data.testGroups) {
    assert.equal(g.sha, 'SHA-256');
    const full = unhex(g.publicKey.uncompressed);
    const keys = [full, compress(full)];
    for (const t of g.tests) {
      const message = unhex(t.msg);
      const signature = unhex(t.sig);
      for (const publicKey of keys) {
        judge(
          t,
          verifySignature({ algorithm, publicKey, message, signature }, opts),
          `${file} (${publicKey.length}-byte key)`,
        );
      }
      if (opts.digestEngineToo) {
        const digest = new Uint8Array(createHash('sha256').update(message).digest());
        judge(
          t,
          verifySignature({ algorithm, publicKey: full, digest, signature }, opts),
          `${file} (digest)`,
        );
      }
      count++;
    }
  }
  assert.equal(count, data.numberOfTests, 'every test in the file ran');
  return count;
}

test('Wycheproof ECDSA secp256k1 SHA-256, DER', () => {
  runEcdsa('ecdsa_secp256k1_sha256_test.json', 'secp256k1', { der: true });
});

test('Wycheproof ECDSA secp256k1 SHA-256, P1363 (r‖s)', () => {
  runEcdsa('ecdsa_secp256k1_sha256_p1363_test.json', 'secp256k1', {});
});

test('Wycheproof ECDSA secp256k1 SHA-256, Bitcoin (DER, strict low-s)', () => {
  runEcdsa('ecdsa_secp256k1_sha256_bitcoin_test.json', 'secp256k1', { der: true, strictLowS: true });
});

test('Wycheproof ECDSA P-256 SHA-256, DER (OpenSSL and noble engines)', () => {
  runEcdsa('ecdsa_secp256r1_sha256_test.json', 'p256', { der: true, digestEngineToo: true });
});

test('Wycheproof ECDSA P-256 SHA-256, P1363 (OpenSSL and noble engines)', () => {
  runEcdsa('ecdsa_secp256r1_sha256_p1363_test.json', 'p256', { digestEngineToo: true });
});

test('Wycheproof Ed25519 (RFC 8032 strict), cross-checked with noble', () => {
  const data = readWycheproof<{
    numberOfTests: number;
    testGroups: { publicKey: { pk: string }; tests: WycheproofTest[] }[];
  }>('ed25519_test.json');
  let count = 0;
  for (const g of data.testGroups) {
    const publicKey = unhex(g.publicKey.pk);
    for (const t of g.tests) {
      const message = unhex(t.msg);
      const signature = unhex(t.sig);
      const ours = verifySignature({ algorithm: 'ed25519', publicKey, message, signature });
      judge(t, ours, 'ed25519');
      let noble = false;
      try {
        noble = ed25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        noble = false;
      }
      assert.equal(ours, noble, `ed25519 tcId ${t.tcId}: OpenSSL and noble disagree`);
      count++;
    }
  }
  assert.equal(count, data.numberOfTests);
});

interface AeadTest extends WycheproofTest {
  key: string;
  iv: string;
  aad: string;
  ct: string;
  tag: string;
}

test('Wycheproof AES-GCM, 96-bit IV and 128-bit tag groups, through seal.ts AES-GCM', () => {
  const data = readWycheproof<{
    testGroups: { ivSize: number; keySize: number; tagSize: number; tests: AeadTest[] }[];
  }>('aes_gcm_test.json');
  let ran = 0;
  const keySizes = new Set<number>();
  for (const g of data.testGroups) {
    if (g.tagSize !== 128) continue;
    if (g.ivSize !== 96) {
      // Other nonce sizes are not something sealing ever uses; the code refuses them outright.
      const t = g.tests[0]!;
      assert.throws(
        () => aesGcmEncrypt(unhex(t.key), unhex(t.iv), unhex(t.msg), unhex(t.aad)),
        (e: unknown) => e instanceof KeymeshError && e.code === 'INVALID_REQUEST',
      );
      continue;
    }
    keySizes.add(g.keySize);
    for (const t of g.tests) {
      const key = unhex(t.key);
      const iv = unhex(t.iv);
      const aad = unhex(t.aad);
      const opened = aesGcmDecrypt(key, iv, unhex(t.ct), unhex(t.tag), aad);
      if (t.result === 'valid') {
        assert.ok(opened, `tcId ${t.tcId} should open`);
        assert.equal(hex(opened), t.msg, `tcId ${t.tcId} plaintext`);
        const sealed = aesGcmEncrypt(key, iv, unhex(t.msg), aad);
        assert.equal(hex(sealed.ciphertext), t.ct, `tcId ${t.tcId} ciphertext`);
        assert.equal(hex(sealed.tag), t.tag, `tcId ${t.tcId} tag`);
      } else if (t.result === 'invalid') {
        assert.equal(opened, undefined, `tcId ${t.tcId} (${t.comment}) must not open`);
      }
      ran++;
    }
  }
  assert.deepEqual([...keySizes].sort(), [128, 192, 256]);
  assert.ok(ran > 150, `ran ${ran} AES-GCM cases`);
});
