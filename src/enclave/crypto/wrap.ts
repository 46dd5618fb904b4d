// Replica wrapping: a private key's material encrypted to one node's enclave transport key, so a
// replica stored in etcd can be opened only by the enclave of the node it was made for, and only
// as the key, version and algorithm it was made as. Runs inside the enclave (the node process
// never sees the plaintext); this module owns the transport key format, the wrapped-blob format
// and the derivation. DESIGN.md, "Key material".
//
// The shape is HPKE's base mode with DHKEM(X25519, HKDF-SHA256) and AES-256-GCM (RFC 9180 §4.1,
// §5.1), single-shot, written out here rather than through an HPKE library so that every byte is
// pinned in this file and each primitive is one we already test against Wycheproof:
//
//   blob     = type (1) ‖ enc (32) ‖ ciphertext (len plaintext) ‖ tag (16)
//   type     = 0x01: X25519 + HKDF-SHA256 + AES-256-GCM
//              0x02: reserved for the X25519 + ML-KEM-768 hybrid (enc = 32 ‖ 1088 bytes, ikm =
//              both shared secrets); refused until implemented
//   enc      = ephemeral X25519 public key (RFC 7748 §6.1), a fresh ephemeral per wrap
//   dh       = X25519(ephemeral secret, recipient public); a low-order recipient key is refused
//   prk      = HKDF-Extract(salt = lp("keymesh/wrap/v1") ‖ type, ikm = dh)         (RFC 5869 §2.2)
//   okm      = HKDF-Expand(prk, info = lp("keymesh/wrap/v1 key") ‖ type ‖ lp(enc) ‖ lp(pkR), 44)
//   key      = okm[0..32], nonce = okm[32..44]
//   AD       = lp("keymesh/wrap/v1") ‖ type ‖ lp(keyId) ‖ lp(u32be version) ‖ lp(algorithm)
//              ‖ lp(nodeId)                                        where lp(x) = u32be(len x) ‖ x
//
// Why these choices:
// - The info binds both public keys (HPKE's kem_context = enc ‖ pkR), so a blob re-encrypted
//   under another recipient key, or with its ephemeral key swapped, derives another AEAD key.
// - The nonce comes from the KDF, not the RNG: every wrap has a fresh ephemeral key, so each
//   (key, nonce) pair is used exactly once (as in HPKE's single-shot mode).
// - The AD binds key id, version, algorithm and the recipient node id: a replica copied to another
//   key record, key version or node fails to open, as DESIGN.md requires.
// - The type byte is both in the KDF and in the AD, so a blob cannot be replayed as another type.
// Every failure to unwrap is ENCLAVE_FAILURE with no detail, as for sealing: which check failed is
// of use only to an attacker. Secrets (ephemeral key, DH output, PRK/OKM, AEAD key) are zeroed
// after use.
import { getRandomValues } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KeymeshError } from '../../errors.js';
import { isNodeId } from '../../util/ids.js';
import type { Algorithm } from '../enclave.js';
import { checkBytes, concatBytes, isAllZero, lengthPrefixed, u32be } from './bytes.js';
import { aesGcmDecrypt, aesGcmEncrypt, checkKeyBinding, NONCE_BYTES, TAG_BYTES } from './seal.js';

export const WRAP_TYPE_X25519 = 0x01;
/** Reserved: X25519 + ML-KEM-768 hybrid. Blobs of this type are refused until it is implemented. */
export const WRAP_TYPE_X25519_MLKEM768 = 0x02;
export const X25519_KEY_BYTES = 32;
export const WRAP_KEY_BYTES = 32;
/** Largest material wrapped: a kind byte plus a 64-byte BIP39 seed fits with room to spare. */
export const MAX_WRAP_PLAINTEXT_BYTES = 1024;
export const WRAP_OVERHEAD_BYTES = 1 + X25519_KEY_BYTES + TAG_BYTES;
export const MAX_WRAPPED_BYTES = WRAP_OVERHEAD_BYTES + MAX_WRAP_PLAINTEXT_BYTES;

const DOMAIN = new TextEncoder().encode('keymesh/wrap/v1');
const DOMAIN_KEY = new TextEncoder().encode('keymesh/wrap/v1 key');

