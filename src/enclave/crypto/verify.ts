// Public-key signature verification, the standalone half of the enclave's crypto: no secret is
// involved, so the pool runs it on any worker for throughput (enclave.ts `verify`).
//
// ECDSA (SEC 1 §4.1.4) accepts high-s by default, as the standard does (a low-s-only rule is
// Bitcoin's and Ethereum's malleability policy, not ECDSA's); `strictLowS` applies that policy.
// `der` takes an ASN.1 DER signature instead of 64-byte r‖s (for Wycheproof's DER files and
// callers holding Bitcoin-style signatures); DER is parsed strictly (der.ts). r and s outside
// [1, n − 1] are refused before any curve arithmetic. Ed25519 is RFC 8032 §5.1.7. BIP340
// verification (`scheme: 'schnorr'`, or `'schnorr-taproot'` against the BIP86 output key of the
// given internal key) takes a 32-byte digest.
//
// Malformed requests (no digest nor message, wrong public key length) are INVALID_REQUEST;
// anything wrong with the signature itself, or a public key not on the curve, is simply `false`.
import { createHash } from 'node:crypto';
import { KeymeshError } from '../../errors.js';
import { Algorithms, type Algorithm, type VerifyRequest } from '../enclave.js';
import { compareBytes, isAllZero } from './bytes.js';
import { derToCompact } from './der.js';
import { ed25519Verify } from './ed25519.js';
import { P256_HALF_N, P256_N, p256VerifyDigest, p256VerifyMessage } from './p256.js';
import { resolveRequest } from './request.js';
import {
  ecdsaVerifyDigest,
  schnorrVerifyDigest,
  SECP256K1_HALF_N,
  SECP256K1_N,
  taprootOutputKey,
  xOnly,
} from './secp256k1.js';

export interface VerifyOptions {
  /** Refuse ECDSA signatures with s > n/2 (BIP146 / EIP-2 policy). Default false. */
  strictLowS?: boolean;
  /** The ECDSA signature is ASN.1 DER rather than 64-byte r‖s. Default false. */
  der?: boolean;
}

export type VerifyInput = VerifyRequest;

const ORDERS = {
  secp256k1: { n: SECP256K1_N, half: SECP256K1_HALF_N },
  p256: { n: P256_N, half: P256_HALF_N },
};

function checkEcPublicKey(algorithm: Algorithm, publicKey: unknown): Uint8Array {
  if (
    publicKey instanceof Uint8Array &&
    ((publicKey.length === 33 && (publicKey[0] === 0x02 || publicKey[0] === 0x03)) ||
      (publicKey.length === 65 && publicKey[0] === 0x04))
  )
    return publicKey;
  throw new KeymeshError(
    'INVALID_REQUEST',
    `publicKey must be a 33-byte compressed or 65-byte uncompressed ${algorithm} key`,
  );
}

/** r‖s with both in [1, n − 1] (and s ≤ n/2 when strict), else undefined. */
function ecdsaScalars(
  algorithm: 'secp256k1' | 'p256',
  signature: Uint8Array,
  opts: VerifyOptions,
): Uint8Array | undefined {
  const compact = opts.der ? derToCompact(signature) : signature.length === 64 ? signature : undefined;
  if (!compact) return undefined;
  const { n, half } = ORDERS[algorithm];
  const r = compact.subarray(0, 32);
  const s = compact.subarray(32);
  if (isAllZero(r) || isAllZero(s) || compareBytes(r, n) >= 0 || compareBytes(s, n) >= 0) return undefined;
  if (opts.strictLowS && compareBytes(s, half) > 0) return undefined;
  return compact;
}

export function verifySignature(req: VerifyInput, opts: VerifyOptions = {}): boolean {
  if (req === null || typeof req !== 'object')
    throw new KeymeshError('INVALID_REQUEST', 'request must be an object');
  const algorithm = req.algorithm;
  if (typeof algorithm !== 'string' || !(Algorithms as readonly string[]).includes(algorithm))
    throw new KeymeshError('INVALID_REQUEST', `algorithm must be one of ${Algorithms.join(', ')}`);
  const { scheme, digest, message } = resolveRequest(algorithm, req);
  const signature = req.signature;
  if (!(signature instanceof Uint8Array))
    throw new KeymeshError('INVALID_REQUEST', 'signature must be bytes');

  if (scheme === 'ed25519') {
    if (!(req.publicKey instanceof Uint8Array) || req.publicKey.length !== 32)
      throw new KeymeshError('INVALID_REQUEST', 'publicKey must be a 32-byte Ed25519 key');
    return ed25519Verify(signature, message!, req.publicKey);
  }
  if (scheme === 'schnorr' || scheme === 'schnorr-taproot') {
    const pk = req.publicKey;
    if (
      !(pk instanceof Uint8Array) ||
      !(pk.length === 32 || (pk.length === 33 && (pk[0] === 2 || pk[0] === 3)))
    )
      throw new KeymeshError(
        'INVALID_REQUEST',
        'publicKey must be a 32-byte x-only or 33-byte compressed key',
      );
    if (signature.length !== 64) return false;
    let key: Uint8Array;
    try {
      key = scheme === 'schnorr' ? xOnly(pk) : taprootOutputKey(pk);
    } catch {
      return false; // an x coordinate with no point on the curve
    }
    return schnorrVerifyDigest(signature, digest!, key);
  }

  // ECDSA
  const ecAlg = algorithm as 'secp256k1' | 'p256';
  const publicKey = checkEcPublicKey(ecAlg, req.publicKey);
  const compact = ecdsaScalars(ecAlg, signature, opts);
  if (!compact) return false;
  if (ecAlg === 'p256') {
    // High-s was already refused above when strict; both engines are told to accept it here.
    return message
      ? p256VerifyMessage(compact, message, publicKey)
      : p256VerifyDigest(compact, digest!, publicKey, false);
  }
  const h = digest ?? new Uint8Array(createHash('sha256').update(message!).digest());
  return ecdsaVerifyDigest(compact, h, publicKey);
}
