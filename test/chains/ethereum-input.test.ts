// Hostile input for the Ethereum parsers: each check gives INVALID_REQUEST naming the field, and
// random garbage only ever gives KeymeshErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeymeshError } from '../../src/errors.js';
import {
  assembleSignedTransaction,
  checkSignature,
  ethereumAddress,
  parseAddress,
  parsePersonalMessage,
  parseTransactionRequest,
  parseTypedData,
  toRsvSignature,
  transactionSigningHash,
} from '../../src/chains/ethereum/index.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecdsaSign } from './_enclave.js';
import { assertKeymeshError, prng } from './_assert.js';
import { MAIL as EIP712_MAIL, MAIL_TYPES } from '../fixtures/eip712-mail.js';

const TO = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const BASE = { chainId: 1, nonce: 0, gas: 21000, maxFeePerGas: '100', maxPriorityFeePerGas: '1', to: TO };
const tx = (over: Record<string, unknown>) => () => parseTransactionRequest({ ...BASE, ...over });

test('transaction: required fields, chainId above all', () => {
  const { chainId: _c, ...noChain } = BASE;
  assertKeymeshError(() => parseTransactionRequest(noChain), /chainId is required/);
  assertKeymeshError(tx({ chainId: null }), /chainId is required/);
  assertKeymeshError(tx({ chainId: 0 }), /chainId must be at least 1/);
  assertKeymeshError(tx({ nonce: undefined }), /nonce is required/);
  assertKeymeshError(tx({ gas: undefined }), /gas is required/);
  assertKeymeshError(
    () => parseTransactionRequest({ chainId: 1, nonce: 0, gas: 21000, to: TO }),
    /needs gasPrice/,
  );
  assertKeymeshError(tx({ maxPriorityFeePerGas: undefined }), /maxPriorityFeePerGas is required/);
  assertKeymeshError(
    tx({ type: '0x0', maxFeePerGas: undefined, maxPriorityFeePerGas: undefined }),
    /gasPrice is required/,
  );
});

test('transaction: numbers', () => {
  for (const bad of [
    '-1',
    '1.5',
    '1e3',
    ' 1',
    '0x',
    '0xg',
    '',
    'abc',
    '01',
    1.5,
    -1,
    2 ** 53,
    true,
    {},
    [],
  ]) {
    assertKeymeshError(tx({ value: bad }), /transaction\.value/);
  }
  assertKeymeshError(tx({ value: '0x1' + '0'.repeat(64) }), /transaction\.value/);
  assertKeymeshError(tx({ value: (2n ** 256n).toString() }), /above 2\^256 - 1/);
  assertKeymeshError(tx({ gas: (2n ** 64n).toString() }), /gas is above 2\^64 - 1/);
  assertKeymeshError(tx({ nonce: '9007199254740992' }), /nonce is above 2\^53 - 1/);
  assertKeymeshError(tx({ chainId: '0x20000000000000' }), /chainId is above/);
  assertKeymeshError(tx({ maxPriorityFeePerGas: '101' }), /must not be above transaction.maxFeePerGas/);
  assertKeymeshError(tx({ gas: 1, gasLimit: 2 }), /gas and transaction.gasLimit disagree/);
  assert.equal(parseTransactionRequest({ ...BASE, value: '0x00ff' }).tx.value, 255n);
});