/** What a replica is bound to: the key record it belongs to and the node it was wrapped for. */
export interface WrapBinding {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  /** The recipient node's id. */
  nodeId: string;
}

export interface TransportKeyPair {
  /** 32-byte X25519 secret; stays in the enclave. The caller wipes it when done. */
  privateKey: Uint8Array;
  /** 32-byte X25519 public key (RFC 7748 u-coordinate), published with the attestation. */
  publicKey: Uint8Array;
}

/** A fresh X25519 transport key pair from the system CSPRNG. */
export function generateTransportKeyPair(): TransportKeyPair {
  const privateKey = getRandomValues(new Uint8Array(X25519_KEY_BYTES));
  return { privateKey, publicKey: transportPublicKey(privateKey) };
}

/** The public half of a transport secret key. */
export function transportPublicKey(privateKey: Uint8Array): Uint8Array {
  checkBytes('transport private key', privateKey, X25519_KEY_BYTES);
  return x25519.getPublicKey(privateKey);
}

/**
 * X25519 (RFC 7748 §5) with the §6.1 check: a public key of low order (whose result would be the
 * all-zero value, independent of our secret) is refused with INVALID_REQUEST. The one DH code path
 * wrapping uses, and the one the Wycheproof x25519 vectors run through.
 */
export function x25519SharedSecret(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  checkBytes('X25519 private key', privateKey, X25519_KEY_BYTES);
  checkBytes('X25519 public key', publicKey, X25519_KEY_BYTES);
  let shared: Uint8Array;
  try {
    // noble refuses the known low-order u values before the ladder, and an all-zero result after.
    shared = x25519.getSharedSecret(privateKey, publicKey);
  } catch {
    throw new KeymeshError('INVALID_REQUEST', 'the X25519 public key is of low order');
  }
  if (shared.length !== X25519_KEY_BYTES || isAllZero(shared)) {
    shared.fill(0);
    throw new KeymeshError('INVALID_REQUEST', 'the X25519 public key is of low order');
  }
  return shared;
}

/**
 * HKDF-SHA256 (RFC 5869): Extract then Expand to `length` bytes, 0..8160 (255 · HashLen, §2.3),
 * else INVALID_REQUEST. An empty salt is the same as the RFC's default of HashLen zero bytes
 * (HMAC pads its key with zeros). The one KDF code path wrapping uses, and the one the Wycheproof
 * HKDF vectors run through.
 */
export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  checkBytes('HKDF ikm', ikm);
  checkBytes('HKDF salt', salt);
  checkBytes('HKDF info', info);
  if (!Number.isInteger(length) || length < 0 || length > 255 * 32)
    throw new KeymeshError('INVALID_REQUEST', 'HKDF-SHA256 output length must be 0 to 8160 bytes');
  return hkdf(sha256, ikm, salt, info, length);
}

/** The fixed associated-data encoding (exported for tests). */
export function wrapAssociatedData(type: number, b: WrapBinding): Uint8Array {
  const keyId = checkKeyBinding(b, 'wrap binding');
  // What a node id can be (util/ids.ts), checked before it goes into AD.
  if (!isNodeId(b.nodeId))
    throw new KeymeshError('INVALID_REQUEST', 'nodeId must be 1 to 63 characters of A-Z a-z 0-9 ._-');
  return concatBytes(
    lengthPrefixed(DOMAIN),
    Uint8Array.of(type),
    lengthPrefixed(keyId),
    lengthPrefixed(u32be(b.version)),
    lengthPrefixed(new TextEncoder().encode(b.algorithm)),
    lengthPrefixed(new TextEncoder().encode(b.nodeId)),
  );
}

/** AEAD key ‖ nonce from the DH output, bound to the type and both public keys. Caller wipes. */
function deriveKeyAndNonce(type: number, dh: Uint8Array, enc: Uint8Array, pkR: Uint8Array): Uint8Array {
  const salt = concatBytes(lengthPrefixed(DOMAIN), Uint8Array.of(type));
  const info = concatBytes(
    lengthPrefixed(DOMAIN_KEY),
    Uint8Array.of(type),
    lengthPrefixed(enc),
    lengthPrefixed(pkR),
  );
  return hkdfSha256(dh, salt, info, WRAP_KEY_BYTES + NONCE_BYTES);
}

