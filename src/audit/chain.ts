// The audit entry and its hash chain. Each entry's hash is SHA-256 over a canonical encoding of
// the whole stored entry, prevHash included, so editing, adding a field to, removing or
// reordering any entry breaks the chain from that point on (and anchor.ts catches a log cut
// short at its end). Nothing secret is ever put in an entry: callers pass identifiers, digests of
// what was signed and outcomes, never key material or tokens.
import { createHash } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export type AuditOutcome = 'allowed' | 'success' | 'denied' | 'error';
/** Flat values, or a table of counts (an aggregate entry's counts per source, refusals.ts). */
export type AuditDetails = Record<
  string,
  string | number | boolean | null | Readonly<Record<string, number>>
>;

export interface AuditInput {
  actor: string;
  action: string;
  keyId?: string;
  outcome: AuditOutcome;
  requestId?: string;
  details?: AuditDetails;
}

export interface AuditEntry extends AuditInput {
  seq: number;
  time: string;
  node: string;
  hash: string;
  prevHash: string;
}

/** The canonical text v1 hashes (kept byte for byte: existing logs verify with it). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(obj[k])).join(',') + '}';
}

/**
 * The canonical text of a stored value: what JSON keeps, keys sorted. A key whose value is
 * undefined is left out, as JSON.stringify leaves it out of the stored entry.
 */
function canonicalStored(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return '[' + value.map(canonicalStored).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalStored(obj[k])).join(',') + '}';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * v2, what the node writes: the hash covers the whole stored entry, every field but `hash`
 * itself, so no field can be added, removed or changed without breaking it.
 */
export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  return sha256(canonicalStored(['keymesh-audit-v2', e]));
}

/** v1 (logs written before v2): a fixed list of fields. Valid only for entries with no others. */
export function entryHashV1(e: Omit<AuditEntry, 'hash'>): string {
  return sha256(
    canonical([
      'keymesh-audit-v1',
      e.seq,
      e.time,
      e.node,
      e.actor,
      e.action,
      e.keyId ?? null,
      e.outcome,
      e.requestId ?? null,
      e.details ?? null,
      e.prevHash,
    ]),
  );
}

export interface VerifyResult {
  ok: boolean;
  count: number;
  /** The first entry (by position) where the chain breaks. */
  brokenAt?: number;
  reason?: string;
  /** The last good entry, for comparing with the anchor (anchor.ts). */
  head?: { seq: number; hash: string };
}

const HEX64 = /^[0-9a-f]{64}$/;
const OUTCOMES: readonly string[] = ['allowed', 'success', 'denied', 'error'] satisfies AuditOutcome[];
const isString = (v: unknown) => typeof v === 'string';
const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every field an entry may have, and what it must be (the stored shape, API.md "Audit"). */
const FIELDS: Record<string, { required: boolean; what: string; ok: (v: unknown) => boolean }> = {
  seq: { required: true, what: 'a whole number', ok: (v) => Number.isSafeInteger(v) },
  time: { required: true, what: 'a string', ok: isString },
  node: { required: true, what: 'a string', ok: isString },
  actor: { required: true, what: 'a string', ok: isString },
  action: { required: true, what: 'a string', ok: isString },
  keyId: { required: false, what: 'a string', ok: isString },
  outcome: {
    required: true,
    what: OUTCOMES.join(' or '),
    ok: (v) => isString(v) && OUTCOMES.includes(v as string),
  },
  requestId: { required: false, what: 'a string', ok: isString },
  details: { required: false, what: 'an object', ok: isObject },
  hash: { required: true, what: '64 hex digits', ok: (v) => isString(v) && HEX64.test(v as string) },
  prevHash: { required: true, what: '64 hex digits', ok: (v) => isString(v) && HEX64.test(v as string) },
};

/** Why a parsed entry does not have the stored shape, or undefined when it has. */
function shapeProblem(e: unknown): string | undefined {
  if (!isObject(e))
    return `entry is ${e === null ? 'null' : Array.isArray(e) ? 'an array' : 'a ' + typeof e}, not an object`;
  const obj = e as Record<string, unknown>;
  for (const k of Object.keys(obj))
    if (!Object.hasOwn(FIELDS, k)) return `entry has a field no entry has: ${JSON.stringify(k.slice(0, 40))}`;
  for (const [k, f] of Object.entries(FIELDS)) {
    if (!Object.hasOwn(obj, k)) {
      if (f.required) return `entry has no ${k}`;
      continue;
    }
    if (!f.ok(obj[k])) return `entry's ${k} is not ${f.what}`;
  }
  return undefined;
}

/**
 * Walk entries in stored order; `rows` yields [rowSeq, json]. Names the first entry that is not
 * valid JSON, not an entry (null, not an object, a field missing, unknown or of the wrong type),
 * out of place, not following the one before it, or whose hash does not cover it as stored.
 * v1 entries are accepted only before the first v2 entry (a log written before v2 goes on in v2).
 */
export function verifyChain(rows: Iterable<[number, string]>): VerifyResult {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let count = 0;
  let seenV2 = false;
  const broken = (at: number, reason: string): VerifyResult => ({
    ok: false,
    count,
    brokenAt: at,
    reason,
    ...(count > 0 ? { head: { seq: expectSeq - 1, hash: prevHash } } : {}),
  });
  for (const [rowSeq, json] of rows) {
    if (rowSeq !== expectSeq) return broken(expectSeq, `entry ${expectSeq} is missing`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return broken(rowSeq, 'entry is not valid JSON');
    }
    const problem = shapeProblem(parsed);
    if (problem !== undefined) return broken(rowSeq, problem);
    const e = parsed as AuditEntry;
    if (e.seq !== rowSeq) return broken(rowSeq, 'entry is out of order');
    if (e.prevHash !== prevHash) return broken(rowSeq, 'entry does not follow the one before it');
    const { hash, ...rest } = e;
    if (entryHash(rest) === hash) seenV2 = true;
    else if (seenV2 || entryHashV1(rest) !== hash) return broken(rowSeq, 'entry was altered');
    prevHash = hash;
    expectSeq++;
    count++;
  }
  return { ok: true, count, ...(count > 0 ? { head: { seq: expectSeq - 1, hash: prevHash } } : {}) };
}