test('transaction: addresses, data, types and unknown fields', () => {
  assertKeymeshError(
    tx({ to: '0x8ba1f109551bD432803012645Ac136ddd64DBA73' }),
    /to has an invalid EIP-55 checksum/,
  );
  assertKeymeshError(tx({ to: '0x8ba1f109551bd432803012645ac136ddd64dba7' }), /to must be a 20-byte/);
  assertKeymeshError(tx({ to: 'vitalik.eth' }), /to must be a 20-byte/);
  assertKeymeshError(tx({ from: '0x12' }), /from must be/);
  assert.equal(parseTransactionRequest({ ...BASE, to: TO.toUpperCase().replace('0X', '0x') }).tx.to, TO);
  assertKeymeshError(tx({ data: '0x123' }), /data must be 0x-prefixed hex with an even number/);
  assertKeymeshError(tx({ data: 'deadbeef' }), /data must be 0x-prefixed hex/);
  assertKeymeshError(tx({ data: '0x' + '00'.repeat(128 * 1024 + 1) }), /longer than 131072 bytes/);
  assertKeymeshError(tx({ data: '0x01', input: '0x02' }), /data and transaction.input disagree/);
  assertKeymeshError(tx({ type: '0x5' }), /transaction.type must be/);
  assertKeymeshError(tx({ type: 'eip9999' }), /transaction.type must be/);
  assertKeymeshError(tx({ type: '0x1' }), /maxFeePerGas is not a field of EIP-2930/);
  assertKeymeshError(tx({ gasPrice: '1' }), /gasPrice is not a field of EIP-1559/);
  assertKeymeshError(tx({ hash: '0x00' }), /unknown field "hash"/);
  assertKeymeshError(
    tx({ blobVersionedHashes: ['0x02' + '00'.repeat(31)], maxFeePerBlobGas: 1 }),
    /must start with version byte 0x01/,
  );
  assertKeymeshError(
    tx({ blobVersionedHashes: ['0x01' + '00'.repeat(31)] }),
    /maxFeePerBlobGas is required for EIP-4844/,
  );
  assertKeymeshError(tx({ type: '0x3', maxFeePerBlobGas: 1, blobVersionedHashes: [] }), /non-empty array/);
  assertKeymeshError(
    tx({ type: '0x3', to: undefined, maxFeePerBlobGas: 1, blobVersionedHashes: ['0x01' + '00'.repeat(31)] }),
    /to is required/,
  );
  assertKeymeshError(
    tx({ authorizationList: [{ chainId: 1, address: TO, nonce: 0, yParity: 2, r: 1, s: 1 }] }),
    /yParity must be 0 or 1/,
  );
  assertKeymeshError(
    tx({ authorizationList: [{ chainId: 1, nonce: 0, yParity: 0, r: 1, s: 1 }] }),
    /address must be/,
  );
  assertKeymeshError(() => parseTransactionRequest(null), /transaction must be an object/);
  assertKeymeshError(() => parseTransactionRequest([BASE]), /transaction must be an object/);
});

test('transaction: access lists are shaped and bounded', () => {
  const al = (v: unknown) => tx({ type: '0x2', accessList: v });
  assertKeymeshError(al({}), /accessList must be an array/);
  assertKeymeshError(al([{ address: TO }, 1]), /accessList\[1\] must be an object/);
  assertKeymeshError(
    al([{ address: TO, storageKeys: ['0x01'] }]),
    /storageKeys\[0\] must be exactly 32 bytes/,
  );
  assertKeymeshError(al([{ address: TO, storageKeys: [], extra: 1 }]), /unknown field "extra"/);
  assertKeymeshError(al(Array(1001).fill({ address: TO, storageKeys: [] })), /more than 1000 entries/);
  const k = '0x' + '00'.repeat(32);
  assertKeymeshError(
    al(Array(11).fill({ address: TO, storageKeys: Array(1000).fill(k) })),
    /more than 10000 storage keys/,
  );
});

test('addresses: EIP-55 from a compressed key, strict parsing', () => {
  // The EIP-155 example key 0x4646…46 belongs to 0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F.
  const pub = secp256k1.getPublicKey(new Uint8Array(32).fill(0x46), true);
  assert.equal(ethereumAddress(pub), '0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F');
  assertKeymeshError(() => ethereumAddress(new Uint8Array(33)), /not a point/);
  assertKeymeshError(() => ethereumAddress(new Uint8Array(32)), /33-byte/);
  assertKeymeshError(() => parseAddress('to', 123), /to must be a 20-byte/);
});

test('signatures from the enclave are checked before use (ENCLAVE_FAILURE, not a 400)', () => {
  const key = new Uint8Array(32).fill(7);
  const addr = ethereumAddress(secp256k1.getPublicKey(key, true));
  const { tx: t } = parseTransactionRequest(BASE);
  const digest = transactionSigningHash(t);
  const good = ecdsaSign(digest, key);
  assert.equal(checkSignature(digest, good, addr).signer, addr);
  const f = (s: { signature: Uint8Array; recoveryId?: number }, expected?: string) =>
    assertKeymeshError(() => assembleSignedTransaction(t, s, expected), undefined, 'ENCLAVE_FAILURE');
  f({ signature: good.signature.slice(1), recoveryId: good.recoveryId });
  f({ signature: good.signature });
  f({ signature: good.signature, recoveryId: 2 });
  f({ signature: new Uint8Array(64), recoveryId: 0 });
  f(good, '0x0000000000000000000000000000000000000001');
  // High s: (r, n - s) verifies but is refused (EIP-2).
  const n = secp256k1.Point.CURVE().n;
  const s = BigInt('0x' + Buffer.from(good.signature.slice(32)).toString('hex'));
  const high = Uint8Array.from([
    ...good.signature.slice(0, 32),
    ...Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex'),
  ]);
  f({ signature: high, recoveryId: good.recoveryId! ^ 1 });
  assertKeymeshError(() => toRsvSignature(new Uint8Array(31), good), undefined, 'ENCLAVE_FAILURE');
});

