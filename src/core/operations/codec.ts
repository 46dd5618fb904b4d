// The wire codec of the operations that can run on another node (those of the operations table
// that need key material): per operation, the fields of its typed input and of its answer, each
// with a wire kind and a bound, as one frozen table. The peer channel (src/cluster/peer-channel.ts)
// encodes a call's input and decodes the answer with it on the sending node, and decodes the input
// and encodes the answer on the executing node. Decoding validates: an unknown field, a missing
// one, a wrong type or an oversized value is INVALID_REQUEST (a typed 400), never an exception.
// Bytes travel as 0x-hex, text as strings, nested chain documents (a transaction request, EIP-712
// typed data, a derived key's addresses) as bounded JSON; the executing node's operation still
// checks every value itself, exactly as for a local call.
import { invalid } from '../../errors.js';
import { MAX_PSBT_BASE64 } from '../../chains/bitcoin/psbt.js';
import { MAX_MESSAGE_BYTES } from '../keys/input.js';
import type { OperationName } from './table.js';

/** Bound on any one JSON-valued field, as serialised (the REST body limit). */
export const MAX_JSON_FIELD_CHARS = 1024 * 1024;
const MAX_PATH_CHARS = 1024;

type Kind =
  | { kind: 'hex'; maxChars: number }
  | { kind: 'text'; maxChars: number }
  | { kind: 'json'; maxChars: number }
  | { kind: 'bool' }
  | { kind: 'uint' }
  | { kind: 'uints'; maxItems: number };

type Field = Kind & { optional?: true };
type Fields = Readonly<Record<string, Field>>;

export interface OperationCodec {
  readonly input: Fields;
  readonly output: Fields;
}

const hex = (maxBytes: number): Kind => ({ kind: 'hex', maxChars: 2 + 2 * maxBytes });
const text = (maxChars: number): Kind => ({ kind: 'text', maxChars });
const json: Kind = { kind: 'json', maxChars: MAX_JSON_FIELD_CHARS };
const opt = (k: Kind): Field => ({ ...k, optional: true });
const path = opt(text(MAX_PATH_CHARS));
const signatureOnly: Fields = { signature: hex(65) };

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Per operation that can run on a peer: its input's and its answer's fields. */
export const PEER_CODECS = deepFreeze({
  'key.sign': {
    input: { digest: opt(hex(32)), message: opt(hex(MAX_MESSAGE_BYTES)), path },
    output: { signature: hex(65), recoveryId: opt({ kind: 'uint' }) },
  },
  'key.verify': {
    input: {
      digest: opt(hex(32)),
      message: opt(hex(MAX_MESSAGE_BYTES)),
      signature: opt(hex(64)),
      path,
    },
    output: { valid: { kind: 'bool' } },
  },
  'key.derive': {
    input: { path },
    output: { path: text(MAX_PATH_CHARS), publicKey: hex(33), addresses: json, xpub: opt(text(256)) },
  },
  'ethereum.transaction': {
    input: { transaction: json, path },
    output: { rawTransaction: hex(MAX_JSON_FIELD_CHARS / 2), hash: hex(32), from: text(42) },
  },
  // A personal message is text or 0x-hex (UTF-8: at most 3 bytes per UTF-16 unit).
  'ethereum.message': {
    input: { message: text(3 * MAX_MESSAGE_BYTES), path, from: opt(text(42)) },
    output: signatureOnly,
  },
  'ethereum.typed-data': { input: { typedData: json, path, from: opt(text(42)) }, output: signatureOnly },
  'bitcoin.psbt': {
    input: { psbt: text(MAX_PSBT_BASE64), network: text(64), path },
    output: { psbt: text(2 * MAX_PSBT_BASE64), signedInputs: { kind: 'uints', maxItems: 10_000 } },
  },
} as const satisfies Partial<Record<OperationName, OperationCodec>>);

export type PeerOperation = keyof typeof PEER_CODECS;

/** The operations a peer can run for this node (those of the table needing key material). */
export const PEER_OPERATIONS: readonly PeerOperation[] = Object.freeze(
  Object.keys(PEER_CODECS) as PeerOperation[],
);

export function isPeerOperation(s: unknown): s is PeerOperation {
  return typeof s === 'string' && Object.hasOwn(PEER_CODECS, s);
}

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

function checkField(name: string, f: Field, v: unknown): void {
  const bad = (what: string) => invalid(`${name} must be ${what}`);
  switch (f.kind) {
    case 'hex':
      if (typeof v !== 'string' || v.length > f.maxChars || !HEX_RE.test(v))
        throw bad(`0x-prefixed hex of at most ${(f.maxChars - 2) / 2} bytes`);
      return;
    case 'text':
      if (typeof v !== 'string' || v.length > f.maxChars)
        throw bad(`a string of at most ${f.maxChars} characters`);
      return;
    case 'json': {
      // A value that came out of JSON.parse, or that JSON.stringify writes as it is (no undefined,
      // functions, bigints or cycles: those throw or vanish, and are refused here).
      let s: string | undefined;
      try {
        s = JSON.stringify(v);
      } catch {
        s = undefined;
      }
      if (s === undefined || s.length > f.maxChars)
        throw bad(`a JSON value of at most ${f.maxChars} characters`);
      return;
    }
    case 'bool':
      if (typeof v !== 'boolean') throw bad('true or false');
      return;
    case 'uint':
      if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad('a whole number, 0 or more');
      return;
    case 'uints':
      if (
        !Array.isArray(v) ||
        v.length > f.maxItems ||
        !v.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)
      )
        throw bad(`a list of at most ${f.maxItems} whole numbers`);
      return;
  }
}

/**
 * `value` checked against `fields` and copied field by field (nothing else is carried): the one
 * function behind all four directions. `what` names the value in a refusal ("input", "answer").
 */
function check(fields: Fields, value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw invalid(`${what} must be an object`);
  const v = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v))
    if (!Object.hasOwn(fields, k) && v[k] !== undefined) throw invalid(`${what}.${k} is not a field`);
  for (const [k, f] of Object.entries(fields)) {
    const x = Object.hasOwn(v, k) ? v[k] : undefined;
    if (x === undefined) {
      if (!f.optional) throw invalid(`${what}.${k} is required`);
      continue;
    }
    checkField(`${what}.${k}`, f, x);
    out[k] = x;
  }
  return out;
}

/** A call's input for the wire (sending node), or its wire input decoded (executing node). */
export const codeInput = (op: PeerOperation, input: unknown) => check(PEER_CODECS[op].input, input, 'input');
/** An answer for the wire (executing node), or a wire answer decoded (sending node). */
export const codeOutput = (op: PeerOperation, value: unknown) =>
  check(PEER_CODECS[op].output, value, 'answer');
