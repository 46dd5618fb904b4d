// A peer node acting for a caller (the peer channel, src/cluster/peer-channel.ts): the node's
// identity was proven by mutual TLS before the core sees it; what is authenticated here is the
// token it acts for, loaded by id from the store on this node (tokens/authenticate.ts), so a token
// revoked or expired since the sending node checked it is refused here too, and its rights are the
// call's rights. One hop: a peer principal names a token, never another peer. The audit actor names
// both, so each node's log says who asked and through which node.
import type { Store } from '../../store/store.js';
import { authenticateTokenId } from '../tokens/authenticate.js';
import type { Principal } from './principal.js';
import type { Caller } from './scopes.js';

export async function authenticatePeer(
  store: Store,
  p: Extract<Principal, { kind: 'peer' }>,
): Promise<Caller> {
  const caller = await authenticateTokenId(store, p.tokenId);
  return { ...caller, actor: `${caller.actor} via node:${p.nodeId}`, via: p.nodeId };
}
