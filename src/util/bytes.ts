// Strict conversions between the wire's 0x-hex strings and bytes. Input is hostile: lengths are
// checked before decoding, and every failure is an INVALID_REQUEST naming the field.
import { invalid } from '../errors.js';

const HEX_RE = /^0x([0-9a-fA-F]{2})*$/;

/** Parse `0x`-prefixed hex. `len` pins an exact byte length; `max` caps it. */
export function parseHex(
  field: string,
  value: unknown,
  opts: { len?: number; max?: number } = {},
): Uint8Array {
  if (typeof value !== 'string') throw invalid(`${field} must be a 0x-prefixed hex string`);
  const bytes = (value.length - 2) / 2;
  if (opts.max !== undefined && bytes > opts.max) throw invalid(`${field} is longer than ${opts.max} bytes`);
  if (!HEX_RE.test(value)) throw invalid(`${field} must be 0x-prefixed hex with an even number of digits`);
  if (opts.len !== undefined && bytes !== opts.len)
    throw invalid(`${field} must be exactly ${opts.len} bytes`);
  return new Uint8Array(Buffer.from(value.slice(2), 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return '0x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

export function fromBase64(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'base64'));
}

/** Overwrite a buffer holding secret or sensitive bytes. */
export function wipe(...bufs: (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}
