// Test oracle: BIP32 hierarchical deterministic keys over secp256k1 (bitcoin/bips bip-0032.mediawiki),
// with @scure/bip32 doing the arithmetic. An independent reference for the enclave's own derivation
// (src/enclave/crypto/hd.ts), checked itself against the BIP's vectors (test/hd/bip32.test.ts);
// nothing in src/ uses it. The xpub encoding it shares is the node's (src/hd/bip32.ts).
//
// Private derivation takes the BIP39 seed (16..64 bytes) and a path, and returns the child key. Every intermediate node's private key is wiped as soon as its
// child exists; the caller owns (and must wipe) the returned private key. Public-only derivation
// from an extended public key (non-hardened steps) needs no secret and may run on the node.
//
// Sizes: private key 32 bytes, public key 33 bytes (compressed SEC1), chain code 32 bytes,
// fingerprint 4 bytes (first 4 bytes of HASH160(public key)), serialized extended key 78 bytes.
import { HDKey } from '@scure/bip32';
import { invalid, KeymeshError } from '../../../src/errors.js';
import { BIP32_VERSIONS, toHDKey, type Bip32Network, type Bip32Node } from '../../../src/hd/bip32.js';
import { checkIndices, HARDENED_OFFSET, MAX_PATH_DEPTH, parsePath } from '../../../src/hd/path.js';

export { BIP32_VERSIONS, encodeXpub, type Bip32Network, type Bip32Node } from '../../../src/hd/bip32.js';

const SEED_MIN = 16;
const SEED_MAX = 64;

function checkSeed(seed: Uint8Array): void {
  // The seed comes from inside the enclave, never from a caller: a wrong one is a key problem.
  if (!(seed instanceof Uint8Array) || seed.length < SEED_MIN || seed.length > SEED_MAX)
    throw new KeymeshError('INVALID_KEY', `an HD seed must be ${SEED_MIN} to ${SEED_MAX} bytes`);
}

function toIndices(path: string | readonly number[]): number[] {
  return typeof path === 'string' ? parsePath(path) : checkIndices(path);
}

function snapshot(k: HDKey, withPrivate: boolean): Bip32Node {
  const node: Bip32Node = {
    depth: k.depth,
    index: k.index,
    parentFingerprint: k.parentFingerprint,
    fingerprint: k.fingerprint,
    chainCode: k.chainCode!,
    publicKey: k.publicKey!,
  };
  if (withPrivate && k.privateKey) node.privateKey = k.privateKey; // the getter returns a copy
  return node;
}

function masterKey(seed: Uint8Array): HDKey {
  checkSeed(seed);
  try {
    return HDKey.fromMasterSeed(seed);
  } catch (e) {
    // BIP32: a master secret of 0 or ≥ n is invalid (probability about 2^-127).
    throw new KeymeshError('INVALID_KEY', 'this seed gives an invalid BIP32 master key', { cause: e });
  }
}

function deriveFrom(start: HDKey, indices: readonly number[], wipeStart: boolean): HDKey {
  let cur = start;
  for (const [i, index] of indices.entries()) {
    let next: HDKey;
    try {
      next = cur.deriveChild(index);
    } catch (e) {
      const publicOnly = cur.privateKey === null;
      if (cur !== start || wipeStart) cur.wipePrivateData();
      throw index >= HARDENED_OFFSET && publicOnly
        ? invalid(`path step ${i + 1} is hardened and cannot be derived from a public key`)
        : new KeymeshError('INVALID_KEY', `BIP32 derivation failed at path step ${i + 1}`, { cause: e });
    }
    if (cur !== start || wipeStart) cur.wipePrivateData();
    cur = next;
  }
  return cur;
}

/** The master key's fingerprint (what PSBT bip32Derivation records name as the root). */
export function masterFingerprint(seed: Uint8Array): number {
  const root = masterKey(seed);
  try {
    return root.fingerprint;
  } finally {
    root.wipePrivateData();
  }
}

/**
 * Derive the node at `path` from a BIP32 seed, private key included. The caller must wipe
 * `privateKey` (see wipeNode) once it has signed.
 */
export function deriveSecp256k1(seed: Uint8Array, path: string | readonly number[]): Bip32Node {
  const indices = toIndices(path);
  const leaf = deriveFrom(masterKey(seed), indices, true);
  try {
    return snapshot(leaf, true);
  } finally {
    leaf.wipePrivateData();
  }
}

/** Only the 33-byte compressed public key at `path` (intermediates wiped). */
export function deriveSecp256k1PublicKey(seed: Uint8Array, path: string | readonly number[]): Uint8Array {
  const node = deriveSecp256k1(seed, path);
  wipeNode(node);
  return node.publicKey;
}

/** Overwrite the private key and chain code of a node. */
export function wipeNode(node: Bip32Node): void {
  node.privateKey?.fill(0);
  node.chainCode.fill(0);
  delete node.privateKey;
}

/** Base58Check extended private key (xprv / tprv). A secret: for tests and export tooling only. */
export function encodeXprv(node: Bip32Node, network: Bip32Network = 'bitcoin'): string {
  if (!node.privateKey) throw invalid('this node has no private key');
  const k = toHDKey(node, true, network);
  try {
    return k.privateExtendedKey;
  } finally {
    k.wipePrivateData();
  }
}

/**
 * Parse an extended key (xpub/xprv, or tpub/tprv with network 'testnet'). Everything BIP32 test
 * vector 5 lists is refused: version/key-type mismatch, bad key prefix, invalid point or scalar,
 * zero depth with a parent fingerprint or index, unknown version, bad checksum.
 */
export function parseExtendedKey(
  value: unknown,
  network: Bip32Network = 'bitcoin',
  field = 'extendedKey',
): Bip32Node {
  if (
    typeof value !== 'string' ||
    value.length < 100 ||
    value.length > 120 ||
    !/^[1-9A-HJ-NP-Za-km-z]+$/.test(value)
  )
    throw invalid(`${field} must be a Base58Check BIP32 extended key`);
  let k: HDKey;
  try {
    k = HDKey.fromExtendedKey(value, BIP32_VERSIONS[network]);
  } catch {
    throw invalid(`${field} is not a valid BIP32 extended key for ${network}`);
  }
  try {
    return snapshot(k, true);
  } finally {
    k.wipePrivateData();
  }
}

/**
 * Derive non-hardened children of a public node (an account xpub), no secret needed. A hardened
 * step → INVALID_REQUEST.
 */
export function derivePublicChild(node: Bip32Node, path: string | readonly number[]): Bip32Node {
  const indices = toIndices(path);
  if (node.depth + indices.length > 255) throw invalid(`path would exceed BIP32's depth of 255`);
  if (indices.length > MAX_PATH_DEPTH) throw invalid(`path is deeper than ${MAX_PATH_DEPTH} levels`);
  const start = toHDKey(node, false, 'bitcoin');
  return snapshot(deriveFrom(start, indices, false), false);
}

/** 4-byte fingerprint as 8 lowercase hex digits (PSBT and descriptor notation). */
export function fingerprintHex(fp: number): string {
  return (fp >>> 0).toString(16).padStart(8, '0');
}
