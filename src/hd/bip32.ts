// BIP32 extended public keys (bitcoin/bips bip-0032.mediawiki, "Serialization format"): the version
// bytes and the xpub / tpub the node shows for a secp256k1 HD root and for a child it derived, with
// @scure/bip32 doing the Base58Check encoding. Nothing here sees a private key: derivation runs in
// the enclave (src/enclave/crypto/hd.ts); the reference BIP32 derivation that checks it is a test
// oracle (test/hd/oracles/bip32.ts).
//
// Sizes: public key 33 bytes (compressed SEC1), chain code 32 bytes, fingerprint 4 bytes (first 4
// bytes of HASH160(public key)), serialized extended key 78 bytes.
import { HDKey, type Versions } from '@scure/bip32';

/** BIP32 version bytes: mainnet xprv/xpub and testnet tprv/tpub. */
export const BIP32_VERSIONS = {
  bitcoin: { private: 0x0488ade4, public: 0x0488b21e },
  testnet: { private: 0x04358394, public: 0x043587cf },
} as const satisfies Record<string, Versions>;
export type Bip32Network = keyof typeof BIP32_VERSIONS;

export interface Bip32Node {
  depth: number;
  /** Child index of this node in its parent (hardened ones ≥ 2^31); 0 for the master. */
  index: number;
  /** First 4 bytes of HASH160(parent public key), as a big-endian number; 0 for the master. */
  parentFingerprint: number;
  /** First 4 bytes of HASH160(this public key), as a big-endian number. */
  fingerprint: number;
  chainCode: Uint8Array; // 32 bytes
  publicKey: Uint8Array; // 33 bytes, compressed
  privateKey?: Uint8Array; // 32 bytes; absent on public-only nodes
}

/** The @scure/bip32 key for a node, with or without its private key (the caller wipes it). */
export function toHDKey(node: Bip32Node, withPrivate: boolean, network: Bip32Network): HDKey {
  return new HDKey({
    versions: BIP32_VERSIONS[network],
    depth: node.depth,
    index: node.index,
    parentFingerprint: node.parentFingerprint,
    chainCode: node.chainCode,
    ...(withPrivate ? { privateKey: node.privateKey! } : { publicKey: node.publicKey }),
  });
}

/** Base58Check extended public key (xpub / tpub), BIP32 "Serialization format". */
export function encodeXpub(node: Bip32Node, network: Bip32Network = 'bitcoin'): string {
  return toHDKey(node, false, network).publicExtendedKey;
}
