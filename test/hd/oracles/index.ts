// Test oracle: HD wallets, one entry point per algorithm over the reference derivations here.
// secp256k1 follows BIP32, Ed25519 follows SLIP-10 (hardened steps only). The enclave's own
// derivation (src/enclave/crypto/hd.ts) is checked against it (test/enclave/hd.test.ts). P-256 HD
// keys are not offered (SLIP-10 defines them, but no wallet Keymesh targets uses them), so they
// are UNSUPPORTED.
import { KeymeshError } from '../../../src/errors.js';
import { deriveSecp256k1, masterFingerprint } from './bip32.js';
import { deriveEd25519, ed25519MasterFingerprint, wipeSlip10Node } from './slip10.js';

export * from '../../../src/hd/path.js';
export * from './bip39.js';
export * from './bip32.js';
export * from './slip10.js';

export type HdAlgorithm = 'secp256k1' | 'ed25519';

export interface DerivedKey {
  privateKey: Uint8Array; // 32 bytes: secp256k1 scalar or Ed25519 seed
  publicKey: Uint8Array; // secp256k1: 33 bytes compressed; Ed25519: 32 bytes
}

function hdAlgorithm(algorithm: string): HdAlgorithm {
  if (algorithm === 'secp256k1' || algorithm === 'ed25519') return algorithm;
  throw new KeymeshError(
    'UNSUPPORTED',
    `HD derivation is offered for secp256k1 and ed25519 keys, not ${algorithm}`,
  );
}

/**
 * The child key at `path` for an HD root's seed. The caller owns the returned private key and
 * must wipe it after use. A malformed path (or a non-hardened Ed25519 step) → INVALID_REQUEST.
 */
export function deriveHdKey(
  algorithm: string,
  seed: Uint8Array,
  path: string | readonly number[],
): DerivedKey {
  if (hdAlgorithm(algorithm) === 'secp256k1') {
    const node = deriveSecp256k1(seed, path);
    const out = { privateKey: node.privateKey!, publicKey: node.publicKey };
    node.chainCode.fill(0);
    return out;
  }
  const node = deriveEd25519(seed, path);
  const out = { privateKey: Uint8Array.from(node.privateKey), publicKey: node.publicKey };
  wipeSlip10Node(node);
  return out;
}

/** Only the public key at `path`. */
export function deriveHdPublicKey(
  algorithm: string,
  seed: Uint8Array,
  path: string | readonly number[],
): Uint8Array {
  const k = deriveHdKey(algorithm, seed, path);
  k.privateKey.fill(0);
  return k.publicKey;
}

/**
 * The master fingerprint shown on an HD root's key object (PSBT bip32Derivation records name it).
 * For secp256k1 it is BIP32's; Ed25519 roots have no PSBT use, and SLIP-10 gives the master a
 * fingerprint of HASH160(0x00 ‖ public key) computed the same way.
 */
export function hdMasterFingerprint(algorithm: string, seed: Uint8Array): number {
  return hdAlgorithm(algorithm) === 'secp256k1' ? masterFingerprint(seed) : ed25519MasterFingerprint(seed);
}
