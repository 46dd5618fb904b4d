// Opening a key in the worker: checking the sealed reference, unsealing it (or unwrapping a
// replica with the transport secret), and serving it from the cache when the cached entry is bound
// to exactly this blob.
import { KeymeshError } from '../../../errors.js';
import type { SealedKeyRef } from '../../enclave.js';
import { equalBytes, ownedCopy } from '../../crypto/bytes.js';
import { HD_SEED_MAX, HD_SEED_MIN, isHdAlgorithm } from '../../crypto/hd.js';
import { SealKind, unseal } from '../../crypto/seal.js';
import { importSigner } from '../../crypto/signers.js';
import { unwrapAtNode } from '../../crypto/wrap.js';
import { cacheKey, key, state, stats, wipeCached, type Cached } from './state.js';
import { cluster, transportSecret } from './transport.js';

export function checkRef(ref: SealedKeyRef): void {
  if (
    ref === null ||
    typeof ref !== 'object' ||
    typeof ref.keyId !== 'string' ||
    !Number.isSafeInteger(ref.version) ||
    typeof ref.algorithm !== 'string' ||
    !(ref.sealed instanceof Uint8Array)
  )
    throw new KeymeshError('INVALID_REQUEST', 'a sealed key reference is required');
}

/** A cache hit for `k` that belongs to exactly this sealed blob. */
export function cachedFor(k: string, ref: SealedKeyRef): Cached | undefined {
  const hit = state.cache?.get(k);
  return hit &&
    hit.algorithm === ref.algorithm &&
    !!hit.replica === !!ref.replica &&
    equalBytes(hit.sealed, ref.sealed)
    ? hit
    : undefined;
}

/**
 * The unsealed material of a key: a signer (single key) or a seed (HD root). When `cached` is
 * false the caller wipes it (release) after use.
 */
export function openKey(ref: SealedKeyRef): { entry: Cached; cached: boolean } {
  checkRef(ref);
  const k = cacheKey(ref.keyId, ref.version);
  const hit = cachedFor(k, ref);
  if (hit) {
    stats.hits++;
    return { entry: hit, cached: true };
  }
  stats.misses++;
  const { kind, body } = openMaterial(ref);
  let entry: Cached;
  try {
    if (kind === SealKind.rawKey && body.length === 32) {
      entry = { algorithm: ref.algorithm, sealed: ref.sealed, signer: importSigner(ref.algorithm, body) };
    } else if (
      kind === SealKind.bip39Seed &&
      isHdAlgorithm(ref.algorithm) &&
      body.length >= HD_SEED_MIN &&
      body.length <= HD_SEED_MAX
    ) {
      entry = { algorithm: ref.algorithm, sealed: ref.sealed, seed: ownedCopy(body) };
    } else {
      throw new Error('unknown sealed kind');
    }
  } catch {
    // The blob authenticated, so this is not the caller's input: something is badly wrong.
    throw new KeymeshError('ENCLAVE_FAILURE', 'the sealed key is not usable');
  } finally {
    body.fill(0);
  }
  if (ref.replica) entry.replica = true;
  if (!state.cache) return { entry, cached: false };
  entry.sealed = ownedCopy(ref.sealed);
  state.cache.set(k, entry);
  return { entry, cached: true };
}

export function release(entry: Cached, cached: boolean): void {
  if (!cached) wipeCached(entry);
}

export /**
 * A key's material as sealed plaintext (kind and body): unsealed with the sealing key, or, for a
 * replica, unwrapped with the transport secret bound to this node's id. The caller wipes `body`.
 */
function openMaterial(ref: SealedKeyRef): { kind: number; body: Uint8Array } {
  if (!ref.replica) return unseal(key(), ref, ref.sealed);
  const c = cluster();
  const plain = unwrapAtNode(ref.sealed, transportSecret(), {
    keyId: ref.keyId,
    version: ref.version,
    algorithm: ref.algorithm,
    nodeId: c.nodeId,
  });
  try {
    if (plain.length < 2) throw new KeymeshError('ENCLAVE_FAILURE', 'the replica is not usable');
    return { kind: plain[0]!, body: plain.slice(1) };
  } finally {
    plain.fill(0);
  }
}
