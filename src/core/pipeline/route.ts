// Routing, a step of the core's dispatcher (core.ts `perform`), taken after the caller is
// authenticated and authorised and only for an operation that needs the key's private material
// (operations/table.ts): the call runs here when this node holds a live replica, else on a peer
// that does. Where it runs is an Executor, chosen here: this node's enclave (the operation's own
// body), or a peer, reached by the router the node wires (src/cluster/peer-channel.ts: "run this
// operation for this token" over mutual TLS); later an HSM or a threshold group. A call that came
// from a peer is never sent on (one hop): if it cannot run here it is declined, which tells the
// sender to try another holder.
import type { ForwardTarget } from '../../cluster/forward.js';
import { KeymeshError } from '../../errors.js';
import type { PeerOperation } from '../operations/codec.js';

export type Placement = { local: true } | { local: false; targets: readonly ForwardTarget[] };

/** "Run this operation for this token": what crosses to the node that executes. */
export interface PeerCall {
  operation: PeerOperation;
  keyId: string;
  /** The operation's typed input, as the adapter handed it to the core (operations/codec.ts). */
  input: unknown;
  /**
   * The authenticated token this node acts for, by id (never its secret): the executing node
   * loads it and authenticates and authorises it again (auth/peer.ts).
   */
  tokenId: string;
  requestId: string;
}

/** A peer's answer: the domain value, or the typed error it refused with. */
export type PeerAnswer = { nodeId: string } & (
  { ok: true; value: unknown } | { ok: false; error: KeymeshError }
);

/** Where key-using calls run, and how a peer is asked to run one. */
export interface KeyRouter {
  readonly selfId: string;
  /** Here, or the live holders to try in order; NO_LIVE_REPLICA when none is live. */
  route(keyId: string): Promise<Placement>;
  /** Runs `call` on the first of `targets` that takes it; NO_LIVE_REPLICA if none did. */
  execute(targets: readonly ForwardTarget[], call: PeerCall): Promise<PeerAnswer>;
}

/**
 * Where an authorised call that needs key material runs, as the dispatcher chose it (placeCall):
 * this node's enclave, or a peer; later an HSM or a threshold group. It answers with the
 * operation's value and the node that ran it, or throws the typed error the call was refused with.
 */
export interface Executor {
  readonly kind: 'local' | 'peer';
  execute(call: PeerCall): Promise<{ nodeId: string; value: unknown }>;
}

/** Errors a forwarded call was declined with before acting (the sender tries another holder). */
const declinedErrors = new WeakSet<object>();

export function wasDeclined(e: unknown): boolean {
  return typeof e === 'object' && e !== null && declinedErrors.has(e);
}

/**
 * Where a key-using call runs. `forwardedBy`: the call came from that peer; it runs here or is
 * declined. Undefined: here; else the targets to forward to.
 */
export async function placeCall(
  router: KeyRouter,
  keyId: string,
  forwardedBy: string | undefined,
): Promise<readonly ForwardTarget[] | undefined> {
  let placement: Placement;
  try {
    placement = await router.route(keyId);
  } catch (e) {
    if (forwardedBy !== undefined && typeof e === 'object' && e !== null) declinedErrors.add(e);
    throw e;
  }
  if (placement.local) return undefined;
  if (forwardedBy !== undefined) {
    const e = new KeymeshError('NO_LIVE_REPLICA', 'This node holds no live replica of this key.');
    declinedErrors.add(e);
    throw e;
  }
  return placement.targets;
}
