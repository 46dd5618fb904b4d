// Sealing: AES-256-GCM (NIST SP 800-38D) of key material under the node's 32-byte sealing key.
//
//   blob      = 0x01 ‖ nonce (12, random) ‖ ciphertext ‖ tag (16)
//   plaintext = kind (1) ‖ body          kind 0x01: a raw private key or Ed25519 seed (32 bytes);
//                                        kind 0x02: an HD root's seed (BIP39: 64 bytes; BIP32
//                                        allows 16..64), the root of BIP32 / SLIP-10 derivation;
//                                        kind 0x03 is reserved (BIP39 entropy)
//   AD        = lp("keymesh/seal/v1") ‖ lp(UTF-8 keyId) ‖ lp(u32be version) ‖ lp(algorithm)
//               where lp(x) = u32be(len x) ‖ x
//
// The associated data binds a blob to its key record, so a blob copied to another key id, version
// or algorithm fails to open. Random 96-bit nonces are safe here: a node seals far fewer than the
// 2^32 messages SP 800-38D §8.3 allows under one key. Any failure to open is ENCLAVE_FAILURE with
// no detail (which check failed is of use only to an attacker).
import { createCipheriv, createDecipheriv, getRandomValues } from 'node:crypto';
import { KeymeshError } from '../../errors.js';
import { Algorithms, type Algorithm } from '../enclave.js';
import { asBuffer, checkBytes, concatBytes, lengthPrefixed, u32be } from './bytes.js';

export const SEAL_FORMAT_V1 = 0x01;
export const SEALING_KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** Sealed plaintext kinds (see above); 0x03 is reserved and never written. */
export const SealKind = {
  rawKey: 0x01,
  bip39Seed: 0x02,
  bip39Entropy: 0x03,
} as const;
export const MAX_SEALED_BYTES = 4096;
const AD_DOMAIN = new TextEncoder().encode('keymesh/seal/v1');
const MAX_KEY_ID_BYTES = 256;
const LONE_SURROGATE = /\p{Surrogate}/u;

export interface SealBinding {
  keyId: string;
  version: number;
  algorithm: Algorithm;
}

/** The fixed associated-data encoding; exported for tests and for other sealers to reuse. */
/**
 * Checks the key id, version and algorithm every binding (sealing here, wrapping in wrap.ts)
 * carries; returns the key id's UTF-8 bytes. `what` names the binding when it is missing.
 */
export function checkKeyBinding(b: SealBinding, what: string): Uint8Array {
  if (b === null || typeof b !== 'object') throw new KeymeshError('INVALID_REQUEST', `${what} is missing`);
  if (typeof b.keyId !== 'string' || b.keyId.length === 0 || LONE_SURROGATE.test(b.keyId))
    throw new KeymeshError('INVALID_REQUEST', 'keyId must be a non-empty, well-formed string');
  const keyId = new TextEncoder().encode(b.keyId);
  if (keyId.length > MAX_KEY_ID_BYTES)
    throw new KeymeshError('INVALID_REQUEST', `keyId must be at most ${MAX_KEY_ID_BYTES} bytes`);
  if (!Number.isSafeInteger(b.version) || b.version < 0 || b.version > 0xffffffff)
    throw new KeymeshError('INVALID_REQUEST', 'version must be an integer from 0 to 2^32-1');
  if (typeof b.algorithm !== 'string' || !(Algorithms as readonly string[]).includes(b.algorithm))
    throw new KeymeshError('INVALID_REQUEST', `algorithm must be one of ${Algorithms.join(', ')}`);
  return keyId;
}

export function sealAssociatedData(b: SealBinding): Uint8Array {
  const keyId = checkKeyBinding(b, 'key binding');
  return concatBytes(
    lengthPrefixed(AD_DOMAIN),
    lengthPrefixed(keyId),
    lengthPrefixed(u32be(b.version)),
    lengthPrefixed(new TextEncoder().encode(b.algorithm)),
  );
}

function gcmName(key: Uint8Array): 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' {
  if (key.length === 16) return 'aes-128-gcm';
  if (key.length === 24) return 'aes-192-gcm';
  if (key.length === 32) return 'aes-256-gcm';
  throw new KeymeshError('INVALID_REQUEST', 'AES key must be 16, 24 or 32 bytes');
}

