// ethers v6 as an independent judge: for the same key and input, what our module assembles from an
// enclave-style signature (noble, RFC 6979, low-s, recovery id) must be byte-equal to what an
// ethers Wallet produces: raw transactions of every type, personal messages, typed data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  Signature,
  Transaction,
  TypedDataEncoder,
  Wallet,
  getBytes,
  verifyMessage,
  verifyTypedData,
} from 'ethers';
import {
  assembleSignedTransaction,
  ethereumAddress,
  parsePersonalMessage,
  parseTransactionRequest,
  parseTypedData,
  personalMessageHash,
  toRsvSignature,
  transactionSigningHash,
  typedDataHash,
} from '../../src/chains/ethereum/index.js';
import { ecdsaSign } from './_enclave.js';
import { hex } from './_assert.js';
import { MAIL } from '../fixtures/eip712-mail.js';

const KEY = sha256(new TextEncoder().encode('keymesh ethereum judge key'));
const wallet = new Wallet('0x' + hex(KEY));
const ADDRESS = ethereumAddress(secp256k1.getPublicKey(KEY, true));
const TO = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const AUTH_SIG = Signature.from({
  r: '0x' + '11'.repeat(32),
  s: '0x' + '22'.repeat(32),
  yParity: 1,
});

interface Case {
  name: string;
  request: Record<string, unknown>;
  ethers: Record<string, unknown>;
  type: string;
}

