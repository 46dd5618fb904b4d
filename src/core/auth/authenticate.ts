// Principal → Caller: one authenticator per kind of principal, in one table, so a new kind (a
// session, a client certificate) is a new row and a new module, not an edit of every caller.
// Every failure is the same UNAUTHENTICATED, so a caller learns nothing about which check failed.
import { KeymeshError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { authenticateToken } from '../tokens/authenticate.js';
import { authenticatePeer } from './peer.js';
import type { Principal, PrincipalKind } from './principal.js';
import type { Caller } from './scopes.js';

export const unauthenticated = () => new KeymeshError('UNAUTHENTICATED', 'A valid bearer token is required.');

type Authenticator<K extends PrincipalKind> = (
  store: Store,
  p: Extract<Principal, { kind: K }>,
) => Promise<Caller>;

const AUTHENTICATORS: { [K in PrincipalKind]: Authenticator<K> } = {
  anonymous: () => Promise.reject(unauthenticated()),
  token: (store, p) => authenticateToken(store, p.token),
  peer: (store, p) => authenticatePeer(store, p),
  // Seams for the next issues: refused until their authenticators exist.
  session: () => Promise.reject(unauthenticated()),
  'client-cert': () => Promise.reject(unauthenticated()),
};

export function authenticate(store: Store, p: Principal): Promise<Caller> {
  const a = AUTHENTICATORS[p.kind] as Authenticator<PrincipalKind>;
  return a(store, p);
}
