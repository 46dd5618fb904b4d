// The addresses shown for a key: BIP84/BIP86 first addresses of "abandon … about" and its
// Ethereum address (m/44'/60'/0'/0/0 of that mnemonic is 0x9858EfFD232B4033E47d90003D41EC34EcaEda94,
// the well-known first MetaMask/Ledger address, cross-checked with ethers' HDNodeWallet).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HDNodeWallet, Mnemonic } from 'ethers';
import { keyAddresses } from '../../src/chains/addresses.js';
import { deriveSecp256k1 } from '../hd/oracles/bip32.js';
import { mnemonicToSeed } from '../hd/oracles/bip39.js';

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

test('keyAddresses: Ethereum and Bitcoin addresses for secp256k1, none for other algorithms', () => {
  const seed = mnemonicToSeed(ABANDON);
  const eth = deriveSecp256k1(seed, "m/44'/60'/0'/0/0").publicKey;
  const judge = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ABANDON), "m/44'/60'/0'/0/0");
  assert.equal(keyAddresses('secp256k1', eth).ethereum, judge.address);
  assert.equal(judge.address, '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
  assert.equal(
    keyAddresses('secp256k1', deriveSecp256k1(seed, "m/84'/0'/0'/0/0").publicKey).bitcoin?.p2wpkh,
    'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
  );
  const a = keyAddresses('secp256k1', deriveSecp256k1(seed, "m/86'/0'/0'/0/0").publicKey);
  assert.equal(a.bitcoin?.p2tr, 'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr');
  assert.match(a.testnet!.p2wpkh, /^tb1q/);
  assert.match(a.regtest!.p2tr, /^bcrt1p/);
  assert.deepEqual(keyAddresses('ed25519', new Uint8Array(32)), {});
  assert.deepEqual(keyAddresses('p256', new Uint8Array(33)), {});
});
