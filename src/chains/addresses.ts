// The addresses a key object (or a derived child) shows, one place for every interface: Ethereum
// (EIP-55) and Bitcoin P2WPKH and BIP86 P2TR on each network, for secp256k1 keys. Other algorithms
// have no addresses here (an empty object).
import { bitcoinAddresses } from './bitcoin/address.js';
import { BITCOIN_NETWORKS, type BitcoinNetwork } from './bitcoin/network.js';
import { ethereumAddress } from './ethereum/address.js';

export type KeyAddresses = { ethereum?: string } & Partial<
  Record<BitcoinNetwork, { p2wpkh: string; p2tr: string }>
>;

/** Addresses of a 33-byte compressed secp256k1 public key; `{}` for other algorithms. */
export function keyAddresses(algorithm: string, publicKey: Uint8Array): KeyAddresses {
  if (algorithm !== 'secp256k1') return {};
  const out: KeyAddresses = { ethereum: ethereumAddress(publicKey) };
  for (const n of BITCOIN_NETWORKS) out[n] = bitcoinAddresses(publicKey, n);
  return out;
}
