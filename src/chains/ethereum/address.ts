// Ethereum addresses (Yellow Paper §4.1: the last 20 bytes of keccak256 of the 64-byte uncompressed
// public key x‖y) in EIP-55 mixed-case checksum form, from Keymesh's 33-byte compressed SEC1 keys.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex, type Address } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import { invalid } from '../../errors.js';

/**
 * EIP-55 address of a secp256k1 public key, given compressed (33 bytes) or uncompressed (65 bytes).
 * A byte string that is not a point on the curve → INVALID_REQUEST.
 */
export function ethereumAddress(publicKey: Uint8Array): Address {
  if (!(publicKey instanceof Uint8Array) || (publicKey.length !== 33 && publicKey.length !== 65))
    throw invalid('publicKey must be a 33-byte compressed or 65-byte uncompressed secp256k1 key');
  let uncompressed: Uint8Array;
  try {
    uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false);
  } catch {
    throw invalid('publicKey is not a point on secp256k1');
  }
  return publicKeyToAddress(bytesToHex(uncompressed));
}
