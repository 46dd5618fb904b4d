// Bitcoin networks Keymesh signs for, with their address parameters (Bitcoin Core chainparams:
// bech32 HRP "bc" / "tb" / "bcrt" per BIP173; Base58 prefixes 0x00/0x05 mainnet, 0x6f/0xc4 for the
// test networks) and what identifies their keys in a PSBT (BIP32 version bytes of global xpubs,
// SLIP-44 coin types in BIP44-family derivation paths).
import type { BTC_NETWORK } from '@scure/btc-signer/utils.js';
import { invalid } from '../../errors.js';

export const BITCOIN_NETWORKS = ['bitcoin', 'testnet', 'regtest'] as const;
export type BitcoinNetwork = (typeof BITCOIN_NETWORKS)[number];

export const NETWORK_PARAMS: Record<BitcoinNetwork, BTC_NETWORK> = {
  bitcoin: { bech32: 'bc', pubKeyHash: 0x00, scriptHash: 0x05, wif: 0x80 },
  testnet: { bech32: 'tb', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
  regtest: { bech32: 'bcrt', pubKeyHash: 0x6f, scriptHash: 0xc4, wif: 0xef },
};

/** Mainnet or one of the test networks (testnet, signet and regtest share keys and coin type 1). */
export type KeyFamily = 'main' | 'test';
export const keyFamily = (n: BitcoinNetwork): KeyFamily => (n === 'bitcoin' ? 'main' : 'test');

/**
 * Extended public key version bytes (BIP32, and SLIP-132's ypub/zpub/Ypub/Zpub and their testnet
 * counterparts, which wallets put in PSBT_GLOBAL_XPUB too).
 */
export const XPUB_VERSION_FAMILY: ReadonlyMap<number, KeyFamily> = new Map([
  [0x0488b21e, 'main'], // xpub
  [0x049d7cb2, 'main'], // ypub
  [0x04b24746, 'main'], // zpub
  [0x0295b43f, 'main'], // Ypub
  [0x02aa7ed3, 'main'], // Zpub
  [0x043587cf, 'test'], // tpub
  [0x044a5262, 'test'], // upub
  [0x045f1cf6, 'test'], // vpub
  [0x024289ef, 'test'], // Upub
  [0x02575483, 'test'], // Vpub
]);

export function parseBitcoinNetwork(value: unknown, field = 'network'): BitcoinNetwork {
  if (typeof value !== 'string' || !(BITCOIN_NETWORKS as readonly string[]).includes(value))
    throw invalid(`${field} must be one of ${BITCOIN_NETWORKS.join(', ')}`);
  return value as BitcoinNetwork;
}