export interface WrapOptions {
  /** Tests only (known-answer vectors): the ephemeral secret instead of a random one. Never reuse
   * one in production: a repeated ephemeral to the same recipient repeats the AEAD key and nonce. */
  ephemeralPrivateKey?: Uint8Array;
}

/**
 * Wrap `plaintext` (the enclave passes the same kind ‖ body it seals) to the node whose transport
 * public key is `recipientPublicKey`. The caller keeps and wipes its plaintext.
 */
export function wrapToNode(
  plaintext: Uint8Array,
  recipientPublicKey: Uint8Array,
  binding: WrapBinding,
  opts: WrapOptions = {},
): Uint8Array {
  checkBytes('plaintext', plaintext);
  if (plaintext.length < 1 || plaintext.length > MAX_WRAP_PLAINTEXT_BYTES)
    throw new KeymeshError(
      'INVALID_REQUEST',
      `material to wrap must be 1 to ${MAX_WRAP_PLAINTEXT_BYTES} bytes`,
    );
  checkBytes('recipient transport public key', recipientPublicKey, X25519_KEY_BYTES);
  const aad = wrapAssociatedData(WRAP_TYPE_X25519, binding);
  const eph =
    opts.ephemeralPrivateKey !== undefined
      ? Uint8Array.from(checkBytes('ephemeral private key', opts.ephemeralPrivateKey, X25519_KEY_BYTES))
      : getRandomValues(new Uint8Array(X25519_KEY_BYTES));
  let dh: Uint8Array | undefined;
  let okm: Uint8Array | undefined;
  try {
    const enc = x25519.getPublicKey(eph);
    dh = x25519SharedSecret(eph, recipientPublicKey);
    okm = deriveKeyAndNonce(WRAP_TYPE_X25519, dh, enc, recipientPublicKey);
    const { ciphertext, tag } = aesGcmEncrypt(
      okm.subarray(0, WRAP_KEY_BYTES),
      okm.subarray(WRAP_KEY_BYTES),
      plaintext,
      aad,
    );
    return concatBytes(Uint8Array.of(WRAP_TYPE_X25519), enc, ciphertext, tag);
  } finally {
    eph.fill(0);
    dh?.fill(0);
    okm?.fill(0);
  }
}

const unwrapFailure = () => new KeymeshError('ENCLAVE_FAILURE', 'the replica could not be unwrapped');

/**
 * Open a replica wrapped to this node for exactly this binding. Returns the plaintext, which the
 * caller wipes when done. Any mismatch (another key id, version, algorithm or node; another
 * transport key; any changed byte; an unknown type) is ENCLAVE_FAILURE without detail.
 */
export function unwrapAtNode(
  blob: Uint8Array,
  transportPrivateKey: Uint8Array,
  binding: WrapBinding,
): Uint8Array {
  checkBytes('transport private key', transportPrivateKey, X25519_KEY_BYTES);
  // Bad bindings are the caller's programming error, reported as such before anything is opened.
  const aad = wrapAssociatedData(WRAP_TYPE_X25519, binding);
  if (
    !(blob instanceof Uint8Array) ||
    blob.length < WRAP_OVERHEAD_BYTES + 1 ||
    blob.length > MAX_WRAPPED_BYTES ||
    blob[0] !== WRAP_TYPE_X25519
  )
    throw unwrapFailure();
  const enc = blob.subarray(1, 1 + X25519_KEY_BYTES);
  const ciphertext = blob.subarray(1 + X25519_KEY_BYTES, blob.length - TAG_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  let dh: Uint8Array | undefined;
  let okm: Uint8Array | undefined;
  try {
    const pkR = x25519.getPublicKey(transportPrivateKey);
    try {
      dh = x25519SharedSecret(transportPrivateKey, enc);
    } catch {
      throw unwrapFailure(); // a low-order enc is a forged blob, not a caller error
    }
    okm = deriveKeyAndNonce(WRAP_TYPE_X25519, dh, enc, pkR);
    const plaintext = aesGcmDecrypt(
      okm.subarray(0, WRAP_KEY_BYTES),
      okm.subarray(WRAP_KEY_BYTES),
      ciphertext,
      tag,
      aad,
    );
    if (!plaintext) throw unwrapFailure();
    return plaintext;
  } finally {
    dh?.fill(0);
    okm?.fill(0);
  }
}
