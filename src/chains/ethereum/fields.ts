// Field-level parsers for Ethereum JSON-RPC input (execution-apis: QUANTITY and DATA encodings),
// shared by transactions, typed data and messages. Inputs are hostile: every length is bounded
// before any conversion, and every failure is INVALID_REQUEST naming the field.
//
// Numbers are accepted as decimal strings ("1000"), 0x-hex strings ("0x3e8", leading zeros
// tolerated) or JSON numbers when they are safe integers (above 2^53 a JSON number has already
// lost precision in the parser, so it cannot be trusted).
import { getAddress, type Address, type Hex } from 'viem';
import { invalid } from '../../errors.js';
import { quoteName } from '../../util/quote.js';

export const MAX_UINT256 = (1n << 256n) - 1n;
export const MAX_UINT64 = (1n << 64n) - 1n;

const DEC_RE = /^(0|[1-9][0-9]*)$/;
const HEX_QTY_RE = /^0x[0-9a-fA-F]+$/;
const HEX_DATA_RE = /^0x([0-9a-fA-F]{2})*$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A non-negative integer no greater than `max`. `what` names the bound in the message. */
export function parseUint(field: string, value: unknown, max: bigint, what: string): bigint {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw invalid(
        `${field} must be a non-negative integer (a JSON number above 2^53 loses precision: send a string)`,
      );
    n = BigInt(value);
  } else if (typeof value === 'string') {
    // 78 decimal digits or 64 hex digits hold any uint256; anything longer is refused unread.
    if (value.length <= 66 && HEX_QTY_RE.test(value)) n = BigInt(value);
    else if (value.length <= 78 && DEC_RE.test(value)) n = BigInt(value);
    else throw invalid(`${field} must be a non-negative integer as a decimal string or 0x-hex`);
  } else if (typeof value === 'bigint') {
    if (value < 0n) throw invalid(`${field} must not be negative`);
    n = value;
  } else {
    throw invalid(`${field} must be a non-negative integer as a decimal string, 0x-hex or a JSON number`);
  }
  if (n > max) throw invalid(`${field} is above ${what}`);
  return n;
}

/** Like parseUint, for values that viem keeps as JS numbers (chain ids, nonces). */
export function parseSafeUint(field: string, value: unknown, min = 0): number {
  const n = parseUint(field, value, BigInt(Number.MAX_SAFE_INTEGER), '2^53 - 1');
  if (n < BigInt(min)) throw invalid(`${field} must be at least ${min}`);
  return Number(n);
}

/** A signed integer in [-2^(bits-1), 2^(bits-1)): decimal (optionally negative), 0x-hex or number. */
export function parseSignedInt(field: string, value: unknown, bits: number): bigint {
  let n: bigint;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value))
      throw invalid(`${field} must be an integer (send large values as strings)`);
    n = BigInt(value);
  } else if (typeof value === 'string' && value.startsWith('-')) {
    const body = value.slice(1);
    if (body.length > 78 || !DEC_RE.test(body) || body === '0')
      throw invalid(`${field} must be an integer as a decimal string or 0x-hex`);
    n = -BigInt(body);
  } else if (typeof value === 'string' || typeof value === 'bigint') {
    n = parseUint(field, value, MAX_UINT256, '2^256 - 1');
  } else {
    throw invalid(`${field} must be an integer as a decimal string, 0x-hex or a JSON number`);
  }
  const limit = 1n << BigInt(bits - 1);
  if (n < -limit || n >= limit) throw invalid(`${field} does not fit in int${bits}`);
  return n;
}

/**
 * 0x-hex bytes, lowercase out. `max` bounds the byte length (checked on the string length before
 * the pattern runs); `len` pins it.
 */
export function parseData(field: string, value: unknown, opts: { max?: number; len?: number } = {}): Hex {
  if (typeof value !== 'string') throw invalid(`${field} must be 0x-prefixed hex`);
  const bytes = (value.length - 2) / 2;
  if (opts.max !== undefined && bytes > opts.max) throw invalid(`${field} is longer than ${opts.max} bytes`);
  if (opts.len !== undefined && value.length !== 2 + 2 * opts.len)
    throw invalid(`${field} must be exactly ${opts.len} bytes of 0x-prefixed hex`);
  if (!HEX_DATA_RE.test(value))
    throw invalid(`${field} must be 0x-prefixed hex with an even number of digits`);
  return value.toLowerCase() as Hex;
}

/**
 * A 20-byte address. Mixed case must be a correct EIP-55 checksum (a typo in a checksummed address
 * is caught rather than signed); all-lowercase or all-uppercase hex carries no checksum. Returns
 * the EIP-55 form.
 */
export function parseAddress(field: string, value: unknown): Address {
  if (typeof value !== 'string' || value.length !== 42 || !ADDRESS_RE.test(value))
    throw invalid(`${field} must be a 20-byte 0x-prefixed hex address`);
  const body = value.slice(2);
  const checksummed = getAddress(value.toLowerCase());
  const mixed = body !== body.toLowerCase() && body !== body.toUpperCase();
  if (mixed && checksummed !== value) throw invalid(`${field} has an invalid EIP-55 checksum`);
  return checksummed;
}

/** Refuse keys outside `allowed`, naming the first unknown one. */
export function checkKeys(field: string, obj: Record<string, unknown>, allowed: ReadonlySet<string>): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.has(k)) throw invalid(`${field} has an unknown field ${quoteName(k)}`);
  }
}
