// The audit entry and its hash chain. Each entry's hash is SHA-256 over a canonical encoding of
// all its fields, prevHash included, so editing, removing or reordering any entry breaks the chain
// from that point on. Nothing secret is ever put in an entry: callers pass identifiers, digests of
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

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return '[' + value.map(canonical).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonical(obj[k])).join(',') + '}';
}

export function entryHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonical([
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
  ]);
  return createHash('sha256').update(body).digest('hex');
}

export interface VerifyResult {
  ok: boolean;
  count: number;
  /** The first entry (by position) where the chain breaks. */
  brokenAt?: number;
  reason?: string;
}

/** Walk entries in stored order; `rows` yields [rowSeq, json]. */
export function verifyChain(rows: Iterable<[number, string]>): VerifyResult {
  let prevHash = GENESIS_HASH;
  let expectSeq = 1;
  let count = 0;
  for (const [rowSeq, json] of rows) {
    let e: AuditEntry;
    try {
      e = JSON.parse(json) as AuditEntry;
    } catch {
      return { ok: false, count, brokenAt: rowSeq, reason: 'entry is not valid JSON' };
    }
    if (rowSeq !== expectSeq)
      return { ok: false, count, brokenAt: expectSeq, reason: `entry ${expectSeq} is missing` };
    if (e.seq !== rowSeq) return { ok: false, count, brokenAt: rowSeq, reason: 'entry is out of order' };
    if (e.prevHash !== prevHash)
      return { ok: false, count, brokenAt: rowSeq, reason: 'entry does not follow the one before it' };
    const { hash, ...rest } = e;
    if (entryHash(rest) !== hash) return { ok: false, count, brokenAt: rowSeq, reason: 'entry was altered' };
    prevHash = hash;
    expectSeq++;
    count++;
  }
  return { ok: true, count };
}
