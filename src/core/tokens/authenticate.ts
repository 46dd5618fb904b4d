// An API token → Caller (the `token` principal's authenticator, auth/authenticate.ts). Unknown,
// malformed, revoked and expired tokens all answer the same UNAUTHENTICATED, so a caller learns
// nothing about which. A stored record that fails its check (src/records/integrity.ts) is
// RECORD_INTEGRITY: refused, logged and audited, never read as a caller's rights.
import { KeymeshError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { Caller } from '../auth/scopes.js';
import { isId } from '../../util/ids.js';
import { openTokenRecord, parseToken, secretMatches, tokenKey, type TokenRecord } from './record.js';

const unauthenticated = () => new KeymeshError('UNAUTHENTICATED', 'A valid bearer token is required.');

export async function authenticateToken(store: Store, token: string): Promise<Caller> {
  const parsed = parseToken(token);
  if (!parsed) throw unauthenticated();
  const e = await store.get(tokenKey(parsed.id));
  if (!e) throw unauthenticated();
  // Checked before anything is decided from it: an edited record is RECORD_INTEGRITY, not a caller.
  const record = await openTokenRecord(store, parsed.id, e.value);
  if (!secretMatches(record, parsed.secret)) throw unauthenticated();
  return liveCaller(record);
}

/**
 * A token named by id, for a peer node that authenticated its secret and acts for it (the peer
 * channel, auth/peer.ts): the record is read here, so a revoked (deleted) or expired token is
 * refused on this node as well. Same UNAUTHENTICATED for every failure.
 */
export async function authenticateTokenId(store: Store, id: string): Promise<Caller> {
  if (!isId(id)) throw unauthenticated();
  const e = await store.get(tokenKey(id));
  if (!e) throw unauthenticated();
  const record = await openTokenRecord(store, id, e.value);
  return liveCaller(record);
}

function liveCaller(record: TokenRecord): Caller {
  if (record.revokedAt !== undefined) throw unauthenticated();
  if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) throw unauthenticated();
  return {
    actor: `token:${record.id}`,
    tokenId: record.id,
    scopes: new Set(record.scopes),
    keyIds: record.keyIds === null ? null : new Set(record.keyIds),
  };
}
