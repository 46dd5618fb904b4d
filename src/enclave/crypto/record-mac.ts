// Record MACs: the authenticity of the key and token records the node keeps in its store (etcd in
// a cluster, SQLite alone), under the cluster integrity key. Runs inside the enclave only: the key
// never leaves it. This module owns the integrity key's size, the MAC input encoding and the
// key check value; the record's canonical body is src/records/canonical.ts.
//
//   K     = the 32-byte cluster integrity key (random, made once per cluster inside an enclave)
//   msg   = lp("keymesh/record/v1") ‖ lp(kind) ‖ lp(id) ‖ lp(body)      lp(x) = u32be(len x) ‖ x
//   tag   = HMAC-SHA256(K, msg)                            (RFC 2104; FIPS 198-1; SHA-256 FIPS 180-4)
//   check = HMAC-SHA256(K, lp("keymesh/record/v1 check"))  a key check value: names the key
//
// - kind is the record kind ("key", "token"): a token record cannot pass as a key record.
// - id is the record's id as its store key names it (`keys/<id>`): a record copied to another id
//   fails, whatever its own `id` field says.
// - body is the record without its `mac` field, canonical JSON (RFC 8785 for the values records
//   hold), UTF-8: the same record always gives the same bytes, and any edit changes them.
// - The domain string differs from every other use of K (the check value has its own), so a tag
//   is never valid for anything else. The length prefixes make the concatenation unambiguous.
// Tags are compared in constant time (equalBytes). Inputs are checked with explicit lengths before
// anything is computed; a malformed input is INVALID_REQUEST naming the field, never its value.
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KeymeshError } from '../../errors.js';
import { checkBytes, concatBytes, equalBytes, lengthPrefixed } from './bytes.js';

export const INTEGRITY_KEY_BYTES = 32;
export const RECORD_MAC_BYTES = 32;
/** Largest canonical record body: records are small; a bound keeps the enclave's work bounded. */
export const MAX_RECORD_BODY_BYTES = 64 * 1024;
const MAX_ID_BYTES = 256;
export const RecordKinds = ['key', 'token'] as const;
export type RecordKind = (typeof RecordKinds)[number];

const utf8 = new TextEncoder();
const DOMAIN = utf8.encode('keymesh/record/v1');
const DOMAIN_CHECK = utf8.encode('keymesh/record/v1 check');
const LONE_SURROGATE = /\p{Surrogate}/u;

/** What a record MAC is computed over: its kind, its id and its canonical body. */
export interface RecordMacInput {
  kind: RecordKind;
  id: string;
  body: Uint8Array;
}

/** The MAC input encoding (exported for tests). */
export function recordMacMessage(r: RecordMacInput): Uint8Array {
  if (r === null || typeof r !== 'object') throw new KeymeshError('INVALID_REQUEST', 'a record is required');
  if (!(RecordKinds as readonly unknown[]).includes(r.kind))
    throw new KeymeshError('INVALID_REQUEST', `record kind must be one of ${RecordKinds.join(', ')}`);
  if (typeof r.id !== 'string' || r.id.length === 0 || LONE_SURROGATE.test(r.id))
    throw new KeymeshError('INVALID_REQUEST', 'record id must be a non-empty, well-formed string');
  const id = utf8.encode(r.id);
  if (id.length > MAX_ID_BYTES)
    throw new KeymeshError('INVALID_REQUEST', `record id must be at most ${MAX_ID_BYTES} bytes`);
  checkBytes('record body', r.body);
  if (r.body.length > MAX_RECORD_BODY_BYTES)
    throw new KeymeshError('INVALID_REQUEST', `record body must be at most ${MAX_RECORD_BODY_BYTES} bytes`);
  return concatBytes(
    lengthPrefixed(DOMAIN),
    lengthPrefixed(utf8.encode(r.kind)),
    lengthPrefixed(id),
    lengthPrefixed(r.body),
  );
}

/** HMAC-SHA256 tag (32 bytes) of a record under the integrity key. */
export function recordMac(key: Uint8Array, r: RecordMacInput): Uint8Array {
  checkBytes('integrity key', key, INTEGRITY_KEY_BYTES);
  return hmac(sha256, key, recordMacMessage(r));
}

/** Whether `tag` is the record's MAC; constant-time in the tag's contents. */
export function verifyRecordMac(key: Uint8Array, r: RecordMacInput, tag: Uint8Array): boolean {
  checkBytes('record mac', tag);
  const want = recordMac(key, r);
  try {
    return tag.length === RECORD_MAC_BYTES && equalBytes(want, tag);
  } finally {
    want.fill(0);
  }
}

/** The key check value: which integrity key this is, without saying anything else about it. */
export function integrityKeyCheck(key: Uint8Array): Uint8Array {
  checkBytes('integrity key', key, INTEGRITY_KEY_BYTES);
  return hmac(sha256, key, lengthPrefixed(DOMAIN_CHECK));
}
