// What a sign request means for each algorithm (enclave.ts SignRequest): exactly one of a 32-byte
// digest or a message, and a scheme the algorithm offers. Checked again here although the core
// checks too: the enclave trusts nothing that crosses its boundary.
import { KeymeshError } from '../../errors.js';
import type { Algorithm, SignRequest } from '../enclave.js';

export type Scheme = NonNullable<SignRequest['scheme']>;

/** Hard cap on a message the enclave will hash or sign; the HTTP edge caps lower (256 KiB). */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
export const DIGEST_BYTES = 32;

const SCHEMES: Record<Algorithm, readonly Scheme[]> = {
  secp256k1: ['ecdsa', 'schnorr', 'schnorr-taproot'],
  p256: ['ecdsa'],
  ed25519: ['ed25519'],
};

export interface Resolved {
  scheme: Scheme;
  digest: Uint8Array | undefined;
  message: Uint8Array | undefined;
}

export function defaultScheme(algorithm: Algorithm): Scheme {
  return SCHEMES[algorithm][0]!;
}

/** Validate `{digest | message, scheme?}` for `algorithm`. `path` is for HD keys, handled elsewhere. */
export function resolveRequest(
  algorithm: Algorithm,
  req: { digest?: unknown; message?: unknown; scheme?: unknown },
): Resolved {
  if (req === null || typeof req !== 'object')
    throw new KeymeshError('INVALID_REQUEST', 'request must be an object');
  const scheme = req.scheme === undefined ? defaultScheme(algorithm) : req.scheme;
  if (typeof scheme !== 'string' || !(SCHEMES[algorithm] as readonly string[]).includes(scheme))
    throw new KeymeshError('UNSUPPORTED', `${algorithm} keys do not offer the ${String(scheme)} scheme`);
  const hasDigest = req.digest !== undefined;
  const hasMessage = req.message !== undefined;
  if (hasDigest === hasMessage)
    throw new KeymeshError('INVALID_REQUEST', 'give exactly one of digest or message');
  if (hasDigest) {
    if (scheme === 'ed25519')
      throw new KeymeshError('UNSUPPORTED', 'Ed25519 signs messages, not digests; send message instead.');
    if (!(req.digest instanceof Uint8Array) || req.digest.length !== DIGEST_BYTES)
      throw new KeymeshError('INVALID_REQUEST', `digest must be exactly ${DIGEST_BYTES} bytes`);
    return { scheme: scheme as Scheme, digest: req.digest, message: undefined };
  }
  if (!(req.message instanceof Uint8Array))
    throw new KeymeshError('INVALID_REQUEST', 'message must be bytes');
  if (req.message.length > MAX_MESSAGE_BYTES)
    throw new KeymeshError('INVALID_REQUEST', `message is longer than ${MAX_MESSAGE_BYTES} bytes`);
  // BIP340 is defined over any message length, but Bitcoin signs 32-byte sighashes; refusing a
  // message here avoids guessing whether the caller wanted it hashed first.
  if (scheme === 'schnorr' || scheme === 'schnorr-taproot')
    throw new KeymeshError('INVALID_REQUEST', 'BIP340 signing takes a 32-byte digest, not a message');
  return { scheme: scheme as Scheme, digest: undefined, message: req.message };
}
