// Signer objects: one unsealed private key and the operations on it, the private half behind
// enclave.ts. ECDSA is SEC 1 §4.1.3 with RFC 6979 nonces and low-s (BIP146), Ed25519 is RFC 8032
// §5.1.6, Schnorr is BIP340 (and BIP341/BIP86 for the taproot key-path tweak). The key stays a
// Uint8Array the signer owns (never a string, never shared with the caller) and `zero()` wipes
// it. Every signature is verified before it is returned, the classic defence against fault
// attacks on deterministic signatures (a glitched computation of s with a known k leaks the key);
// a failed check is ENCLAVE_FAILURE and nothing is returned.
//
// Which implementation serves which operation, and the measurements behind the choice, are in the
// per-curve modules: secp256k1.ts (libsecp256k1 native for ECDSA, tiny-secp256k1 for BIP340),
// p256.ts (@noble/curves, OpenSSL verify for messages), ed25519.ts (OpenSSL).
import { createHash, getRandomValues, type KeyObject } from 'node:crypto';
import { KeymeshError } from '../../errors.js';
import { Algorithms, type Algorithm, type SignRequest, type SignResult } from '../enclave.js';
import { checkBytes, compareBytes, ownedCopy } from './bytes.js';
import { ed25519PrivateKeyObject, ed25519PublicKeyOf, ed25519Sign, ed25519VerifyWith } from './ed25519.js';
import {
  isValidP256Scalar,
  P256_HALF_N,
  p256PublicKey,
  p256SignDigest,
  p256VerifyDigest,
  p256VerifyMessage,
} from './p256.js';
import { resolveRequest } from './request.js';
import {
  ecdsaCheck,
  ecdsaSignDigest,
  freshAux,
  isValidSecp256k1Scalar,
  schnorrSignDigest,
  schnorrVerifyDigest,
  secp256k1PublicKey,
  taprootOutputKey,
  taprootTweakSecret,
  xOnly,
} from './secp256k1.js';

export const SECRET_BYTES = 32;

export interface Signer {
  readonly algorithm: Algorithm;
  /** secp256k1/p256: 33-byte compressed SEC1; ed25519: 32 bytes. A copy; safe to hand out. */
  readonly publicKey: Uint8Array;
  /** Sign and verify (fault check). HD `path` is not a single key's business: INVALID_REQUEST. */
  sign(req: SignRequest): SignResult;
  /** Wipe the key. The signer refuses to sign afterwards. */
  zero(): void;
}

const faultCheckFailed = () =>
  new KeymeshError('ENCLAVE_FAILURE', 'the signature failed its verification check');
const disposed = () => new KeymeshError('ENCLAVE_FAILURE', 'this signer has been wiped');

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

function checkAlgorithm(algorithm: unknown): Algorithm {
  if (typeof algorithm !== 'string' || !(Algorithms as readonly string[]).includes(algorithm))
    throw new KeymeshError('INVALID_REQUEST', `algorithm must be one of ${Algorithms.join(', ')}`);
  return algorithm as Algorithm;
}

/**
 * Check a raw private key: 32 bytes (else INVALID_REQUEST); for the ECDSA curves a scalar with
 * 0 < d < n (else INVALID_KEY). Any 32 bytes are an Ed25519 seed (RFC 8032 §5.1.5).
 */
export function validateSecret(algorithm: Algorithm, secret: unknown): Uint8Array {
  checkAlgorithm(algorithm);
  const d = checkBytes('privateKey', secret, SECRET_BYTES);
  if (algorithm === 'secp256k1' && !isValidSecp256k1Scalar(d))
    throw new KeymeshError(
      'INVALID_KEY',
      'privateKey is not a valid secp256k1 scalar (it must be between 1 and n-1)',
    );
  if (algorithm === 'p256' && !isValidP256Scalar(d))
    throw new KeymeshError(
      'INVALID_KEY',
      'privateKey is not a valid P-256 scalar (it must be between 1 and n-1)',
    );
  return d;
}

/** A fresh private key from the platform CSPRNG (rejection sampling for the scalar curves). */
export function generateSecret(algorithm: Algorithm): Uint8Array {
  checkAlgorithm(algorithm);
  const d = new Uint8Array(SECRET_BYTES);
  for (;;) {
    getRandomValues(d);
    if (algorithm === 'ed25519') return d;
    if (algorithm === 'secp256k1' ? isValidSecp256k1Scalar(d) : isValidP256Scalar(d)) return d;
  }
}

/** A signer over a copy of `secret` (validated); the caller still owns and wipes its own buffer. */
export function importSigner(algorithm: Algorithm, secret: Uint8Array): Signer {
  const d = validateSecret(algorithm, secret);
  switch (algorithm) {
    case 'secp256k1':
      return new Secp256k1Signer(ownedCopy(d));
    case 'p256':
      return new P256Signer(ownedCopy(d));
    case 'ed25519':
      return new Ed25519Signer(ownedCopy(d));
  }
}

