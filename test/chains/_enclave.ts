// A stand-in for the enclave in these tests: it signs digests the way enclave.ts promises
// (ECDSA: RFC 6979 deterministic, low-s, 64 bytes r‖s plus a recovery id; "schnorr-taproot":
// BIP340 over the BIP86-tweaked key), with @noble/curves and nothing from the code under test.
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';

export interface SignResult {
  signature: Uint8Array;
  recoveryId?: number;
}

export function ecdsaSign(digest: Uint8Array, privateKey: Uint8Array): SignResult {
  const rec = secp256k1.sign(digest, privateKey, { prehash: false, lowS: true, format: 'recovered' });
  return { signature: rec.slice(1), recoveryId: rec[0]! };
}

const N = secp256k1.Point.CURVE().n;
const mod = (a: bigint) => ((a % N) + N) % N;
const toBig = (b: Uint8Array) => BigInt('0x' + Buffer.from(b).toString('hex'));
const to32 = (n: bigint) => Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));

function taggedHash(tag: string, ...msgs: Uint8Array[]): Uint8Array {
  const t = sha256(new TextEncoder().encode(tag));
  return sha256(concatBytes(t, t, ...msgs));
}

/** BIP341 taproot_tweak_seckey with an optional merkle root (BIP86: none). */
export function tweakPrivateKey(
  privateKey: Uint8Array,
  merkleRoot: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const P = secp256k1.Point.BASE.multiply(toBig(privateKey));
  const d = P.y % 2n === 0n ? toBig(privateKey) : N - toBig(privateKey);
  const xonly = P.toBytes(true).slice(1);
  const t = toBig(taggedHash('TapTweak', xonly, merkleRoot));
  return to32(mod(d + t));
}

export function schnorrTaprootSign(
  digest: Uint8Array,
  privateKey: Uint8Array,
  aux: Uint8Array = new Uint8Array(32),
): SignResult {
  return { signature: schnorr.sign(digest, tweakPrivateKey(privateKey), aux) };
}
