// Bitcoin addresses of a 33-byte compressed secp256k1 key:
// - P2WPKH (BIP141 witness v0 keyhash, BIP173 bech32): program = HASH160(public key), 20 bytes.
// - P2TR key path per BIP86 (BIP341 witness v1, BIP350 bech32m): output key Q = P + t·G with
//   P the even-y lift of the key's x coordinate and t = tagged_hash("TapTweak", x(P)), i.e. no
//   script tree. Program = x(Q), 32 bytes.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { p2tr, p2wpkh } from '@scure/btc-signer/payment.js';
import { taprootTweakPubkey } from '@scure/btc-signer/utils.js';
import { invalid } from '../../errors.js';
import { NETWORK_PARAMS, type BitcoinNetwork } from './network.js';

/** Check a 33-byte compressed public key is a curve point; returns it. */
export function checkCompressedKey(publicKey: Uint8Array, field = 'publicKey'): Uint8Array {
  if (
    !(publicKey instanceof Uint8Array) ||
    publicKey.length !== 33 ||
    (publicKey[0] !== 2 && publicKey[0] !== 3)
  )
    throw invalid(`${field} must be a 33-byte compressed secp256k1 public key`);
  try {
    secp256k1.Point.fromBytes(publicKey);
  } catch {
    throw invalid(`${field} is not a point on secp256k1`);
  }
  return publicKey;
}

/** The 32-byte x-only form BIP340 uses. */
export function xOnly(publicKey: Uint8Array): Uint8Array {
  return checkCompressedKey(publicKey).slice(1);
}

/**
 * BIP341 taproot output key for an internal key (33-byte compressed or 32-byte x-only) and an
 * optional 32-byte merkle root (none: BIP86).
 */
export function taprootOutputKey(
  internalKey: Uint8Array,
  merkleRoot?: Uint8Array,
): { outputKey: Uint8Array; parity: 0 | 1 } {
  const x = internalKey.length === 33 ? xOnly(internalKey) : internalKey;
  if (!(x instanceof Uint8Array) || x.length !== 32) throw invalid('internal key must be 32 or 33 bytes');
  if (merkleRoot !== undefined && (!(merkleRoot instanceof Uint8Array) || merkleRoot.length !== 32))
    throw invalid('merkle root must be 32 bytes');
  try {
    const [outputKey, parity] = taprootTweakPubkey(x, merkleRoot ?? new Uint8Array(0));
    return { outputKey, parity: parity === 1 ? 1 : 0 };
  } catch {
    throw invalid('internal key is not a valid x-only secp256k1 key');
  }
}

export function p2wpkhAddress(publicKey: Uint8Array, network: BitcoinNetwork): string {
  return p2wpkh(checkCompressedKey(publicKey), NETWORK_PARAMS[network]).address!;
}

export function p2trAddress(publicKey: Uint8Array, network: BitcoinNetwork): string {
  return p2tr(xOnly(publicKey), undefined, NETWORK_PARAMS[network]).address!;
}

/** Both single-key address forms Keymesh shows for a secp256k1 key. */
export function bitcoinAddresses(
  publicKey: Uint8Array,
  network: BitcoinNetwork,
): { p2wpkh: string; p2tr: string } {
  return { p2wpkh: p2wpkhAddress(publicKey, network), p2tr: p2trAddress(publicKey, network) };
}
