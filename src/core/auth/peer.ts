// A peer node acting for a caller (the peer channel, src/cluster/forward.ts): the node's identity
// was proven by mutual TLS before the core sees it; what is authenticated here is the caller it
// acts for, whose rights are the call's rights. One hop: a peer acting for a peer is refused. The
// audit actor names both, so each node's log says who asked and through which node.
import type { Store } from '../../store/store.js';
import type { Principal } from './principal.js';
import type { Caller } from './scopes.js';
import { KeymeshError } from '../../errors.js';

export async function authenticatePeer(
  store: Store,
  p: Extract<Principal, { kind: 'peer' }>,
  inner: (store: Store, p: Principal) => Promise<Caller>,
): Promise<Caller> {
  if (p.onBehalfOf.kind === 'peer')
    throw new KeymeshError('FORBIDDEN', 'Forwarded calls are not forwarded again.');
  const caller = await inner(store, p.onBehalfOf);
  return { ...caller, actor: `${caller.actor} via node:${p.nodeId}`, via: p.nodeId };
}
