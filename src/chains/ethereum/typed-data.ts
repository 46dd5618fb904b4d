// EIP-712 typed structured data (the eth_signTypedData_v4 shape: {types, primaryType, domain,
// message}). The digest is keccak256(0x19 ‖ 0x01 ‖ hashStruct(EIP712Domain, domain) ‖
// hashStruct(primaryType, message)), computed with the work bounded in typed-data-hash.ts.
//
// Before anything is hashed the whole structure is checked and normalised here, because what a
// user is asked to approve is only as meaningful as its types: every referenced type must be an
// EIP-712 atomic type (bool, address, string, bytes, bytes1..32, uint8..256, int8..256), a
// declared struct, or an array of those; every struct value must have exactly its declared fields
// (a missing field or an undeclared extra one is refused, rather than hashed as a default or
// silently left out of what is signed); every value must fit its type. Sizes are bounded: type
// and field counts, value nesting depth, array lengths, total values, total string/bytes length;
// the hashing itself is bounded too (bytes hashed, fields encoded: typed-data-hash.ts).
import { invalid } from '../../errors.js';
import { quoteName } from '../../util/quote.js';
import { boundedTypedDataHash } from './typed-data-hash.js';
import { checkKeys, isPlainObject, parseAddress, parseData, parseSignedInt, parseUint } from './fields.js';

export const MAX_TYPED_DATA_JSON = 256 * 1024;
export const MAX_STRUCT_TYPES = 128;
export const MAX_FIELDS_PER_TYPE = 128;
export const MAX_VALUE_DEPTH = 16;
export const MAX_ARRAY_LENGTH = 1024;
export const MAX_VALUES = 10_000;
export const MAX_ARRAY_DIMENSIONS = 8;
/** Sum of all string and bytes values, in bytes. */
export const MAX_PAYLOAD_BYTES = 128 * 1024;

export interface TypedDataField {
  name: string;
  type: string;
}

export interface ParsedTypedData {
  /** Every struct type, EIP712Domain included (declared, or inferred from the domain's fields). */
  types: Record<string, TypedDataField[]>;
  primaryType: string;
  /** Normalised values: integers as bigint, addresses EIP-55, bytes as lowercase 0x-hex. */
  domain: Record<string, unknown>;
  message: Record<string, unknown>;
}

