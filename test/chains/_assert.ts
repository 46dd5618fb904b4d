// Shared assertions for the hd and chains tests.
import assert from 'node:assert/strict';
import { KeymeshError, type ErrorCode } from '../../src/errors.js';

/** `fn` must throw a KeymeshError with `code` (INVALID_REQUEST by default) whose message matches `re`. */
export function assertKeymeshError(
  fn: () => unknown,
  re?: RegExp,
  code: ErrorCode = 'INVALID_REQUEST',
): KeymeshError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, 'expected a KeymeshError, nothing was thrown');
  assert.ok(caught instanceof KeymeshError, `expected a KeymeshError, got ${String(caught)}`);
  assert.equal(caught.code, code, `wrong code for: ${caught.message}`);
  if (re) assert.match(caught.message, re);
  return caught;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex'));

/** Deterministic pseudo-random bytes (xorshift32) so fuzz failures reproduce. */
export function prng(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}