function rejectPath(req: SignRequest): void {
  if (req !== null && typeof req === 'object' && req.path !== undefined)
    throw new KeymeshError(
      'INVALID_REQUEST',
      'a derivation path needs an HD key; this key is a single private key',
    );
}

class Secp256k1Signer implements Signer {
  readonly algorithm = 'secp256k1' as const;
  readonly #publicKey: Uint8Array;
  #secret: Uint8Array | undefined;
  #taproot: { secret: Uint8Array; outputKey: Uint8Array } | undefined;

  constructor(secret: Uint8Array) {
    this.#secret = secret;
    this.#publicKey = secp256k1PublicKey(secret);
  }

  get publicKey(): Uint8Array {
    return ownedCopy(this.#publicKey);
  }

  sign(req: SignRequest): SignResult {
    rejectPath(req);
    const { scheme, digest, message } = resolveRequest('secp256k1', req);
    const d = this.#secret;
    if (!d) throw disposed();
    if (scheme === 'ecdsa') {
      const h = digest ?? sha256(message!);
      const { signature, recoveryId } = ecdsaSignDigest(h, d);
      if (!ecdsaCheck(signature, recoveryId, h, this.#publicKey)) throw faultCheckFailed();
      // Ids 2 and 3 (R.x ≥ n) occur with probability ~2^-127 and have no Ethereum encoding.
      if (recoveryId !== 0 && recoveryId !== 1)
        throw new KeymeshError(
          'ENCLAVE_FAILURE',
          'the signature has no 0/1 recovery id; sign another digest',
        );
      return { signature, recoveryId };
    }
    if (scheme === 'schnorr') {
      const signature = schnorrSignDigest(digest!, d, freshAux());
      if (!schnorrVerifyDigest(signature, digest!, xOnly(this.#publicKey))) throw faultCheckFailed();
      return { signature };
    }
    // schnorr-taproot: the tweaked key is derived once per signer and wiped with it. The output
    // key is computed from the public key, not from the tweaked secret, so the check also
    // catches a wrong tweak.
    this.#taproot ??= {
      secret: taprootTweakSecret(d, this.#publicKey),
      outputKey: taprootOutputKey(this.#publicKey),
    };
    const signature = schnorrSignDigest(digest!, this.#taproot.secret, freshAux());
    if (!schnorrVerifyDigest(signature, digest!, this.#taproot.outputKey)) throw faultCheckFailed();
    return { signature };
  }

  zero(): void {
    this.#secret?.fill(0);
    this.#taproot?.secret.fill(0);
    this.#secret = undefined;
    this.#taproot = undefined;
  }
}

const isLowP256 = (sig: Uint8Array) => compareBytes(sig.subarray(32), P256_HALF_N) <= 0;

class P256Signer implements Signer {
  readonly algorithm = 'p256' as const;
  readonly #publicKey: Uint8Array;
  #secret: Uint8Array | undefined;

  constructor(secret: Uint8Array) {
    this.#secret = secret;
    this.#publicKey = p256PublicKey(secret);
  }

  get publicKey(): Uint8Array {
    return ownedCopy(this.#publicKey);
  }

  sign(req: SignRequest): SignResult {
    rejectPath(req);
    const { digest, message } = resolveRequest('p256', req);
    const d = this.#secret;
    if (!d) throw disposed();
    const h = digest ?? sha256(message!);
    const signature = p256SignDigest(h, d);
    const ok = message
      ? p256VerifyMessage(signature, message, this.#publicKey)
      : p256VerifyDigest(signature, h, this.#publicKey, true);
    if (!ok || !isLowP256(signature)) throw faultCheckFailed();
    return { signature };
  }

  zero(): void {
    this.#secret?.fill(0);
    this.#secret = undefined;
  }
}

class Ed25519Signer implements Signer {
  readonly algorithm = 'ed25519' as const;
  readonly #publicKey: Uint8Array;
  #seed: Uint8Array | undefined;
  #privateKey: KeyObject | undefined;
  readonly #verifyKey: KeyObject;

  constructor(seed: Uint8Array) {
    this.#seed = seed;
    this.#privateKey = ed25519PrivateKeyObject(seed);
    const pub = ed25519PublicKeyOf(this.#privateKey);
    this.#publicKey = pub.raw;
    this.#verifyKey = pub.key;
  }

  get publicKey(): Uint8Array {
    return ownedCopy(this.#publicKey);
  }

  sign(req: SignRequest): SignResult {
    rejectPath(req);
    const { message } = resolveRequest('ed25519', req);
    const key = this.#privateKey;
    if (!key) throw disposed();
    const signature = ed25519Sign(message!, key);
    if (!ed25519VerifyWith(signature, message!, this.#verifyKey)) throw faultCheckFailed();
    return { signature };
  }

  zero(): void {
    this.#seed?.fill(0);
    this.#seed = undefined;
    // OpenSSL's copy is cleared when the KeyObject is garbage collected; drop the last reference.
    this.#privateKey = undefined;
  }
}
