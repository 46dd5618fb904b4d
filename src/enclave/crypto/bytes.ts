// Byte helpers for the enclave's crypto: input checks that name the field and never echo values,
// constant-time comparison, and fixed encodings. Kept separate from util/bytes.ts, which speaks
// the wire's hex; here everything is raw bytes already.
import { KeymeshError } from '../../errors.js';

/** A Uint8Array of exactly `len` bytes (or any length when `len` is undefined), else INVALID_REQUEST. */
export function checkBytes(field: string, value: unknown, len?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KeymeshError('INVALID_REQUEST', `${field} must be bytes`);
  if (len !== undefined && value.length !== len)
    throw new KeymeshError('INVALID_REQUEST', `${field} must be exactly ${len} bytes`);
  return value;
}

/** Equality without an early exit, for anything that may be secret or a MAC. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  // A fresh ArrayBuffer, never Buffer's shared pool: the result may hold secrets and be wiped.
  const out = new Uint8Array(len);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** u32be(length) ‖ bytes: an unambiguous concatenation of variable-length fields. */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  return concatBytes(u32be(bytes.length), bytes);
}

/**
 * Big-endian comparison of two equal-length byte strings in time independent of their contents:
 * -1, 0 or 1. Used to range-check secret scalars without converting them to bigint.
 */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error('compareBytes: length mismatch');
  let gt = 0;
  let lt = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    const undecided = 1 ^ (gt | lt);
    // (y - x) >>> 31 is 1 exactly when x > y, for bytes; no data-dependent branch.
    gt |= undecided & ((y - x) >>> 31);
    lt |= undecided & ((x - y) >>> 31);
  }
  return gt - lt;
}

export function isAllZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** A view of `b` as a Buffer sharing its memory (no copy, so wiping one wipes both). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Copy into memory this module owns, e.g. out of a Buffer that may sit in Node's shared pool. */
export function ownedCopy(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  return out;
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error('hexToBytes: not hex');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** floor(x / 2) of a big-endian number: one right shift across the bytes (public constants only). */
export function halfOf(x: Uint8Array): Uint8Array {
  const out = new Uint8Array(x.length);
  let carry = 0;
  for (let i = 0; i < x.length; i++) {
    out[i] = (x[i]! >> 1) | carry;
    carry = (x[i]! & 1) << 7;
  }
  return out;
}
