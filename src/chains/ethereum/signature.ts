// Turning the enclave's secp256k1 signature (64 bytes r‖s, low-s, recovery id 0 or 1: see
// enclave.ts SignResult) into what Ethereum expects, and checking it on the way.
//
// The enclave already verifies before a signature leaves it; the node checks again, cheaply,
// because what it assembles is broadcast as is: r and s in [1, n-1], s ≤ n/2 (EIP-2 makes
// high-s transactions invalid), and the public key recovered from (digest, r, s, recovery id) is
// the signer's. A failure here is the enclave's (ENCLAVE_FAILURE), never the caller's.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, type Address, type Hex } from 'viem';
import { KeymeshError } from '../../errors.js';
import { publicKeyToAddress } from 'viem/accounts';
import { recoverUncompressed } from '../public-ops.js';

export interface RecoverableSignature {
  signature: Uint8Array; // 64 bytes r‖s
  recoveryId?: number; // 0 or 1
}

export interface CheckedSignature {
  r: Hex; // 32 bytes
  s: Hex; // 32 bytes
  recoveryId: 0 | 1;
  /** The EIP-55 address recovered from the digest and signature. */
  signer: Address;
}

const N = secp256k1.Point.CURVE().n;

function fault(msg: string): KeymeshError {
  return new KeymeshError('ENCLAVE_FAILURE', msg);
}

/**
 * Validate an enclave signature over `digest` (32 bytes) and recover its signer. When `expected`
 * (an address) is given, the recovered signer must be it.
 */
export function checkSignature(
  digest: Uint8Array,
  sig: RecoverableSignature,
  expected?: string,
): CheckedSignature {
  if (!(digest instanceof Uint8Array) || digest.length !== 32)
    throw fault('the digest to check is not 32 bytes');
  if (!sig || !(sig.signature instanceof Uint8Array) || sig.signature.length !== 64)
    throw fault('the enclave returned a signature that is not 64 bytes');
  const recoveryId = sig.recoveryId;
  if (recoveryId !== 0 && recoveryId !== 1) throw fault('the enclave returned no usable recovery id');
  let parsed;
  try {
    parsed = secp256k1.Signature.fromBytes(sig.signature, 'compact');
  } catch {
    throw fault('the enclave returned a malformed signature');
  }
  if (parsed.r <= 0n || parsed.s <= 0n || parsed.r >= N || parsed.s >= N)
    throw fault('the enclave returned a signature out of range');
  if (parsed.hasHighS()) throw fault('the enclave returned a high-s signature');
  const recovered = recoverUncompressed(digest, sig.signature, recoveryId);
  if (recovered === null) throw fault('the enclave signature does not recover to a public key');
  const signer: Address = publicKeyToAddress(bytesToHex(recovered));
  if (expected !== undefined && signer.toLowerCase() !== expected.toLowerCase())
    throw fault('the enclave signature does not recover to the signing key');
  return {
    r: bytesToHex(sig.signature.subarray(0, 32)),
    s: bytesToHex(sig.signature.subarray(32, 64)),
    recoveryId,
    signer,
  };
}

/**
 * The 65-byte r‖s‖v signature of eth_sign, personal_sign and eth_signTypedData (v = 27 + recovery
 * id), as 0x-hex, after checkSignature.
 */
export function toRsvSignature(digest: Uint8Array, sig: RecoverableSignature, expected?: string): Hex {
  const c = checkSignature(digest, sig, expected);
  const out = new Uint8Array(65);
  out.set(sig.signature, 0);
  out[64] = 27 + c.recoveryId;
  return bytesToHex(out);
}
