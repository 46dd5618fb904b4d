// Test oracle: SLIP-10 key derivation for Ed25519 (satoshilabs/slips slip-0010.md), via
// micro-key-producer (a dev dependency for this alone). An independent reference for the enclave's
// own derivation (src/enclave/crypto/hd.ts), checked itself against the SLIP's vectors
// (test/hd/slip10.test.ts); nothing in src/ uses it.
//
// Master: I = HMAC-SHA512("ed25519 seed", seed); key = I[0..32], chain code = I[32..64].
// Child (hardened only): I = HMAC-SHA512(chain code, 0x00 ‖ key ‖ ser32(index)).
// Ed25519 has no public-key derivation, so SLIP-10 defines hardened children only: a
// non-hardened step is refused (INVALID_REQUEST) rather than silently hardened.
//
// Sizes: private key 32 bytes (an RFC 8032 seed), public key 32 bytes (SLIP-10's test vectors
// print it with a 0x00 prefix, 33 bytes), chain code 32 bytes, fingerprint 4 bytes of
// HASH160(0x00 ‖ public key). Intermediates are wiped.
import { HDKey } from 'micro-key-producer/slip10.js';
import { invalid, KeymeshError } from '../../../src/errors.js';
import { checkIndices, HARDENED_OFFSET, parsePath } from '../../../src/hd/path.js';

export interface Slip10Node {
  depth: number;
  index: number;
  parentFingerprint: number;
  fingerprint: number;
  chainCode: Uint8Array; // 32 bytes
  publicKey: Uint8Array; // 32 bytes
  privateKey: Uint8Array; // 32 bytes
}

function wipeHDKey(k: HDKey): void {
  // Both arrays were freshly sliced from the HMAC output for this node alone.
  k.privateKey.fill(0);
  k.chainCode.fill(0);
}

/** Derive the Ed25519 key at `path` (hardened steps only) from a seed of 16..64 bytes. */
export function deriveEd25519(seed: Uint8Array, path: string | readonly number[]): Slip10Node {
  if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64)
    throw new KeymeshError('INVALID_KEY', 'an HD seed must be 16 to 64 bytes');
  const indices = typeof path === 'string' ? parsePath(path) : checkIndices(path);
  for (const [i, index] of indices.entries()) {
    if (index < HARDENED_OFFSET)
      throw invalid(`path step ${i + 1} is not hardened; Ed25519 (SLIP-10) derives hardened steps only`);
  }
  let cur = HDKey.fromMasterSeed(seed);
  for (const index of indices) {
    const next = cur.deriveChild(index);
    wipeHDKey(cur);
    cur = next;
  }
  const node: Slip10Node = {
    depth: cur.depth,
    index: cur.index,
    parentFingerprint: cur.parentFingerprint,
    fingerprint: cur.fingerprint,
    chainCode: Uint8Array.from(cur.chainCode),
    publicKey: cur.publicKeyRaw,
    privateKey: Uint8Array.from(cur.privateKey),
  };
  wipeHDKey(cur);
  return node;
}

/** The SLIP-10 master key's fingerprint (always 0 for the master itself; this is its own id). */
export function ed25519MasterFingerprint(seed: Uint8Array): number {
  const node = deriveEd25519(seed, []);
  wipeSlip10Node(node);
  return node.fingerprint;
}

export function wipeSlip10Node(node: Slip10Node): void {
  node.privateKey.fill(0);
  node.chainCode.fill(0);
}