test('messages: bounds and encodings', () => {
  assert.deepEqual(parsePersonalMessage('0xff00'), Uint8Array.of(0xff, 0));
  assert.deepEqual(parsePersonalMessage('hi'), Uint8Array.of(0x68, 0x69));
  assertKeymeshError(() => parsePersonalMessage(5), /message must be a string/);
  assertKeymeshError(() => parsePersonalMessage('a'.repeat(128 * 1024 + 1)), /longer than/);
  assertKeymeshError(() => parsePersonalMessage('\ud800'), /Unicode/);
});

// The EIP-712 Mail example, its domain without verifyingContract.
const MAIL = {
  types: MAIL_TYPES,
  primaryType: 'Mail',
  domain: { name: 'Ether Mail', version: '1', chainId: 1 },
  message: EIP712_MAIL.message,
};
const td = (over: Record<string, unknown>) => () => parseTypedData({ ...MAIL, ...over });
const withMessage = (m: Record<string, unknown>) => td({ message: { ...MAIL.message, ...m } });

test('typed data: structure, unknown types and values', () => {
  assertKeymeshError(() => parseTypedData('{not json'), /not JSON/);
  assertKeymeshError(() => parseTypedData(7), /must be an object/);
  assertKeymeshError(td({ extra: 1 }), /unknown field "extra"/);
  assertKeymeshError(td({ primaryType: 'Letter' }), /primaryType must name one of/);
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'from', type: 'Human' }] } }),
    /unknown type "Human"/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: 'uint7' }] } }),
    /unknown type "uint7"/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: 'bytes33' }] } }),
    /unknown type "bytes33"/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: 'uint' }] } }),
    /unknown type "uint"/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: 'string[0]' }] } }),
    /fixed array length/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: 'string[' }] } }),
    /not a valid EIP-712 type/,
  );
  assertKeymeshError(td({ types: { ...MAIL_TYPES, uint256: [] } }), /redefines the atomic type/);
  assertKeymeshError(td({ types: { ...MAIL_TYPES, 'Bad Name': [] } }), /type name that is not an identifier/);
  // A name that is not an identifier is described, never quoted: the message carries no text of
  // the caller's beyond plain identifiers.
  const marker = '<script>x</script>';
  for (const input of [
    { types: { ...MAIL_TYPES, [marker]: [] } },
    { types: { ...MAIL_TYPES, Mail: [{ name: 'x', type: marker }] } },
    { [marker]: 1 },
    { domain: { name: 'Ether Mail', [marker]: 1 } },
  ]) {
    try {
      td(input)();
      assert.fail('refused');
    } catch (e) {
      assert.ok(!(e as Error).message.includes('script'), (e as Error).message);
    }
  }
  assertKeymeshError(
    td({
      types: {
        ...MAIL_TYPES,
        Mail: [
          { name: 'a', type: 'string' },
          { name: 'a', type: 'string' },
        ],
      },
    }),
    /twice/,
  );
  assertKeymeshError(
    td({ types: { ...MAIL_TYPES, Mail: [{ name: '__proto__', type: 'string' }] } }),
    /identifier/,
  );
  assertKeymeshError(
    td({ domain: { name: 'x', foo: 1 } }),
    /domain has the field "foo", which is not an EIP-712 domain field/,
  );
  assertKeymeshError(td({ domain: { chainId: -1 } }), /domain.chainId/);
  assertKeymeshError(withMessage({ contents: 5 }), /message.contents must be a string/);
  assertKeymeshError(
    withMessage({ extra: 'x' }),
    /message has the field "extra", which Mail does not declare/,
  );
  assertKeymeshError(withMessage({ from: { name: 'Cow' } }), /message.from.wallet is missing/);
  assertKeymeshError(
    withMessage({ from: { name: 'Cow', wallet: '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD827' } }),
    /checksum/,
  );
  const typed = (type: string, v: unknown) =>
    td({ types: { X: [{ name: 'v', type }] }, primaryType: 'X', message: { v } });
  assertKeymeshError(typed('uint8', 256), /uint8/);
  assertKeymeshError(typed('uint8', -1), /non-negative/);
  assertKeymeshError(typed('int8', 128), /does not fit in int8/);
  assertKeymeshError(typed('int8', '-129'), /does not fit in int8/);
  assertKeymeshError(typed('bool', 'true'), /true or false/);
  assertKeymeshError(typed('bytes4', '0x001122'), /exactly 4 bytes/);
  assertKeymeshError(typed('bytes', 'hello'), /0x-prefixed hex/);
  assertKeymeshError(typed('uint8[2]', [1]), /exactly 2 elements/);
  assertKeymeshError(typed('uint8[]', 'nope'), /must be an array/);
  assertKeymeshError(typed('X', {}), /nests deeper than 16|missing/);
});

