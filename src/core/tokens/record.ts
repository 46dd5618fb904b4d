// API tokens: `kmt_<id>_<secret>`. Only SHA-256(secret) is stored (the secret has 256 bits of
// entropy, so a slow hash adds nothing); comparison is constant-time. The token string is shown
// once, at creation, and never logged or audited.
//
// A stored token record carries a MAC (src/records/integrity.ts) and is read only through
// openTokenRecord, which checks it field by field (checkTokenRecord). Revoking keeps the record
// with `revokedAt` set (a tombstone), so that un-revoking would mean editing a MAC'd record.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalid } from '../../errors.js';
import { recordsOf } from '../../records/integrity.js';
import type { Store } from '../../store/store.js';
import { isId } from '../../util/ids.js';
import { type Scope, Scopes } from '../auth/scopes.js';

export interface TokenRecord {
  id: string;
  name: string;
  scopes: Scope[];
  keyIds: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  secretHash: string; // hex SHA-256 of the secret part
  /** Raised by one on every write of the record: nodes refuse one older than they have seen. */
  seq: number;
  /** Set when revoked: the token no longer authenticates, is not listed, and stays revoked. */
  revokedAt?: string;
}

export type TokenView = Omit<TokenRecord, 'secretHash' | 'seq' | 'revokedAt'>;

export { tokenKey } from '../../store/layout.js';

const TOKEN_FIELDS = new Set([
  'id',
  'name',
  'scopes',
  'keyIds',
  'createdAt',
  'expiresAt',
  'secretHash',
  'seq',
  'revokedAt',
]);
const HASH_RE = /^[0-9a-f]{64}$/;
const time = (s: unknown): s is string =>
  typeof s === 'string' && s.length <= 64 && !Number.isNaN(Date.parse(s));

/** A stored token record (without its mac) for token `id`, checked; else INVALID_REQUEST. */
export function checkTokenRecord(v: unknown, id: string): TokenRecord {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid('a token record must be an object');
  const x = v as Record<string, unknown>;
  for (const k of Object.keys(x))
    if (!TOKEN_FIELDS.has(k)) throw invalid('a token record has an unknown field');
  if (x.id !== id || !isId(id)) throw invalid('a token record must be stored under its own id');
  if (typeof x.name !== 'string' || x.name.length < 1 || x.name.length > 128)
    throw invalid('token record name');
  if (
    !Array.isArray(x.scopes) ||
    x.scopes.length === 0 ||
    !x.scopes.every((s) => (Scopes as readonly unknown[]).includes(s)) ||
    new Set(x.scopes).size !== x.scopes.length
  )
    throw invalid('token record scopes');
  if (
    x.keyIds !== null &&
    (!Array.isArray(x.keyIds) ||
      x.keyIds.length > 1000 ||
      !x.keyIds.every((k) => typeof k === 'string' && isId(k)) ||
      new Set(x.keyIds).size !== x.keyIds.length)
  )
    throw invalid('token record keyIds');
  if (!time(x.createdAt) || (x.expiresAt !== null && !time(x.expiresAt))) throw invalid('token record times');
  if (typeof x.secretHash !== 'string' || !HASH_RE.test(x.secretHash))
    throw invalid('token record secretHash');
  if (!Number.isSafeInteger(x.seq) || (x.seq as number) < 1) throw invalid('token record seq');
  if (x.revokedAt !== undefined && !time(x.revokedAt)) throw invalid('token record revokedAt');
  return {
    id,
    name: x.name,
    scopes: [...(x.scopes as Scope[])],
    keyIds: x.keyIds === null ? null : [...(x.keyIds as string[])],
    createdAt: x.createdAt,
    expiresAt: x.expiresAt as string | null,
    secretHash: x.secretHash,
    seq: x.seq as number,
    ...(x.revokedAt !== undefined ? { revokedAt: x.revokedAt } : {}),
  };
}

/** A token record as stored under tokens/<id>, checked; RECORD_INTEGRITY when no node wrote it. */
export function openTokenRecord(store: Store, id: string, json: string): Promise<TokenRecord> {
  return recordsOf(store).open('token', id, json, checkTokenRecord);
}

/** The text to store for a token record: its fields and its MAC. */
export function sealTokenRecord(store: Store, record: TokenRecord): Promise<string> {
  return recordsOf(store).seal('token', record.id, record);
}

const TOKEN_RE =
  /^kmt_([0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export function mintSecret(id: string): { token: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `kmt_${id}_${secret}`, secretHash: hashSecret(secret) };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function parseToken(token: string): { id: string; secret: string } | null {
  if (token.length > 128) return null;
  const m = TOKEN_RE.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

export function secretMatches(record: TokenRecord, secret: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(record.secretHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function toView(r: TokenRecord): TokenView {
  return {
    id: r.id,
    name: r.name,
    scopes: r.scopes,
    keyIds: r.keyIds,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
  };
}
