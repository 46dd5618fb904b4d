// The public-key checks the node runs on every wallet signature before it answers (recovering an
// Ethereum signer, verifying a PSBT signature against its key), done by libsecp256k1 through the
// secp256k1 package's native binding and, for BIP340, by tiny-secp256k1 (libsecp256k1 in wasm).
// They run on the node's request thread, where @noble/curves' pure-JS point arithmetic costs
// about 2 ms a check, ten times as much, and was most of a wallet signature's cost over HTTP.
// No secret is involved; the enclave does its own checks before a signature leaves it.
import { createRequire } from 'node:module';
import type * as Secp256k1Api from 'secp256k1';
import * as tiny from 'tiny-secp256k1';

const require = createRequire(import.meta.url);
// The binding, never the package's `elliptic` fallback (see enclave/crypto/native.ts).
const native = require('secp256k1/bindings') as typeof Secp256k1Api;

/** The 65-byte uncompressed public key that signed `digest`, or null if none recovers. */
export function recoverUncompressed(
  digest: Uint8Array,
  signature: Uint8Array,
  recoveryId: 0 | 1,
): Uint8Array | null {
  try {
    return native.ecdsaRecover(signature, recoveryId, digest, false);
  } catch {
    return null;
  }
}

/** ECDSA over a 32-byte digest; libsecp256k1 accepts low-s signatures only. */
export function verifyEcdsa(signature: Uint8Array, digest: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return native.ecdsaVerify(signature, digest, publicKey);
  } catch {
    return false;
  }
}

/** BIP340 against a 32-byte x-only key. */
export function verifySchnorr(signature: Uint8Array, digest: Uint8Array, xOnlyKey: Uint8Array): boolean {
  try {
    return tiny.verifySchnorr(digest, xOnlyKey, signature);
  } catch {
    return false;
  }
}
