// SLIP-10 Ed25519 test vectors 1 and 2, copied from satoshilabs/slips slip-0010.md
// (commit ac9e0ca32fbde4ee6c14e5565ffaee5e7ad65103), "Test vector 1 for ed25519" and "Test vector 2
// for ed25519". The SLIP prints public keys with a 0x00 prefix (33 bytes); Keymesh's Ed25519 public
// keys are the 32 bytes after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveEd25519, ed25519MasterFingerprint, wipeSlip10Node } from './oracles/slip10.js';
import { deriveHdKey, hdMasterFingerprint } from './oracles/index.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { assertKeymeshError, hex, unhex } from '../chains/_assert.js';
import {
  SLIP10_V1 as V1,
  SLIP10_V1_SEED as V1_SEED,
  SLIP10_V2 as V2,
  SLIP10_V2_SEED as V2_SEED,
} from '../fixtures/slip10-ed25519.js';

test('SLIP-10 Ed25519 test vectors 1 and 2: chain code, private and public key, parent fingerprint', () => {
  for (const [seedHex, rows] of [
    [V1_SEED, V1],
    [V2_SEED, V2],
  ] as const) {
    const seed = unhex(seedHex);
    for (const [path, fp, chainCode, priv, pub] of rows) {
      const node = deriveEd25519(seed, path.replaceAll('H', "'"));
      assert.equal(hex(node.chainCode), chainCode, path);
      assert.equal(hex(node.privateKey), priv, path);
      assert.equal('00' + hex(node.publicKey), pub, path);
      // The SLIP's "fingerprint" column is the parent's fingerprint (00000000 for the master).
      assert.equal(node.parentFingerprint.toString(16).padStart(8, '0'), fp, path);
      // The private key is an RFC 8032 seed whose public key is the one derived.
      assert.equal(hex(ed25519.getPublicKey(node.privateKey)), hex(node.publicKey));
    }
  }
});

test('SLIP-10: generic entry point, fingerprints and wiping', () => {
  const seed = unhex(V1_SEED);
  const k = deriveHdKey('ed25519', seed, "m/0'/1'");
  assert.equal(hex(k.privateKey), V1[2]![3]);
  assert.equal(hex(k.publicKey), V1[2]![4].slice(2));
  // m/0H's parent fingerprint is the master's own fingerprint.
  assert.equal(ed25519MasterFingerprint(seed), 0xddebc675);
  assert.equal(hdMasterFingerprint('ed25519', seed), 0xddebc675);
  const node = deriveEd25519(seed, "m/0'");
  const priv = node.privateKey;
  wipeSlip10Node(node);
  assert.ok(priv.every((b) => b === 0));
});

test('SLIP-10: a non-hardened step is INVALID_REQUEST, never silently hardened', () => {
  const seed = unhex(V1_SEED);
  assertKeymeshError(() => deriveEd25519(seed, 'm/0'), /step 1 is not hardened/);
  assertKeymeshError(() => deriveEd25519(seed, "m/44'/501'/0'/0"), /step 4 is not hardened/);
  assertKeymeshError(() => deriveHdKey('ed25519', seed, "m/0'/1"), /not hardened/);
  assertKeymeshError(() => deriveEd25519(seed, 'm//0'), /empty segment/);
  assertKeymeshError(() => deriveEd25519(new Uint8Array(65), "m/0'"), /16 to 64 bytes/, 'INVALID_KEY');
});