test('typed data: bounds (depth, arrays, values, payload, JSON size)', () => {
  // A recursive type: values can only be finite, and are bounded in depth.
  let deep: Record<string, unknown> = { v: [] };
  for (let i = 0; i < 20; i++) deep = { v: [deep] };
  assertKeymeshError(
    () =>
      parseTypedData({
        types: { N: [{ name: 'v', type: 'N[]' }] },
        primaryType: 'N',
        domain: {},
        message: deep,
      }),
    /nests deeper/,
  );
  const arr = (type: string, v: unknown) => () =>
    parseTypedData({ types: { X: [{ name: 'v', type }] }, primaryType: 'X', domain: {}, message: { v } });
  assertKeymeshError(arr('uint8[]', Array(1025).fill(1)), /more than 1024 elements/);
  assertKeymeshError(arr('uint8[][]', Array(20).fill(Array(1000).fill(1))), /more than 10000 values/);
  assertKeymeshError(arr('string[]', Array(3).fill('x'.repeat(50_000))), /exceed 131072 bytes/);
  assertKeymeshError(() => parseTypedData(' '.repeat(256 * 1024 + 1)), /longer than/);
  assertKeymeshError(arr('uint8[1][1][1][1][1][1][1][1][1]', 1), /more than 8 array dimensions/);
  const many = Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`T${i}`, []]));
  assertKeymeshError(
    () => parseTypedData({ types: many, primaryType: 'T0', domain: {}, message: {} }),
    /more than 128 types/,
  );
});

test('fuzz: garbage into every parser gives only KeymeshErrors', () => {
  const rnd = prng(20240611);
  const pick = <T>(xs: T[]): T => xs[rnd(1)[0]! % xs.length]!;
  const atoms: unknown[] = [
    null,
    undefined,
    true,
    0,
    -1,
    1.5,
    2 ** 60,
    '',
    '0x',
    '0x0',
    '0xzz',
    '-5',
    '1e9',
    '\u0000',
    '\ud800',
    '__proto__',
    'constructor',
    [],
    {},
    TO,
    '0x' + 'ff'.repeat(40),
  ];
  const randomValue = (depth: number): unknown => {
    const r = rnd(1)[0]! % 10;
    if (depth > 3 || r < 5) return r < 3 ? Buffer.from(rnd(rnd(1)[0]! % 24)).toString('latin1') : pick(atoms);
    if (r < 7) return Array.from({ length: rnd(1)[0]! % 4 }, () => randomValue(depth + 1));
    const keys = [
      'type',
      'chainId',
      'nonce',
      'to',
      'gas',
      'value',
      'data',
      'accessList',
      'types',
      'primaryType',
      'domain',
      'message',
      'name',
      'address',
      'storageKeys',
      'Mail',
      'x',
    ];
    return Object.fromEntries(
      Array.from({ length: rnd(1)[0]! % 6 }, () => [pick(keys), randomValue(depth + 1)]),
    );
  };
  const parsers: ((v: unknown) => unknown)[] = [
    parseTransactionRequest,
    (v) => parseTransactionRequest({ ...BASE, ...(typeof v === 'object' && v !== null ? v : { data: v }) }),
    parseTypedData,
    (v) => parseTypedData({ ...MAIL, message: v }),
    (v) => parseTypedData({ ...MAIL, types: v }),
    (v) => parseTypedData(JSON.stringify(v) ?? 'null'),
    parsePersonalMessage,
    (v) => parseAddress('a', v),
  ];
  for (let i = 0; i < 4000; i++) {
    const v = randomValue(0);
    for (const p of parsers) {
      try {
        p(v);
      } catch (e) {
        assert.ok(
          e instanceof KeymeshError,
          `${p.name || 'parser'}(${JSON.stringify(v)}) threw ${String(e)}`,
        );
        assert.equal(e.code, 'INVALID_REQUEST');
      }
    }
  }
});
