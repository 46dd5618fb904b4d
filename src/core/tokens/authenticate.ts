// An API token → Caller (the `token` principal's authenticator, auth/authenticate.ts). Unknown, malformed, revoked and expired tokens all answer the same
// UNAUTHENTICATED, so a caller learns nothing about which.
import { KeymeshError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { Caller } from '../auth/scopes.js';
import { parseToken, secretMatches, tokenKey, type TokenRecord } from './record.js';

const unauthenticated = () => new KeymeshError('UNAUTHENTICATED', 'A valid bearer token is required.');

export async function authenticateToken(store: Store, token: string): Promise<Caller> {
  const parsed = parseToken(token);
  if (!parsed) throw unauthenticated();
  const e = await store.get(tokenKey(parsed.id));
  if (!e) throw unauthenticated();
  const record = JSON.parse(e.value) as TokenRecord;
  if (!secretMatches(record, parsed.secret)) throw unauthenticated();
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) throw unauthenticated();
  return {
    actor: `token:${record.id}`,
    tokenId: record.id,
    scopes: new Set(record.scopes),
    keyIds: record.keyIds === null ? null : new Set(record.keyIds),
  };
}
