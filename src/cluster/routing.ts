// Where a key-using call runs (issue 4, point 4; DESIGN.md "Cluster: placement and sync"): here,
// when this node holds a replica of the key and is live; otherwise forwarded, one hop over mutual
// TLS (forward.ts), to a live holder, same region first (placement.ts forwardOrder). No live
// holder: NO_LIVE_REPLICA. Keys made before the cluster existed (no `replicas` in the record) and
// unknown keys are answered here (the core says 404 or signs from the record's own blob).
//
// The membership view routing reads is watch-fed, so it lags etcd. It is trusted to say where to
// go, never to say "nowhere": before answering NO_LIVE_REPLICA, or giving up on holders that could
// not be reached, routing reads etcd's live records linearizably (Membership.freshLiveNodes). A node
// prints its ready line only after its registration is committed in etcd, so from that line on
// every other node finds it (issue 7, point 23).
import { KeymeshError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Forwarder, ForwardRequest, ForwardResponse, ForwardTarget } from './forward.js';
import type { Membership, NodeView } from './membership.js';
import { forwardOrder } from './placement.js';
import { ReplicaKeys } from './replicas.js';
import type { KeyCache } from './key-cache.js';
import { keyKey } from '../store/layout.js';

/** NO_LIVE_REPLICA from the forwarder when the call provably reached no holder's application. */
function isNotSent(e: unknown): boolean {
  return (
    e instanceof KeymeshError &&
    e.code === 'NO_LIVE_REPLICA' &&
    (e.details as { outcome?: unknown } | undefined)?.outcome === 'not_sent'
  );
}

export type RouteDecision = { local: true } | { local: false; targets: ForwardTarget[] };

export class ClusterRouting {
  private rotation = 0;

  constructor(
    readonly selfId: string,
    private readonly selfRegion: string,
    private readonly store: Store,
    /** A getter: the peer listener exists (and routes) before the node has joined. */
    private readonly getMembership: () => Membership | undefined,
    private readonly forwarder: Forwarder,
    /** The watch-fed copy of key records and their holders, when running (key-cache.ts). */
    private readonly cache?: KeyCache,
  ) {}

  private get membership(): Membership {
    const m = this.getMembership();
    if (!m) throw new KeymeshError('UNAVAILABLE', 'This node is still joining the cluster.');
    return m;
  }

  /** The holders of a key (node ids with a replica record), or undefined for a non-cluster key. */
  async holders(keyId: string): Promise<string[] | undefined> {
    // From the copy when it knows the key and some holder; a stale answer only sends the call to
    // a node that checks the key's state for itself. Otherwise from etcd.
    const known = this.cache?.holders(keyId) ?? [];
    if (known.length > 0 && this.cache?.record(keyId) !== undefined) return known;
    const prefix = ReplicaKeys.prefix(keyId);
    // Both reads at once: one etcd round trip on the path of every key-using call.
    const [rec, replicas] = await Promise.all([this.store.get(keyKey(keyId)), this.store.list(prefix)]);
    if (!rec) return undefined;
    const parsed = JSON.parse(rec.value) as { replicas?: unknown };
    if (!Array.isArray(parsed.replicas)) return undefined;
    return replicas.map((e) => e.key.slice(prefix.length));
  }

  async route(keyId: string): Promise<RouteDecision> {
    const holders = await this.holders(keyId);
    if (holders === undefined) return { local: true };
    if (holders.includes(this.selfId) && this.membership.isLive()) return { local: true };
    let targets = this.targets(holders, (id) => this.membership.node(id));
    // The watch-fed view lags etcd: a holder that has just registered (and printed its ready line)
    // may not be in it yet. Ask etcd before answering that no holder is live.
    if (targets.length === 0) {
      const fresh = await this.membership.freshLiveNodes();
      targets = this.targets(holders, (id) => fresh.get(id));
    }
    if (targets.length === 0)
      throw new KeymeshError('NO_LIVE_REPLICA', 'No live node holds a replica of this key.');
    return { local: false, targets };
  }

  /**
   * Forwards to the first of `targets` that takes the call. When none did and none acted on it
   * (outcome 'not_sent': refused connections, declines), the view they came from may be stale: a
   * holder restarted since, under a new lease and perhaps another endpoint, and its old record is
   * still in the view. Those holders are tried once more at what etcd has now; a call that may
   * have been acted on is never sent again.
   */
  async forward(targets: readonly ForwardTarget[], req: ForwardRequest): Promise<ForwardResponse> {
    try {
      return await this.forwarder.forwardToAny(targets, req);
    } catch (e) {
      if (!isNotSent(e)) throw e;
      const fresh = await this.membership.freshLiveNodes().catch(() => undefined);
      if (!fresh) throw e;
      const renewed = targets.flatMap((t) => {
        const n = fresh.get(t.nodeId);
        return n && n.id !== this.selfId && n.lease !== t.lease
          ? [{ nodeId: n.id, endpoint: n.endpoints[0]!, ...(n.lease ? { lease: n.lease } : {}) }]
          : [];
      });
      if (renewed.length === 0) throw e;
      return this.forwarder.forwardToAny(renewed, req);
    }
  }

  /** The live holders other than this node, in forwarding order, as `view` describes them. */
  private targets(holders: readonly string[], view: (id: string) => NodeView | undefined): ForwardTarget[] {
    const views = holders
      .map(view)
      .filter((n): n is NodeView => n !== undefined && n.live && n.id !== this.selfId);
    const order = forwardOrder(views, this.selfRegion, { selfId: this.selfId, rotation: this.rotation++ });
    return order.map((n) => ({
      nodeId: n.id,
      endpoint: n.endpoints[0]!,
      ...(n.lease ? { lease: n.lease } : {}),
    }));
  }
}