const IDENT_RE = /^(?!__proto__$)[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;
const TYPE_RE = /^(?!__proto__\b)([A-Za-z_$][A-Za-z0-9_$]{0,63})((?:\[[0-9]{0,4}\])*)$/;
const INT_RE = /^(u?)int([0-9]{1,3})$/;
const BYTES_RE = /^bytes([0-9]{1,2})$/;

/** EIP-712 "Definition of domainSeparator": the domain fields, their types, in this order. */
const DOMAIN_FIELDS: TypedDataField[] = [
  { name: 'name', type: 'string' },
  { name: 'version', type: 'string' },
  { name: 'chainId', type: 'uint256' },
  { name: 'verifyingContract', type: 'address' },
  { name: 'salt', type: 'bytes32' },
];

type Atomic =
  | { kind: 'bool' | 'address' | 'string' | 'bytes' }
  | { kind: 'bytesN'; size: number }
  | { kind: 'int'; signed: boolean; bits: number };

function atomic(type: string): Atomic | undefined {
  if (type === 'bool' || type === 'address' || type === 'string' || type === 'bytes') return { kind: type };
  const b = BYTES_RE.exec(type);
  if (b) {
    const size = Number(b[1]);
    return size >= 1 && size <= 32 && String(size) === b[1] ? { kind: 'bytesN', size } : undefined;
  }
  const m = INT_RE.exec(type);
  if (m) {
    const bits = Number(m[2]);
    return bits >= 8 && bits <= 256 && bits % 8 === 0 && String(bits) === m[2]
      ? { kind: 'int', signed: m[1] === '', bits }
      : undefined;
  }
  return undefined;
}

interface ParsedType {
  base: string;
  /** Array dimensions, outermost last as written: "T[2][]" → [2, null]. */
  dims: (number | null)[];
}

// Type strings repeat (every instance of a struct names the same field types): each is parsed
// once per parseTypedData call. Cleared at the start and end of every call.
const parsedTypes = new Map<string, ParsedType>();

function parseTypeString(field: string, type: unknown): ParsedType {
  if (typeof type === 'string') {
    const known = parsedTypes.get(type);
    if (known) return known;
  }
  const parsed = parseTypeStringUncached(field, type);
  parsedTypes.set(type as string, parsed);
  return parsed;
}

function parseTypeStringUncached(field: string, type: unknown): ParsedType {
  if (typeof type !== 'string' || type.length > 128) throw invalid(`${field}.type must be a type name`);
  const m = TYPE_RE.exec(type);
  if (!m) throw invalid(`${field}.type is not a valid EIP-712 type`);
  const dims = [...m[2]!.matchAll(/\[([0-9]*)\]/g)].map((d) => (d[1] === '' ? null : Number(d[1])));
  if (dims.length > MAX_ARRAY_DIMENSIONS)
    throw invalid(`${field}.type has more than ${MAX_ARRAY_DIMENSIONS} array dimensions`);
  for (const d of dims) {
    if (d !== null && (d < 1 || d > MAX_ARRAY_LENGTH))
      throw invalid(`${field}.type has a fixed array length outside 1..${MAX_ARRAY_LENGTH}`);
  }
  return { base: m[1]!, dims };
}

function parseTypes(value: unknown): Record<string, TypedDataField[]> {
  if (!isPlainObject(value)) throw invalid('typedData.types must be an object');
  const names = Object.keys(value);
  if (names.length > MAX_STRUCT_TYPES)
    throw invalid(`typedData.types has more than ${MAX_STRUCT_TYPES} types`);
  const out: Record<string, TypedDataField[]> = Object.create(null) as Record<string, TypedDataField[]>;
  for (const name of names) {
    if (!IDENT_RE.test(name)) throw invalid('typedData.types has a type name that is not an identifier');
    const f = `typedData.types.${name}`;
    if (atomic(name)) throw invalid(`${f} redefines the atomic type ${name}`);
    const fields = value[name];
    if (!Array.isArray(fields)) throw invalid(`${f} must be an array of {name, type}`);
    if (fields.length > MAX_FIELDS_PER_TYPE)
      throw invalid(`${f} has more than ${MAX_FIELDS_PER_TYPE} fields`);
    const seen = new Set<string>();
    out[name] = fields.map((fd: unknown, i) => {
      const ff = `${f}[${i}]`;
      if (!isPlainObject(fd)) throw invalid(`${ff} must be an object {name, type}`);
      checkKeys(ff, fd, new Set(['name', 'type']));
      if (typeof fd.name !== 'string' || !IDENT_RE.test(fd.name))
        throw invalid(`${ff}.name must be an identifier`);
      if (seen.has(fd.name)) throw invalid(`${f} declares the field ${fd.name} twice`);
      seen.add(fd.name);
      parseTypeString(ff, fd.type);
      return { name: fd.name, type: fd.type as string };
    });
  }
  // Every referenced base type must be atomic or declared.
  for (const [name, fields] of Object.entries(out)) {
    for (const fd of fields) {
      const { base } = parseTypeString(`typedData.types.${name}.${fd.name}`, fd.type);
      if (!atomic(base) && !Object.hasOwn(out, base))
        throw invalid(`typedData.types.${name}.${fd.name} has the unknown type "${base}"`);
    }
  }
  return out;
}

class Budget {
  values = 0;
  bytes = 0;
  count(field: string) {
    if (++this.values > MAX_VALUES)
      throw invalid(`typedData has more than ${MAX_VALUES} values (at ${field})`);
  }
  spend(field: string, n: number) {
    this.bytes += n;
    if (this.bytes > MAX_PAYLOAD_BYTES)
      throw invalid(`typedData strings and bytes exceed ${MAX_PAYLOAD_BYTES} bytes (at ${field})`);
  }
}

function normaliseValue(
  types: Record<string, TypedDataField[]>,
  type: string,
  value: unknown,
  field: string,
  depth: number,
  budget: Budget,
): unknown {
  if (depth > MAX_VALUE_DEPTH)
    throw invalid(`typedData nests deeper than ${MAX_VALUE_DEPTH} levels (at ${field})`);
  budget.count(field);
  const { base, dims } = parseTypeString(field, type);
  if (dims.length > 0) {
    const len = dims[dims.length - 1]!;
    const inner = type.slice(0, type.lastIndexOf('['));
    if (!Array.isArray(value)) throw invalid(`${field} must be an array (${type})`);
    if (value.length > MAX_ARRAY_LENGTH) throw invalid(`${field} has more than ${MAX_ARRAY_LENGTH} elements`);
    if (len !== null && value.length !== len)
      throw invalid(`${field} must have exactly ${len} elements (${type})`);
    return value.map((v: unknown, i) => normaliseValue(types, inner, v, `${field}[${i}]`, depth + 1, budget));
  }
  const a = atomic(base);
  if (!a) return normaliseStruct(types, base, value, field, depth + 1, budget);
  switch (a.kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(`${field} must be true or false`);
      return value;
    case 'address':
      return parseAddress(field, value);
    case 'string': {
      if (typeof value !== 'string') throw invalid(`${field} must be a string`);
      if (value.length > MAX_PAYLOAD_BYTES)
        throw invalid(`${field} is longer than ${MAX_PAYLOAD_BYTES} bytes`);
      budget.spend(field, Buffer.byteLength(value, 'utf8'));
      if (/\p{Surrogate}/u.test(value)) throw invalid(`${field} is not well-formed Unicode`);
      return value;
    }
    case 'bytes': {
      if (typeof value === 'string') budget.spend(field, value.length / 2);
      return parseData(field, value, { max: MAX_PAYLOAD_BYTES });
    }
    case 'bytesN':
      return parseData(field, value, { len: a.size });
    case 'int':
      return a.signed
        ? parseSignedInt(field, value, a.bits)
        : parseUint(field, value, (1n << BigInt(a.bits)) - 1n, `the maximum of uint${a.bits}`);
  }
}

function normaliseStruct(
  types: Record<string, TypedDataField[]>,
  name: string,
  value: unknown,
  field: string,
  depth: number,
  budget: Budget,
): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(`${field} must be an object (${name})`);
  const fields = types[name]!;
  const declared = new Set(fields.map((f) => f.name));
  for (const k of Object.keys(value)) {
    if (!declared.has(k) && value[k] !== undefined && value[k] !== null)
      throw invalid(`${field} has the field ${quoteName(k)}, which ${name} does not declare`);
  }
  const out: Record<string, unknown> = {};
  for (const fd of fields) {
    if (!Object.hasOwn(value, fd.name) || value[fd.name] === undefined || value[fd.name] === null)
      throw invalid(`${field}.${fd.name} is missing (${name} declares it as ${fd.type})`);
    out[fd.name] = normaliseValue(types, fd.type, value[fd.name], `${field}.${fd.name}`, depth, budget);
  }
  return out;
}