const CASES: Case[] = [
  {
    name: 'legacy, explicit type 0x0, hex quantities',
    type: 'legacy',
    request: {
      type: '0x0',
      chainId: '0x1',
      nonce: '0x7',
      gas: '0x5208',
      gasPrice: '0x4a817c800',
      to: TO,
      value: '0xde0b6b3a7640000',
      data: '0x',
    },
    ethers: {
      type: 0,
      chainId: 1,
      nonce: 7,
      gasLimit: 21000,
      gasPrice: 20_000_000_000n,
      to: TO,
      value: 10n ** 18n,
    },
  },
  {
    name: 'legacy contract creation (no to), inferred type, decimal strings',
    type: 'legacy',
    request: {
      chainId: '137',
      nonce: '0',
      gas: '1000000',
      gasPrice: '30000000000',
      data: '0x6080604052348015600f57600080fd5b50',
    },
    ethers: {
      type: 0,
      chainId: 137,
      nonce: 0,
      gasLimit: 1_000_000,
      gasPrice: 30_000_000_000n,
      data: '0x6080604052348015600f57600080fd5b50',
    },
  },
  {
    name: 'EIP-2930 with an access list',
    type: 'eip2930',
    request: {
      type: '0x1',
      chainId: 5,
      nonce: 3,
      gas: 60000,
      gasPrice: '1000000000',
      to: TO,
      value: '1',
      input: '0xa9059cbb',
      accessList: [
        { address: TO, storageKeys: ['0x' + '00'.repeat(31) + '01', '0x' + 'ab'.repeat(32)] },
        { address: '0x0000000000000000000000000000000000000001', storageKeys: [] },
      ],
    },
    ethers: {
      type: 1,
      chainId: 5,
      nonce: 3,
      gasLimit: 60000,
      gasPrice: 1_000_000_000n,
      to: TO,
      value: 1n,
      data: '0xa9059cbb',
      accessList: [
        { address: TO, storageKeys: ['0x' + '00'.repeat(31) + '01', '0x' + 'ab'.repeat(32)] },
        { address: '0x0000000000000000000000000000000000000001', storageKeys: [] },
      ],
    },
  },
  {
    name: 'EIP-2930 inferred from gasPrice + accessList',
    type: 'eip2930',
    request: { chainId: 1, nonce: 1, gasLimit: '0x7530', gasPrice: '0x1', to: TO, accessList: [] },
    ethers: { type: 1, chainId: 1, nonce: 1, gasLimit: 30000, gasPrice: 1n, to: TO, accessList: [] },
  },
  {
    name: 'EIP-1559, explicit type 0x2, calldata and access list',
    type: 'eip1559',
    request: {
      type: '0x2',
      chainId: '0x1',
      nonce: '0x2a',
      gas: '0x186a0',
      maxFeePerGas: '0x77359400',
      maxPriorityFeePerGas: '0x3b9aca00',
      to: TO,
      value: '0x0',
      data: '0xa9059cbb000000000000000000000000' + TO.slice(2).toLowerCase() + '00'.repeat(31) + '64',
      accessList: [{ address: TO, storageKeys: ['0x' + '07'.repeat(32)] }],
    },
    ethers: {
      type: 2,
      chainId: 1,
      nonce: 42,
      gasLimit: 100000,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      to: TO,
      value: 0n,
      data: '0xa9059cbb000000000000000000000000' + TO.slice(2).toLowerCase() + '00'.repeat(31) + '64',
      accessList: [{ address: TO, storageKeys: ['0x' + '07'.repeat(32)] }],
    },
  },
  {
    name: 'EIP-1559 inferred, JSON numbers, large chain id and value',
    type: 'eip1559',
    request: {
      chainId: 2 ** 40,
      nonce: 9007199254740991,
      gas: 21000,
      maxFeePerGas: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
      maxPriorityFeePerGas: 0,
      to: TO.toLowerCase(),
      value: '123456789012345678901234567890',
    },
    ethers: {
      type: 2,
      chainId: 2 ** 40,
      nonce: 9007199254740991,
      gasLimit: 21000,
      maxFeePerGas: 2n ** 256n - 1n,
      maxPriorityFeePerGas: 0n,
      to: TO,
      value: 123456789012345678901234567890n,
    },
  },
  {
    name: 'EIP-4844 (blob versioned hashes, no sidecars)',
    type: 'eip4844',
    request: {
      type: '0x3',
      chainId: 1,
      nonce: 4,
      gas: 21000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      maxFeePerBlobGas: '100',
      to: TO,
      blobVersionedHashes: ['0x01' + 'aa'.repeat(31), '0x01' + 'bb'.repeat(31)],
    },
    ethers: {
      type: 3,
      chainId: 1,
      nonce: 4,
      gasLimit: 21000,
      maxFeePerGas: 30_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      maxFeePerBlobGas: 100n,
      to: TO,
      blobVersionedHashes: ['0x01' + 'aa'.repeat(31), '0x01' + 'bb'.repeat(31)],
    },
  },
  {
    name: 'EIP-7702 (signed authorization list)',
    type: 'eip7702',
    request: {
      type: '0x4',
      chainId: 1,
      nonce: 5,
      gas: 80000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      to: ADDRESS,
      authorizationList: [
        { chainId: '0x0', address: TO, nonce: '0x6', yParity: '0x1', r: AUTH_SIG.r, s: AUTH_SIG.s },
      ],
    },
    ethers: {
      type: 4,
      chainId: 1,
      nonce: 5,
      gasLimit: 80000,
      maxFeePerGas: 30_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      to: ADDRESS,
      authorizationList: [{ chainId: 0, address: TO, nonce: 6, signature: AUTH_SIG }],
    },
  },
];

test('transactions: byte-equal to ethers Wallet.signTransaction for every type', async () => {
  for (const c of CASES) {
    const parsed = parseTransactionRequest(c.request);
    assert.equal(parsed.type, c.type, c.name);
    const digest = transactionSigningHash(parsed.tx);
    // ethers' own view of the unsigned transaction hashes to the same digest.
    assert.equal('0x' + hex(digest), Transaction.from(c.ethers).unsignedHash, c.name);
    const ours = assembleSignedTransaction(parsed.tx, ecdsaSign(digest, KEY), ADDRESS);
    const theirs = await wallet.signTransaction(c.ethers);
    assert.equal(ours.rawTransaction, theirs, c.name);
    const decoded = Transaction.from(theirs);
    assert.equal(ours.hash, decoded.hash, c.name);
    assert.equal(ours.from, decoded.from, c.name);
    assert.equal(ours.from, wallet.address);
  }
});

test('transactions: a request naming its from gives it back for the caller to check', () => {
  const p = parseTransactionRequest({ ...CASES[0]!.request, from: wallet.address.toLowerCase() });
  assert.equal(p.from, wallet.address);
});

