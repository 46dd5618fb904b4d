// HD roots in the worker: sealing a BIP39 seed (generated or from an imported mnemonic) after the
// same checks as a single key, and the child at a path, as a signer (cached under its canonical
// path) or as a public key with its extended-key fields.
import { invalid, KeymeshError } from '../../../errors.js';
import { formatPath, parsePath } from '../../../hd/path.js';
import type { DerivedKey, NewKey, SealedKeyRef, WrapRequest } from '../../enclave.js';
import { equalBytes, ownedCopy } from '../../crypto/bytes.js';
import {
  checkHdAlgorithm,
  deriveHdNode,
  hdFingerprint,
  hdPublicKey,
  seedFromMnemonic,
  wipeHdNode,
  type HdAlgorithm,
  type HdNode,
} from '../../crypto/hd.js';
import { SealKind, seal, unseal, type SealBinding } from '../../crypto/seal.js';
import { importSigner, type Signer } from '../../crypto/signers.js';
import { cachedFor, checkRef, openKey, release } from './open.js';
import { withReplicas } from './replicas.js';
import { cacheKey, childKey, key, state, stats } from './state.js';

export /**
 * Seal an HD root's seed (kind 0x02) after the same checks as a single key: its master key signs
 * and verifies, and the blob opens to the same seed. The mnemonic is not kept: nothing needs it,
 * and what is not kept cannot leak.
 */
function sealHdRoot(binding: SealBinding, seed: Uint8Array): NewKey {
  const algorithm = binding.algorithm as HdAlgorithm;
  const master = deriveHdNode(algorithm, seed, []);
  let signer: Signer | undefined;
  try {
    signer = importSigner(algorithm, master.privateKey);
    signer.sign(
      algorithm === 'ed25519' ? { message: new Uint8Array(32) } : { digest: new Uint8Array(32).fill(1) },
    );
    const sealed = seal(key(), binding, SealKind.bip39Seed, seed);
    const back = unseal(key(), binding, sealed);
    const same = back.kind === SealKind.bip39Seed && equalBytes(back.body, seed);
    back.body.fill(0);
    if (!same) throw new KeymeshError('ENCLAVE_FAILURE', 'sealing check failed');
    const publicKey = signer.publicKey;
    if (state.cache)
      state.cache.set(cacheKey(binding.keyId, binding.version), {
        algorithm,
        sealed: ownedCopy(sealed),
        seed: ownedCopy(seed),
      });
    const hd: NonNullable<NewKey['hd']> = { fingerprint: hdFingerprint(algorithm, publicKey) };
    if (algorithm === 'secp256k1') hd.chainCode = ownedCopy(master.chainCode);
    return { publicKey, sealed, hd };
  } finally {
    signer?.zero();
    wipeHdNode(master);
  }
}

export function importMnemonic(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  mnemonic: Uint8Array;
  passphrase?: Uint8Array;
  replicas?: WrapRequest;
}): NewKey {
  try {
    checkHdAlgorithm(args.algorithm);
    const seed = seedFromMnemonic(args.mnemonic, args.passphrase);
    try {
      const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
      return withReplicas(sealHdRoot(binding, seed), binding, SealKind.bip39Seed, seed, args.replicas);
    } finally {
      seed.fill(0);
    }
  } finally {
    if (args.mnemonic instanceof Uint8Array) args.mnemonic.fill(0);
    if (args.passphrase instanceof Uint8Array) args.passphrase.fill(0);
  }
}

export const hdRootNeedsPath = () =>
  invalid('this key is an HD root: give the path of the key that signs (m for the master key itself)');
const notHd = (what: string) => invalid(`${what} needs an HD key; this key is a single private key`);

/** The signer of the HD child at `path` (parsed strictly), from the cache or derived now. */
export function childSigner(ref: SealedKeyRef, path: unknown): { signer: Signer; cached: boolean } {
  checkRef(ref);
  const indices = parsePath(path);
  const k = childKey(ref.keyId, ref.version, formatPath(indices));
  const hit = cachedFor(k, ref);
  if (hit?.signer) {
    stats.hits++;
    return { signer: hit.signer, cached: true };
  }
  const { entry, cached } = openKey(ref);
  let node: HdNode | undefined;
  try {
    if (!entry.seed) throw notHd('a derivation path');
    node = deriveHdNode(ref.algorithm as HdAlgorithm, entry.seed, indices);
    const signer = importSigner(ref.algorithm, node.privateKey);
    if (!state.cache) return { signer, cached: false };
    state.cache.set(k, {
      algorithm: ref.algorithm,
      sealed: ownedCopy(ref.sealed),
      ...(ref.replica ? { replica: true } : {}),
      signer,
    });
    return { signer, cached: true };
  } finally {
    if (node) wipeHdNode(node);
    release(entry, cached);
  }
}

export /** The public key (and, for secp256k1, the extended-key fields) at `path` of an HD root. */
function derive(args: { key: SealedKeyRef; path: string }): DerivedKey {
  checkRef(args.key);
  const indices = parsePath(args.path);
  const algorithm = args.key.algorithm;
  if (algorithm === 'ed25519') {
    // A child that has signed already knows its public key (OpenSSL's import is the cost here).
    const hit = cachedFor(childKey(args.key.keyId, args.key.version, formatPath(indices)), args.key);
    if (hit?.signer) return { publicKey: hit.signer.publicKey };
  }
  const { entry, cached } = openKey(args.key);
  let node: HdNode | undefined;
  try {
    if (!entry.seed) throw notHd('derive');
    const alg = algorithm as HdAlgorithm;
    node = deriveHdNode(alg, entry.seed, indices);
    const publicKey = hdPublicKey(alg, node.privateKey);
    if (alg === 'ed25519') return { publicKey };
    return {
      publicKey,
      chainCode: ownedCopy(node.chainCode),
      depth: node.depth,
      index: node.index,
      parentFingerprint: ownedCopy(node.parentFingerprint!),
    };
  } finally {
    if (node) wipeHdNode(node);
    release(entry, cached);
  }
}
