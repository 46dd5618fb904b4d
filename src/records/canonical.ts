// Canonical JSON of a store record, the bytes its MAC covers (enclave/crypto/record-mac.ts). The
// JSON Canonicalization Scheme (RFC 8785) restricted to the values records hold: objects with
// members sorted by the UTF-16 code units of their names (§3.2.3), no whitespace, strings as
// ECMAScript's JSON.stringify writes them (§3.2.2.2), and numbers that are safe integers only (so
// their ECMAScript form, §3.2.2.3, is plain digits). Anything else (a float, NaN, a lone
// surrogate, a non-plain object, nesting deeper than MAX_DEPTH) is refused, not normalised: two
// different records never give the same bytes. Members whose value is undefined are left out, as
// JSON.stringify leaves them out of what is stored.
import { KeymeshError } from '../errors.js';

const MAX_DEPTH = 16;
const LONE_SURROGATE = /\p{Surrogate}/u;

function refuse(why: string): never {
  throw new KeymeshError('RECORD_INTEGRITY', `the record cannot be canonicalised: ${why}`);
}

function str(s: string): string {
  if (LONE_SURROGATE.test(s)) refuse('a string holds a lone surrogate');
  return JSON.stringify(s);
}

function write(v: unknown, depth: number, out: string[]): void {
  if (depth > MAX_DEPTH) refuse('nested too deeply');
  if (v === null) out.push('null');
  else if (typeof v === 'boolean') out.push(v ? 'true' : 'false');
  else if (typeof v === 'string') out.push(str(v));
  else if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) refuse('a number is not a safe integer');
    out.push(Object.is(v, -0) ? '0' : String(v));
  } else if (Array.isArray(v)) {
    out.push('[');
    v.forEach((x, i) => {
      if (i > 0) out.push(',');
      write(x, depth + 1, out);
    });
    out.push(']');
  } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const o = v as Record<string, unknown>;
    const names = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    out.push('{');
    names.forEach((k, i) => {
      if (i > 0) out.push(',');
      out.push(str(k), ':');
      write(o[k], depth + 1, out);
    });
    out.push('}');
  } else refuse(`a ${typeof v} is not a JSON value`);
}

/** The canonical JSON text of `v`. */
export function canonicalJson(v: unknown): string {
  const out: string[] = [];
  write(v, 0, out);
  return out.join('');
}

/** The canonical JSON of `v` as UTF-8 bytes. */
export function canonicalBytes(v: unknown): Uint8Array {
  return new TextEncoder().encode(canonicalJson(v));
}