/**
 * Parse, check and normalise eth_signTypedData_v4 input: an object, or its JSON text (as JSON-RPC
 * clients send it). Anything malformed, unknown or out of bounds → INVALID_REQUEST naming where.
 */
export function parseTypedData(input: unknown): ParsedTypedData {
  parsedTypes.clear();
  try {
    return parseTypedDataUncached(input);
  } finally {
    parsedTypes.clear();
  }
}

function parseTypedDataUncached(input: unknown): ParsedTypedData {
  let value = input;
  if (typeof input === 'string') {
    if (input.length > MAX_TYPED_DATA_JSON)
      throw invalid(`typedData is longer than ${MAX_TYPED_DATA_JSON} characters`);
    try {
      value = JSON.parse(input);
    } catch {
      throw invalid('typedData is a string but not JSON');
    }
  }
  if (!isPlainObject(value))
    throw invalid('typedData must be an object {types, primaryType, domain, message}');
  checkKeys('typedData', value, new Set(['types', 'primaryType', 'domain', 'message']));
  const types = parseTypes(value.types);
  const budget = new Budget();

  const domainIn = value.domain ?? {};
  if (!isPlainObject(domainIn)) throw invalid('typedData.domain must be an object');
  if (!Object.hasOwn(types, 'EIP712Domain')) {
    // Inferred, as viem, ethers and MetaMask do: the standard fields present, in standard order.
    const known = new Set(DOMAIN_FIELDS.map((f) => f.name));
    for (const k of Object.keys(domainIn)) {
      if (!known.has(k))
        throw invalid(
          `typedData.domain has the field ${quoteName(k)}, which is not an EIP-712 domain field; declare it in types.EIP712Domain`,
        );
    }
    types.EIP712Domain = DOMAIN_FIELDS.filter(
      (f) => domainIn[f.name] !== undefined && domainIn[f.name] !== null,
    );
  }
  const domain = normaliseStruct(types, 'EIP712Domain', domainIn, 'typedData.domain', 1, budget);

  const primaryType = value.primaryType;
  if (typeof primaryType !== 'string' || !Object.hasOwn(types, primaryType))
    throw invalid('typedData.primaryType must name one of typedData.types');
  let message: Record<string, unknown> = {};
  if (primaryType === 'EIP712Domain') {
    // Only the domain separator is signed; a message would be silently ignored, so refuse one.
    if (
      value.message !== undefined &&
      !(isPlainObject(value.message) && Object.keys(value.message).length === 0)
    )
      throw invalid('typedData.message must be empty when primaryType is EIP712Domain');
  } else {
    message = normaliseStruct(types, primaryType, value.message, 'typedData.message', 1, budget);
  }
  return { types, primaryType, domain, message };
}

/**
 * The 32-byte EIP-712 digest of parsed typed data. INVALID_REQUEST when hashing it would take more
 * than the per-request bounds (MAX_HASHED_BYTES, MAX_ENCODED_FIELDS in typed-data-hash.ts).
 */
export function typedDataHash(td: ParsedTypedData): Uint8Array {
  return boundedTypedDataHash(td);
}
