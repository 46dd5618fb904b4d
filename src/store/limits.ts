// Input bounds and checks shared by every Store implementation, so SQLite and etcd refuse exactly
// the same requests (the conformance suite relies on it). Also the byte-order helpers: both
// stores order keys by their UTF-8 bytes (etcd's order), not by JavaScript's UTF-16 order.
import { KeymeshError, invalid } from '../errors.js';
import type { Compare, ListOptions, Op } from './store.js';

export const MAX_KEY_BYTES = 1024;
export const MAX_VALUE_BYTES = 4 * 1024 * 1024;
/** Ceiling and default for `list`; a larger `limit` is refused rather than silently cut, because
 * callers treat a short page as the end of the listing. */
export const MAX_LIST_LIMIT = 10_000;
/** Keys plus values in one `list` answer. Beyond it the call fails (INVALID_REQUEST) rather than
 * return a short page, which callers would take for the end of the listing. */
export const MAX_LIST_BYTES = 64 * 1024 * 1024;
/** etcd's default --max-txn-ops; one bound for both stores. */
export const MAX_TXN_COMPARES = 128;
export const MAX_TXN_OPS = 128;
/** Sum of key and value bytes in one txn. etcd must accept requests this large
 * (--max-request-bytes ≥ 9 MiB; test/helpers/etcd.ts uses 10 MiB). */
export const MAX_TXN_BYTES = 8 * 1024 * 1024;

// A lone surrogate would be silently replaced by U+FFFD when encoded, changing the key.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkString(what: string, s: unknown, maxBytes: number): number {
  if (typeof s !== 'string') throw invalid(`${what} must be a string`);
  // Cheap reject before encoding: a UTF-16 code unit is at most 3 UTF-8 bytes, at least 1.
  if (s.length > maxBytes) throw invalid(`${what} is longer than ${maxBytes} bytes`);
  if (LONE_SURROGATE.test(s)) throw invalid(`${what} is not well-formed Unicode`);
  const n = Buffer.byteLength(s, 'utf8');
  if (n > maxBytes) throw invalid(`${what} is longer than ${maxBytes} bytes`);
  return n;
}

export function checkKey(key: unknown, what = 'key'): number {
  const n = checkString(what, key, MAX_KEY_BYTES);
  if (n === 0) throw invalid(`${what} must not be empty`);
  return n;
}

/** A list/watch prefix: like a key, but may be empty (everything). */
export function checkPrefix(prefix: unknown): void {
  checkString('prefix', prefix, MAX_KEY_BYTES);
}

export function checkValue(value: unknown): number {
  return checkString('value', value, MAX_VALUE_BYTES);
}

/** Validates list options; returns the effective limit. */
export function checkList(prefix: unknown, opts: ListOptions | undefined): number {
  checkPrefix(prefix);
  if (opts?.after !== undefined) checkString('after', opts.after, MAX_KEY_BYTES);
  const limit = opts?.limit ?? MAX_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw invalid(`limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`);
  return limit;
}

/** Validates a txn the way etcd would judge it, before either store touches anything. */
export function checkTxn(compares: unknown, ops: unknown): void {
  if (!Array.isArray(compares) || !Array.isArray(ops)) throw invalid('compares and ops must be arrays');
  if (compares.length > MAX_TXN_COMPARES) throw invalid(`a txn takes at most ${MAX_TXN_COMPARES} compares`);
  if (ops.length > MAX_TXN_OPS) throw invalid(`a txn takes at most ${MAX_TXN_OPS} ops`);
  let bytes = 0;
  for (const c of compares as Compare[]) {
    if (typeof c !== 'object' || c === null) throw invalid('a compare must be an object');
    bytes += checkKey(c.key, 'compare key');
    if (!Number.isSafeInteger(c.modRevision) || c.modRevision < 0)
      throw invalid('compare modRevision must be a whole number ≥ 0');
  }
  // etcd refuses a txn that writes one key twice ("duplicate key given in txn request").
  const seen = new Set<string>();
  for (const op of ops as Op[]) {
    if (typeof op !== 'object' || op === null) throw invalid('an op must be an object');
    if (op.type !== 'put' && op.type !== 'delete') throw invalid('op type must be put or delete');
    bytes += checkKey(op.key, 'op key');
    if (op.type === 'put') bytes += checkValue(op.value);
    if (seen.has(op.key)) throw invalid('a txn may write each key at most once');
    seen.add(op.key);
  }
  if (bytes > MAX_TXN_BYTES)
    throw invalid(`a txn may carry at most ${MAX_TXN_BYTES} bytes of keys and values`);
}

/** The smallest byte string greater than every string with this prefix (etcd's prefix range end);
 * undefined when there is none (empty prefix, or all 0xff). */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const b = prefix[i]!;
    if (b < 0xff) {
      const end = Buffer.from(prefix.subarray(0, i + 1));
      end[i] = b + 1;
      return end;
    }
  }
  return undefined;
}

export function closedError(kind: string): KeymeshError {
  return new KeymeshError('UNAVAILABLE', `The ${kind} store is closed.`);
}

export function listTooLarge(): KeymeshError {
  return invalid(`the listing is larger than ${MAX_LIST_BYTES} bytes; ask for fewer entries with limit`);
}
