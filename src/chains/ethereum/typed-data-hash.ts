// The EIP-712 digest of typed data that typed-data.ts has checked and normalised, with the work
// bounded per request. EIP-712: hashStruct(s) = keccak256(typeHash(s) ‖ encodeData(s)), where
// typeHash is keccak256(encodeType) and encodeType names the struct and, sorted, every struct it
// references, however deeply. Hashed naively (viem's hashTypedData, eth-sig-util), encodeType is
// rebuilt and rehashed for every struct instance: types that all reference each other make each
// encoding ~160 KB, and 2,000 small instances then cost tens of seconds on the event loop.
//
// Here each type's encoding and hash are computed once per request (memoised), and two budgets
// bound the rest: the number of encoded fields (every struct field and array element hashed, over
// all instances) and the bytes fed to keccak256 (type encodings, struct and array encodings,
// strings and bytes). Past either, INVALID_REQUEST, before anything is audited or signed.
// Checked against viem's hashTypedData in test/chains/ethereum-vectors.test.ts and
// test/chains/typed-data-bounds.test.ts.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { invalid } from '../../errors.js';
import type { ParsedTypedData, TypedDataField } from './typed-data.js';

/** Every struct field and array element encoded, over all instances. */
export const MAX_ENCODED_FIELDS = 10_000;
/**
 * Bytes hashed in all, type encodings included. A 1 MiB request body of real typed data (up to
 * 128 KiB of strings and bytes and 10,000 fields of 32-byte words) stays well inside it; hashing
 * it costs tens of milliseconds of pure-JS keccak (on the chain-work pool, not the HTTP thread).
 */
export const MAX_HASHED_BYTES = 1024 * 1024;

const enc = new TextEncoder();
const BASE_RE = /(\[[0-9]*\])+$/;

const tooMuch = () =>
  invalid(
    `typedData needs more than ${MAX_HASHED_BYTES} bytes of hashing or ${MAX_ENCODED_FIELDS} encoded fields ` +
      '(its struct types reference each other too widely, or its values are too many or too large)',
  );

class Encoder {
  private readonly typeHashes = new Map<string, Uint8Array>();
  private hashed = 0;
  private fields = 0;

  constructor(private readonly types: Record<string, TypedDataField[]>) {}

  private keccak(data: Uint8Array): Uint8Array {
    this.charge(data.length);
    return keccak_256(data);
  }

  private charge(bytes: number): void {
    this.hashed += bytes;
    if (this.hashed > MAX_HASHED_BYTES) throw tooMuch();
  }

  private field(): void {
    if (++this.fields > MAX_ENCODED_FIELDS) throw tooMuch();
  }

  /** keccak256(encodeType(name)), once per type per request. */
  typeHash(name: string): Uint8Array {
    let h = this.typeHashes.get(name);
    if (h === undefined) {
      h = this.keccak(enc.encode(this.encodeType(name)));
      this.typeHashes.set(name, h);
    }
    return h;
  }

  /** EIP-712 encodeType: the struct itself, then every struct it references, sorted by name. */
  private encodeType(primary: string): string {
    const deps = new Set<string>();
    const stack = [primary];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (deps.has(t)) continue;
      deps.add(t);
      const fields = this.types[t]!;
      // The walk is charged as it goes (a byte a field at least), so that a type set whose every
      // type references every other is refused before its encoding is built.
      this.charge(fields.length);
      for (const f of fields) {
        const base = f.type.replace(BASE_RE, '');
        if (Object.hasOwn(this.types, base) && !deps.has(base)) stack.push(base);
      }
    }
    deps.delete(primary);
    const order = [primary, ...[...deps].sort()];
    return order.map((t) => `${t}(${this.types[t]!.map((f) => `${f.type} ${f.name}`).join(',')})`).join('');
  }

  hashStruct(name: string, value: Record<string, unknown>): Uint8Array {
    const fields = this.types[name]!;
    const out = new Uint8Array(32 * (1 + fields.length));
    out.set(this.typeHash(name), 0);
    fields.forEach((f, i) => out.set(this.encodeField(f.type, value[f.name]), 32 * (i + 1)));
    return this.keccak(out);
  }

  /** One 32-byte word of encodeData for a value of `type` (normalised by typed-data.ts). */
  private encodeField(type: string, value: unknown): Uint8Array {
    this.field();
    if (type.endsWith(']')) {
      const inner = type.slice(0, type.lastIndexOf('['));
      const items = value as unknown[];
      const out = new Uint8Array(32 * items.length);
      items.forEach((v, i) => out.set(this.encodeField(inner, v), 32 * i));
      return this.keccak(out);
    }
    if (Object.hasOwn(this.types, type)) return this.hashStruct(type, value as Record<string, unknown>);
    if (type === 'string') return this.keccak(enc.encode(value as string));
    if (type === 'bytes') return this.keccak(hexBytes(value as string));
    const word = new Uint8Array(32);
    if (type === 'bool') word[31] = value === true ? 1 : 0;
    else if (type === 'address') word.set(hexBytes(value as string), 12);
    else if (type.startsWith('bytes'))
      word.set(hexBytes(value as string), 0); // bytesN: left-aligned
    else {
      // uintN / intN as a 256-bit two's complement big-endian word.
      let n = BigInt.asUintN(256, value as bigint);
      for (let i = 31; i >= 0 && n > 0n; i--, n >>= 8n) word[i] = Number(n & 0xffn);
    }
    return word;
  }
}

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex.slice(2), 'hex'));
}

/** The 32-byte EIP-712 digest; INVALID_REQUEST past MAX_HASHED_BYTES or MAX_ENCODED_FIELDS. */
export function boundedTypedDataHash(td: ParsedTypedData): Uint8Array {
  const e = new Encoder(td.types);
  const parts = new Uint8Array(66);
  parts[0] = 0x19;
  parts[1] = 0x01;
  parts.set(e.hashStruct('EIP712Domain', td.domain), 2);
  if (td.primaryType === 'EIP712Domain') return keccak_256(parts.subarray(0, 34));
  parts.set(e.hashStruct(td.primaryType, td.message), 34);
  return keccak_256(parts);
}