/**
 * AES-GCM with a 96-bit nonce and a 128-bit tag: the one AEAD code path sealing uses (and that
 * the Wycheproof AES-GCM vectors run through). Other key sizes exist only for those vectors.
 */
export function aesGcmEncrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  aad: Uint8Array,
): { ciphertext: Uint8Array; tag: Uint8Array } {
  checkBytes('nonce', nonce, NONCE_BYTES);
  const c = createCipheriv(gcmName(key), asBuffer(key), asBuffer(nonce), { authTagLength: TAG_BYTES });
  c.setAAD(asBuffer(aad));
  const head = c.update(asBuffer(plaintext));
  const tail = c.final();
  return { ciphertext: concatBytes(head, tail), tag: new Uint8Array(c.getAuthTag()) };
}

/** Plaintext, or undefined when the tag does not verify. Nothing is released before the tag checks. */
export function aesGcmDecrypt(
  key: Uint8Array,
  nonce: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
  aad: Uint8Array,
): Uint8Array | undefined {
  checkBytes('nonce', nonce, NONCE_BYTES);
  if (tag.length !== TAG_BYTES) return undefined;
  const d = createDecipheriv(gcmName(key), asBuffer(key), asBuffer(nonce), { authTagLength: TAG_BYTES });
  d.setAAD(asBuffer(aad));
  d.setAuthTag(asBuffer(tag));
  const head = d.update(asBuffer(ciphertext));
  try {
    const tail = d.final();
    const out = concatBytes(head, tail);
    tail.fill(0);
    return out;
  } catch {
    return undefined;
  } finally {
    head.fill(0);
  }
}

const sealFailure = () => new KeymeshError('ENCLAVE_FAILURE', 'the sealed key could not be opened');

export function seal(
  sealingKey: Uint8Array,
  binding: SealBinding,
  kind: number,
  body: Uint8Array,
): Uint8Array {
  checkBytes('sealingKey', sealingKey, SEALING_KEY_BYTES);
  if (!Number.isInteger(kind) || kind < 1 || kind > 0xff)
    throw new KeymeshError('INVALID_REQUEST', 'kind must be 1 to 255');
  const aad = sealAssociatedData(binding);
  const plaintext = new Uint8Array(1 + body.length);
  plaintext[0] = kind;
  plaintext.set(body, 1);
  try {
    const nonce = getRandomValues(new Uint8Array(NONCE_BYTES));
    const { ciphertext, tag } = aesGcmEncrypt(sealingKey, nonce, plaintext, aad);
    const blob = concatBytes(Uint8Array.of(SEAL_FORMAT_V1), nonce, ciphertext, tag);
    if (blob.length > MAX_SEALED_BYTES)
      throw new KeymeshError('INVALID_REQUEST', 'material too large to seal');
    return blob;
  } finally {
    plaintext.fill(0);
  }
}

/** Open a blob sealed for exactly this binding. The caller wipes `body` when done. */
export function unseal(
  sealingKey: Uint8Array,
  binding: SealBinding,
  blob: Uint8Array,
): { kind: number; body: Uint8Array } {
  checkBytes('sealingKey', sealingKey, SEALING_KEY_BYTES);
  const aad = sealAssociatedData(binding);
  if (
    !(blob instanceof Uint8Array) ||
    blob.length < 1 + NONCE_BYTES + 1 + TAG_BYTES ||
    blob.length > MAX_SEALED_BYTES ||
    blob[0] !== SEAL_FORMAT_V1
  )
    throw sealFailure();
  const nonce = blob.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const plaintext = aesGcmDecrypt(sealingKey, nonce, ciphertext, tag, aad);
  if (!plaintext) throw sealFailure();
  const kind = plaintext[0]!;
  const body = plaintext.slice(1);
  plaintext.fill(0);
  return { kind, body };
}

/** Unseal a raw private key (kind 0x01, 32 bytes). */
export function unsealRawKey(sealingKey: Uint8Array, binding: SealBinding, blob: Uint8Array): Uint8Array {
  const { kind, body } = unseal(sealingKey, binding, blob);
  if (kind !== SealKind.rawKey || body.length !== 32) {
    body.fill(0);
    throw new KeymeshError('UNSUPPORTED', 'this sealed key is not a single private key');
  }
  return body;
}
