// Published Ethereum vectors:
// - EIP-155 "Example" (ethereum/EIPs EIPS/eip-155.md): nonce 9, gasPrice 20 gwei, gas 21000,
//   to 0x3535…35, value 1 ether, chainId 1, key 0x4646…46 → its signing data, signing hash, v/r/s
//   and signed transaction.
// - EIP-712 Mail example (ethereum/EIPs assets/eip-712/Example.js, commit 68b7c485a712): domain
//   separator, struct hash, signing hash and the signature by keccak256("cow").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak256, toBytes, bytesToHex } from 'viem';
import {
  assembleSignedTransaction,
  ethereumAddress,
  parseTransactionRequest,
  parseTypedData,
  toRsvSignature,
  transactionSigningHash,
  typedDataHash,
  unsignedTransaction,
} from '../../src/chains/ethereum/index.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecdsaSign } from './_enclave.js';
import { hex, unhex } from './_assert.js';
import { MAIL } from '../fixtures/eip712-mail.js';

const to32 = (n: bigint) => unhex(n.toString(16).padStart(64, '0'));

test('EIP-155 example transaction: signing data, signing hash, signature and raw transaction', () => {
  const { type, tx } = parseTransactionRequest({
    nonce: 9,
    gasPrice: '20000000000',
    gas: '21000',
    to: '0x3535353535353535353535353535353535353535',
    value: '1000000000000000000',
    chainId: 1,
  });
  assert.equal(type, 'legacy');
  assert.equal(
    unsignedTransaction(tx),
    '0xec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080',
  );
  const digest = transactionSigningHash(tx);
  assert.equal(hex(digest), 'daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53');

  const r = 18515461264373351373200002665853028612451056578545711640558177340181847433846n;
  const s = 46948507304638947509940763649030358759909902576025900602547168820602576006531n;
  const v = 37;
  const raw =
    '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83';
  const key = unhex('46'.repeat(32));
  const from = ethereumAddress(secp256k1.getPublicKey(key, true));

  // The published (r, s, v) assembles to the published transaction...
  const published = { signature: new Uint8Array([...to32(r), ...to32(s)]), recoveryId: v - 37 };
  const out = assembleSignedTransaction(tx, published, from);
  assert.equal(out.rawTransaction, raw);
  assert.equal(out.hash, keccak256(raw));
  assert.equal(out.from, from);
  // ...and an RFC 6979 signature made for the digest is that same signature.
  const sig = ecdsaSign(digest, key);
  assert.deepEqual(sig, published);
  assert.equal(assembleSignedTransaction(tx, sig).rawTransaction, raw);
});

test('EIP-712 Mail example: signing hash and the published signature by keccak256("cow")', () => {
  const td = parseTypedData(MAIL);
  const digest = typedDataHash(td);
  assert.equal(hex(digest), 'be609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2');
  // The same, sent as JSON text (how eth_signTypedData_v4 carries it).
  assert.equal(hex(typedDataHash(parseTypedData(JSON.stringify(MAIL)))), hex(digest));
  // Without EIP712Domain in types, the domain type is inferred from the domain's fields.
  const { EIP712Domain: _omit, ...rest } = MAIL.types;
  assert.equal(hex(typedDataHash(parseTypedData({ ...MAIL, types: rest }))), hex(digest));

  const key = toBytes(keccak256(toBytes('cow')));
  const address = ethereumAddress(secp256k1.getPublicKey(key, true));
  assert.equal(address.toLowerCase(), '0xcd2a3d9f938e13cd947ec05abc7fe734df8dd826');
  const rsv = toRsvSignature(digest, ecdsaSign(digest, key), address);
  assert.equal(
    rsv,
    '0x' +
      '4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d' +
      '07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562' +
      '1c', // v = 28
  );
  assert.equal(bytesToHex(digest).length, 66);
});
