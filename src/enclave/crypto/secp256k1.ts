// secp256k1 inside the enclave: ECDSA (SEC 1, RFC 6979 nonces, low-s per BIP62/BIP146, recovery id
// as Ethereum's yParity), BIP340 Schnorr, and BIP340 under the BIP86 key-path tweak (BIP341
// taproot_tweak_seckey with an empty script tree).
//
// Implementations, measured single-threaded on this host (AMD EPYC, Node 20.20, 3000 ops each):
//
//                      ECDSA sign   ECDSA verify   BIP340 sign   BIP340 verify
//   libsecp256k1 (N)    21,100/s      16,100/s          —              —
//   tiny-secp256k1 (W)   6,700/s       2,700/s       4,300/s        2,540/s
//   @noble/curves        1,740/s         590/s         330/s          550/s
//   (N) native addon via `secp256k1/bindings`; (W) libsecp256k1 compiled to WebAssembly.
//
// So ECDSA runs on the native addon (its ecdsaSign is RFC 6979 + low-s and gives the recovery
// id; its verify refuses high-s, so a standard high-s signature is normalised first), and BIP340
// runs on tiny-secp256k1, as the native addon has no Schnorr and noble's is 13x slower (its sign
// also verifies internally). Both are libsecp256k1 underneath.
import { createHash, getRandomValues } from 'node:crypto';
import * as tiny from 'tiny-secp256k1';
import { KeymeshError } from '../../errors.js';
import { compareBytes, equalBytes, halfOf, hexToBytes, isAllZero, ownedCopy } from './bytes.js';
import { nativeSecp256k1 as native } from './native.js';

// tiny-secp256k1 builds its context on first use; doing it now keeps that cost out of a request.
tiny.__initializeContext();

export const SECP256K1_N = hexToBytes('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141');
/** floor(n / 2): an ECDSA s above this is "high". */
export const SECP256K1_HALF_N = halfOf(SECP256K1_N);

/** 0 < d < n, 32 bytes, without turning d into a (non-wipeable) bigint. */
export function isValidSecp256k1Scalar(d: Uint8Array): boolean {
  return d.length === 32 && !isAllZero(d) && compareBytes(d, SECP256K1_N) < 0;
}

export function secp256k1PublicKey(secret: Uint8Array): Uint8Array {
  return native.publicKeyCreate(secret, true);
}

// ---- ECDSA -------------------------------------------------------------------------------

/** The raw primitive: RFC 6979, low-s, 64-byte r‖s and recovery id. No checks beyond the addon's. */
export function ecdsaSignDigest(
  digest: Uint8Array,
  secret: Uint8Array,
): { signature: Uint8Array; recoveryId: number } {
  const { signature, recid } = native.ecdsaSign(digest, secret);
  return { signature, recoveryId: recid };
}

/**
 * The fault check for ECDSA. Recovering Q' = r⁻¹(sR − eG) from (r, s, recid) and finding Q' = Q is
 * the verification equation sR = eG + rQ itself, so one operation verifies the signature and also
 * proves the recovery id an Ethereum transaction will carry.
 */
export function ecdsaCheck(
  signature: Uint8Array,
  recoveryId: number,
  digest: Uint8Array,
  publicKey: Uint8Array,
): boolean {
  if (compareBytes(signature.subarray(32), SECP256K1_HALF_N) > 0) return false;
  try {
    return equalBytes(native.ecdsaRecover(signature, recoveryId, digest, true), publicKey);
  } catch {
    return false;
  }
}

/** Plain verification over a 32-byte digest; r and s must already be range-checked by the caller. */
export function ecdsaVerifyDigest(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    // libsecp256k1 verifies low-s only; a high-s signature is the same signature as (r, n − s).
    const sig = native.signatureNormalize(ownedCopy(signature));
    return native.ecdsaVerify(sig, digest, publicKey);
  } catch {
    return false; // unparsable public key
  }
}

// ---- BIP340 / BIP86 ------------------------------------------------------------------------

function tagHash(tag: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(tag, 'utf8').digest());
}
const TAP_TWEAK = tagHash('TapTweak');

function taggedHash(tagDigest: Uint8Array, ...msgs: Uint8Array[]): Uint8Array {
  const h = createHash('sha256').update(tagDigest).update(tagDigest);
  for (const m of msgs) h.update(m);
  return new Uint8Array(h.digest());
}

/** The x-only key of BIP340 from a 33-byte compressed key (or a 32-byte x-only key as is). */
export function xOnly(publicKey: Uint8Array): Uint8Array {
  if (publicKey.length === 32) return publicKey;
  if (publicKey.length === 33 && (publicKey[0] === 0x02 || publicKey[0] === 0x03))
    return publicKey.subarray(1);
  throw new KeymeshError('INVALID_REQUEST', 'publicKey must be a 33-byte compressed or 32-byte x-only key');
}

/** BIP341 taproot_tweak_pubkey with an empty script tree (BIP86): t = H_TapTweak(P.x). */
export function taprootTweak(publicKey: Uint8Array): Uint8Array {
  return taggedHash(TAP_TWEAK, xOnly(publicKey));
}

/** BIP86 output key Q = lift_x(P) + tG, x-only; what a P2TR key-path signature verifies against. */
export function taprootOutputKey(publicKey: Uint8Array): Uint8Array {
  const res = tiny.xOnlyPointAddTweak(xOnly(publicKey), taprootTweak(publicKey));
  if (!res) throw new KeymeshError('INVALID_REQUEST', 'public key has no taproot output key');
  return res.xOnlyPubkey;
}

/**
 * BIP341 taproot_tweak_seckey: d' = (P has even y ? d : n − d) + t. Returns a new secret the
 * caller must wipe. `publicKey` is d's own 33-byte compressed key.
 */
export function taprootTweakSecret(secret: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const t = taprootTweak(publicKey);
  const negated = publicKey[0] === 0x03 ? tiny.privateNegate(secret) : undefined;
  try {
    const tweaked = tiny.privateAdd(negated ?? secret, t);
    if (!tweaked) throw new KeymeshError('ENCLAVE_FAILURE', 'taproot tweak produced an invalid key');
    return tweaked;
  } finally {
    negated?.fill(0);
  }
}

/** The raw primitive. `aux` is BIP340's auxiliary randomness (fresh per signature in production). */
export function schnorrSignDigest(digest: Uint8Array, secret: Uint8Array, aux: Uint8Array): Uint8Array {
  return tiny.signSchnorr(digest, secret, aux);
}

export function schnorrVerifyDigest(
  signature: Uint8Array,
  digest: Uint8Array,
  xOnlyKey: Uint8Array,
): boolean {
  try {
    return tiny.verifySchnorr(digest, xOnlyKey, signature);
  } catch {
    return false; // tiny throws on a public key or signature that is not well formed
  }
}

export function freshAux(): Uint8Array {
  return getRandomValues(new Uint8Array(32));
}
