// API tokens: `kmt_<id>_<secret>`. Only SHA-256(secret) is stored (the secret has 256 bits of
// entropy, so a slow hash adds nothing); comparison is constant-time. The token string is shown
// once, at creation, and never logged or audited.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scope } from '../auth/scopes.js';

export interface TokenRecord {
  id: string;
  name: string;
  scopes: Scope[];
  keyIds: string[] | null;
  createdAt: string;
  expiresAt: string | null;
  secretHash: string; // hex SHA-256 of the secret part
}

export type TokenView = Omit<TokenRecord, 'secretHash'>;

export { tokenKey } from '../../store/layout.js';

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