test('personal messages (EIP-191): byte-equal to ethers Wallet.signMessage', async () => {
  const cases: [string, string | Uint8Array][] = [
    ['Hello, Keymesh!', 'Hello, Keymesh!'],
    ['héllo 🌍 — ünïcode', 'héllo 🌍 — ünïcode'],
    ['', ''],
    ['0xdeadbeef', getBytes('0xdeadbeef')],
    ['0x', new Uint8Array(0)],
    ['0xDEADbeef00', getBytes('0xdeadbeef00')],
    ['0x123', '0x123'], // odd length: not hex bytes, so text
    ['x'.repeat(5000), 'x'.repeat(5000)],
  ];
  for (const [input, ethersInput] of cases) {
    const digest = personalMessageHash(parsePersonalMessage(input));
    const ours = toRsvSignature(digest, ecdsaSign(digest, KEY), ADDRESS);
    const theirs = await wallet.signMessage(ethersInput);
    assert.equal(ours, theirs, JSON.stringify(input.slice(0, 20)));
    assert.equal(verifyMessage(ethersInput, ours), wallet.address);
  }
});

const RICH = {
  types: {
    EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
      { name: 'salt', type: 'bytes32' },
    ],
    Order: [
      { name: 'maker', type: 'Party' },
      { name: 'takers', type: 'Party[]' },
      { name: 'amounts', type: 'uint256[]' },
      { name: 'grid', type: 'uint16[2][]' },
      { name: 'delta', type: 'int8' },
      { name: 'big', type: 'int256' },
      { name: 'flag', type: 'bool' },
      { name: 'tag', type: 'bytes4' },
      { name: 'blob', type: 'bytes' },
      { name: 'note', type: 'string' },
      { name: 'expiry', type: 'uint64' },
    ],
    Party: [
      { name: 'wallet', type: 'address' },
      { name: 'labels', type: 'string[]' },
    ],
  },
  primaryType: 'Order',
  domain: {
    name: 'Keymesh Exchange',
    version: '2',
    chainId: '0x89',
    verifyingContract: '0x1111111111111111111111111111111111111111',
    salt: '0x' + '5a'.repeat(32),
  },
  message: {
    maker: { wallet: TO, labels: ['maker', 'über'] },
    takers: [
      { wallet: '0x2222222222222222222222222222222222222222', labels: [] },
      { wallet: '0x3333333333333333333333333333333333333333', labels: ['a', 'b', 'c'] },
    ],
    amounts: [
      '1',
      '0x10',
      255,
      '115792089237316195423570985008687907853269984665640564039457584007913129639935',
    ],
    grid: [
      [1, 2],
      [65535, '0'],
    ],
    delta: -128,
    big: '-57896044618658097711785492504343953926634992332820282019728792003956564819968',
    flag: true,
    tag: '0xCAFEBABE',
    blob: '0x00ff00ff',
    note: 'line one\nline "two"',
    expiry: '18446744073709551615',
  },
};

test('typed data (EIP-712): byte-equal to ethers Wallet.signTypedData', async () => {
  for (const td of [RICH, MAIL]) {
    const parsed = parseTypedData(td);
    const digest = typedDataHash(parsed);
    const { EIP712Domain: _d, ...types } = td.types;
    assert.equal('0x' + hex(digest), TypedDataEncoder.hash(td.domain, types, td.message));
    const ours = toRsvSignature(digest, ecdsaSign(digest, KEY), ADDRESS);
    const theirs = await wallet.signTypedData(td.domain, types, td.message);
    assert.equal(ours, theirs);
    assert.equal(verifyTypedData(td.domain, types, td.message, ours), wallet.address);
  }
});

test('typed data: a domain-only signature (primaryType EIP712Domain)', async () => {
  const td = {
    types: { EIP712Domain: RICH.types.EIP712Domain },
    primaryType: 'EIP712Domain',
    domain: RICH.domain,
  };
  const digest = typedDataHash(parseTypedData(td));
  // EIP-712: 0x1901 ‖ domainSeparator, with no struct hash.
  const sep = TypedDataEncoder.hashDomain(RICH.domain);
  const { keccak256 } = await import('ethers');
  assert.equal('0x' + hex(digest), keccak256('0x1901' + sep.slice(2)));
});
