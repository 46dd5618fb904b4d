// NIST P-256 (FIPS 186-5) ECDSA inside the enclave: RFC 6979 deterministic nonces with SHA-256,
// low-s, 64-byte r‖s. Signing is @noble/curves: Node's OpenSSL ECDSA draws random nonces, and the
// API promises deterministic signatures.
//
// Verification has two engines, measured single-threaded on this host (3000 ops each):
//   noble verify over a digest               364/s   (2.75 ms)
//   OpenSSL verify of SHA-256(message)    10,600/s   (95 µs, public KeyObject cached; +200 µs to build one)
// Node exposes OpenSSL's ECDSA only as hash-then-verify, so a `message` (which the API hashes with
// SHA-256) is verified by OpenSSL and a bare `digest` by noble. Both run all of Wycheproof's P-256
// vectors (test/enclave/wycheproof.test.ts). The fault check after signing thus also uses an
// implementation independent of the signer whenever a message was signed.
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { Lru } from '../lru.js';
import { asBuffer, compareBytes, concatBytes, halfOf, hexToBytes, isAllZero } from './bytes.js';

export const P256_N = hexToBytes('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
export const P256_HALF_N = halfOf(P256_N);

// SubjectPublicKeyInfo for id-ecPublicKey / prime256v1 with a BIT STRING of 33 or 65 bytes.
const SPKI_COMPRESSED = hexToBytes('3039301306072a8648ce3d020106082a8648ce3d030107032200');
const SPKI_UNCOMPRESSED = hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200');

export function isValidP256Scalar(d: Uint8Array): boolean {
  return d.length === 32 && !isAllZero(d) && compareBytes(d, P256_N) < 0;
}

export function p256PublicKey(secret: Uint8Array): Uint8Array {
  return p256.getPublicKey(secret, true);
}

/** The raw primitive: RFC 6979 + low-s over a 32-byte digest, 64-byte r‖s. */
export function p256SignDigest(digest: Uint8Array, secret: Uint8Array): Uint8Array {
  return p256.sign(digest, secret, { prehash: false, lowS: true });
}

/** noble over a digest; `lowS` refuses high-s. r, s range checks happen inside too. */
export function p256VerifyDigest(
  signature: Uint8Array,
  digest: Uint8Array,
  publicKey: Uint8Array,
  lowS: boolean,
): boolean {
  try {
    return p256.verify(signature, digest, publicKey, { prehash: false, lowS });
  } catch {
    return false;
  }
}

// Public keys only: building a KeyObject costs more than the verification, so keep recent ones.
const keyObjects = new Lru<string, KeyObject | null>({ max: 512 });

function publicKeyObject(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey).toString('hex');
  const hit = keyObjects.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject | null = null;
  try {
    const prefix = publicKey.length === 33 ? SPKI_COMPRESSED : SPKI_UNCOMPRESSED;
    key = createPublicKey({ key: asBuffer(concatBytes(prefix, publicKey)), format: 'der', type: 'spki' });
  } catch {
    key = null; // not a point on the curve
  }
  keyObjects.set(id, key);
  return key;
}

/** OpenSSL over SHA-256(message); r‖s in P1363 form; r, s must already be range-checked. */
export function p256VerifyMessage(
  signature: Uint8Array,
  message: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  const key = publicKeyObject(publicKey);
  if (!key) return false;
  try {
    return cryptoVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
