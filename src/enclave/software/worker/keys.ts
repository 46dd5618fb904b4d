// Single keys in the worker: generating or importing one (validated, sealed, checked to sign and
// to unseal to the same bytes, then cached), and signing with a key or an HD root's child.
import { invalid, KeymeshError } from '../../../errors.js';
import type { NewKey, SealedKeyRef, SignRequest, SignResult, WrapRequest } from '../../enclave.js';
import { equalBytes, ownedCopy } from '../../crypto/bytes.js';
import { checkHdAlgorithm, generateBip39Seed } from '../../crypto/hd.js';
import { SealKind, seal, unsealRawKey, type SealBinding } from '../../crypto/seal.js';
import { generateSecret, importSigner, validateSecret } from '../../crypto/signers.js';
import { childSigner, hdRootNeedsPath, sealHdRoot } from './hd.js';
import { openKey, release } from './open.js';
import { withReplicas } from './replicas.js';
import { cacheKey, key, state, stats } from './state.js';

/** Seal a validated secret and prove the blob opens to the same bytes before anyone relies on it. */
function sealNew(binding: SealBinding, secret: Uint8Array): NewKey {
  const signer = importSigner(binding.algorithm, secret);
  try {
    // Pairwise consistency test: the new key signs and its signature verifies (the fault check).
    signer.sign(
      binding.algorithm === 'ed25519'
        ? { message: new Uint8Array(32) }
        : { digest: new Uint8Array(32).fill(1) },
    );
    const sealed = seal(key(), binding, SealKind.rawKey, secret);
    const back = unsealRawKey(key(), binding, sealed);
    const same = equalBytes(back, secret);
    back.fill(0);
    if (!same) throw new KeymeshError('ENCLAVE_FAILURE', 'sealing check failed');
    const publicKey = signer.publicKey;
    // A new key is usually used soon after it is made: keep it ready.
    if (state.cache)
      state.cache.set(cacheKey(binding.keyId, binding.version), {
        algorithm: binding.algorithm,
        sealed: ownedCopy(sealed),
        signer,
      });
    else signer.zero();
    return { publicKey, sealed };
  } catch (e) {
    signer.zero();
    throw e;
  }
}

export function generate(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  hd?: boolean;
  replicas?: WrapRequest;
}): NewKey {
  const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
  if (args.hd !== undefined && typeof args.hd !== 'boolean') throw invalid('hd must be true or false');
  if (args.hd) {
    checkHdAlgorithm(args.algorithm);
    const seed = generateBip39Seed();
    try {
      return withReplicas(sealHdRoot(binding, seed), binding, SealKind.bip39Seed, seed, args.replicas);
    } finally {
      seed.fill(0);
    }
  }
  const secret = generateSecret(args.algorithm);
  try {
    return withReplicas(sealNew(binding, secret), binding, SealKind.rawKey, secret, args.replicas);
  } finally {
    secret.fill(0);
  }
}

export function importKey(args: {
  keyId: string;
  version: number;
  algorithm: SealBinding['algorithm'];
  privateKey: Uint8Array;
  replicas?: WrapRequest;
}): NewKey {
  const secret = args.privateKey;
  try {
    validateSecret(args.algorithm, secret);
    const binding = { keyId: args.keyId, version: args.version, algorithm: args.algorithm };
    return withReplicas(sealNew(binding, secret), binding, SealKind.rawKey, secret, args.replicas);
  } finally {
    if (secret instanceof Uint8Array) secret.fill(0);
  }
}

export function sign(args: { key: SealedKeyRef; req: SignRequest }): SignResult {
  const req = args.req;
  if (req === null || typeof req !== 'object') throw invalid('request must be an object');
  if (req.path === undefined) {
    const { entry, cached } = openKey(args.key);
    try {
      if (!entry.signer) throw hdRootNeedsPath();
      const res = entry.signer.sign(req);
      stats.signed++;
      return res;
    } finally {
      release(entry, cached);
    }
  }
  const { signer, cached } = childSigner(args.key, req.path);
  try {
    // The child is a single key: it signs the request without the path (and with its own
    // taproot tweak, BIP86 over the child's key).
    const { path: _path, ...rest } = req;
    const res = signer.sign(rest);
    stats.signed++;
    return res;
  } finally {
    if (!cached) signer.zero();
  }
}
