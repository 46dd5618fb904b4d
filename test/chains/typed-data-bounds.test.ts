// The bounded EIP-712 hasher (chains/ethereum/typed-data-hash.ts) against viem's hashTypedData,
// the independent judge: on struct types that reference each other (the shape of the published
// attack, scaled down so that viem's per-instance rehashing stays quick), on every atomic type,
// and at the bounds: what exceeds the hashing or field budget is INVALID_REQUEST without echoing
// the caller's type names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashTypedData, bytesToHex } from 'viem';
import { parseTypedData, typedDataHash } from '../../src/chains/ethereum/typed-data.js';
import { MAX_ENCODED_FIELDS } from '../../src/chains/ethereum/typed-data-hash.js';
import { KeymeshError } from '../../src/errors.js';
import { ATTACK_TYPED_DATA, heavyTypedData } from '../helpers/heavy-inputs.js';

const viemHash = (td: ReturnType<typeof heavyTypedData>) =>
  hashTypedData(td as unknown as Parameters<typeof hashTypedData>[0]);

test('mutually referencing types, scaled down: the same digest as viem', () => {
  for (const shape of [
    { types: 3, fields: 2, instances: 3 },
    { types: 8, fields: 8, instances: 10, distinctBig: 4 },
    { types: 20, fields: 5, instances: 1, distinctBig: 20 },
  ]) {
    const td = heavyTypedData(shape);
    assert.equal(bytesToHex(typedDataHash(parseTypedData(td))), viemHash(td), JSON.stringify(shape));
  }
});

test('every atomic type, nested arrays and structs: the same digest as viem', () => {
  const td = {
    types: {
      EIP712Domain: [
        { name: 'name', type: 'string' },
        { name: 'chainId', type: 'uint256' },
        { name: 'verifyingContract', type: 'address' },
        { name: 'salt', type: 'bytes32' },
      ],
      Leaf: [
        { name: 'flag', type: 'bool' },
        { name: 'who', type: 'address' },
        { name: 'text', type: 'string' },
        { name: 'blob', type: 'bytes' },
        { name: 'b1', type: 'bytes1' },
        { name: 'b17', type: 'bytes17' },
        { name: 'u8', type: 'uint8' },
        { name: 'u256', type: 'uint256' },
        { name: 'i16', type: 'int16' },
        { name: 'i256', type: 'int256' },
      ],
      Root: [
        { name: 'leaf', type: 'Leaf' },
        { name: 'leaves', type: 'Leaf[]' },
        { name: 'grid', type: 'int8[2][]' },
        { name: 'names', type: 'string[]' },
      ],
    },
    primaryType: 'Root',
    domain: {
      name: 'Bounds',
      chainId: 5,
      verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC',
      salt: '0x' + '11'.repeat(32),
    },
    message: {} as Record<string, unknown>,
  };
  const leaf = (n: number) => ({
    flag: n % 2 === 0,
    who: '0x' + String(n).repeat(40).slice(0, 40),
    text: `héllo ${n}`,
    blob: '0x' + 'ab'.repeat(n),
    b1: '0x7f',
    b17: '0x' + 'cd'.repeat(17),
    u8: 255,
    u256: '115792089237316195423570985008687907853269984665640564039457584007913129639935',
    i16: -32768,
    i256: '-1',
  });
  td.message = {
    leaf: leaf(1),
    leaves: [leaf(2), leaf(3)],
    grid: [
      [-1, 2],
      [3, -128],
    ],
    names: ['a', '', 'ü'],
  };
  assert.equal(
    bytesToHex(typedDataHash(parseTypedData(td))),
    hashTypedData(td as unknown as Parameters<typeof hashTypedData>[0]),
  );
});

function assertBounded(fn: () => unknown) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KeymeshError);
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.match(e.shortMessage, /more than \d+ bytes of hashing or \d+ encoded fields/);
    assert.ok(!e.shortMessage.includes('T0'), 'no type name of the caller is echoed');
    return true;
  });
}

test('the published attack is served: each type encoding is hashed once per request', () => {
  const digest = typedDataHash(parseTypedData(heavyTypedData(ATTACK_TYPED_DATA)));
  assert.equal(digest.length, 32);
});

test('60 big types instantiated: past the hashing bound, refused', () => {
  const td = heavyTypedData({ ...ATTACK_TYPED_DATA, instances: 2, distinctBig: 60 });
  const parsed = parseTypedData(td);
  assertBounded(() => typedDataHash(parsed));
});

test('more encoded fields than the bound: refused', () => {
  // 4 arrays of 1,000 two-field structs: 12,000+ fields, under the parser's own value count.
  const td = {
    types: {
      Pair: [
        { name: 'a', type: 'uint8' },
        { name: 'b', type: 'uint8' },
      ],
      Root: [{ name: 'xs', type: 'Pair[][]' }],
    },
    primaryType: 'Root',
    domain: { name: 'x' },
    message: { xs: [Array.from({ length: 1000 }, () => ({ a: 1, b: 2 }))] },
  };
  // Parsed with a value budget of its own; the hasher's field budget counts the same work.
  const parsed = parseTypedData(td);
  assert.ok(3 * 1000 < MAX_ENCODED_FIELDS);
  assert.equal(typedDataHash(parsed).length, 32);
  const over = {
    ...parsed,
    message: { xs: Array.from({ length: 4 }, () => (parsed.message.xs as unknown[][])[0]) },
  };
  assertBounded(() => typedDataHash(over));
});
