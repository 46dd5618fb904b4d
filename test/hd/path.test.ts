// The derivation-path parser: BIP32/BIP44 notation, strictly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkIndices,
  formatPath,
  HARDENED_OFFSET,
  isFullyHardened,
  MAX_PATH_DEPTH,
  parsePath,
} from '../../src/hd/path.js';
import { assertKeymeshError, prng } from '../chains/_assert.js';

const H = HARDENED_OFFSET;

test('path: well-formed paths', () => {
  assert.deepEqual(parsePath('m'), []);
  assert.deepEqual(parsePath("m/44'/60'/0'/0/0"), [44 + H, 60 + H, H, 0, 0]);
  assert.deepEqual(parsePath('m/44h/0H/0h/1/2'), [44 + H, H, H, 1, 2]);
  assert.deepEqual(parsePath("m/2147483647'/2147483647"), [0xffffffff, 2147483647]);
  assert.deepEqual(parsePath('m/' + Array(MAX_PATH_DEPTH).fill('1').join('/')).length, MAX_PATH_DEPTH);
  assert.equal(formatPath([84 + H, H, H, 0, 5]), "m/84'/0'/0'/0/5");
  assert.equal(formatPath([]), 'm');
  assert.equal(formatPath(parsePath('m/1h/2')), "m/1'/2");
  assert.equal(isFullyHardened(parsePath("m/44'/501'")), true);
  assert.equal(isFullyHardened(parsePath("m/44'/501")), false);
});

test('path: malformed paths are INVALID_REQUEST naming the problem', () => {
  const cases: [unknown, RegExp][] = [
    [undefined, /must be a string/],
    [44, /must be a string/],
    ['', /must start with m\//],
    ['M/0', /must start with m\//],
    ['/0', /must start with m\//],
    ["44'/0", /must start with m\//],
    ['m/', /empty segment at level 1/],
    ['m//0', /empty segment at level 1/],
    ['m/0//1', /empty segment at level 2/],
    ['m/0/', /empty segment at level 2/],
    ['m/-1', /segment 1 must be a decimal/],
    ['m/+1', /segment 1/],
    ['m/01', /segment 1/],
    ['m/1.5', /segment 1/],
    ['m/ 1', /segment 1/],
    ['m/1 ', /segment 1/],
    ["m/1''", /segment 1/],
    ['m/1x', /segment 1/],
    ['m/0x10', /segment 1/],
    ['m/１', /segment 1/],
    ['m/2147483648', /below 2\^31/],
    ["m/2147483648'", /below 2\^31/],
    ['m/99999999999', /segment 1/],
    [
      'm/' +
        Array(MAX_PATH_DEPTH + 1)
          .fill('1')
          .join('/'),
      /deeper than 32/,
    ],
    ['m/' + '1/'.repeat(500), /longer than/],
  ];
  for (const [input, re] of cases) assertKeymeshError(() => parsePath(input), re);
  assertKeymeshError(() => parsePath('m/x', 'derivationPath'), /^derivationPath /);
  assertKeymeshError(() => checkIndices([1.5]), /out of range/);
  assertKeymeshError(() => checkIndices([-1]), /out of range/);
  assertKeymeshError(() => checkIndices(Array(33).fill(0)), /deeper/);
});

test('path: random strings only ever give INVALID_REQUEST', () => {
  const rnd = prng(7);
  const alphabet = "m/0123456789'hH x-";
  for (let i = 0; i < 3000; i++) {
    const bytes = rnd(1 + (i % 40));
    const s = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
    try {
      const out = parsePath(s);
      assert.equal(formatPath(out), formatPath(parsePath(formatPath(out))));
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'INVALID_REQUEST', `${JSON.stringify(s)}: ${String(e)}`);
    }
  }
});
