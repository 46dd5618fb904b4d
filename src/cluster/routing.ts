// Where a key-using call runs (issue 4, point 4; DESIGN.md "Cluster: placement and sync"): here,
// when this node holds a replica of the key and is live; otherwise forwarded, one hop over mutual
// TLS (forward.ts), to a live holder, same region first (placement.ts forwardOrder). No live
// holder: NO_LIVE_REPLICA. Keys made before the cluster existed (no `replicas` in the record) and
// unknown keys are answered here (the core says 404 or signs from the record's own blob).
import { KeymeshError } from '../errors.js';
import type { Store } from '../store/store.js';
import type { Forwarder, ForwardRequest, ForwardResponse, ForwardTarget } from './forward.js';
import type { Membership } from './membership.js';
import { forwardOrder } from './placement.js';
import { ReplicaKeys } from './replicas.js';
import type { KeyCache } from './key-cache.js';

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
    const [rec, replicas] = await Promise.all([this.store.get(`keys/${keyId}`), this.store.list(prefix)]);
    if (!rec) return undefined;
    const parsed = JSON.parse(rec.value) as { replicas?: unknown };
    if (!Array.isArray(parsed.replicas)) return undefined;
    return replicas.map((e) => e.key.slice(prefix.length));
  }

  async route(keyId: string): Promise<RouteDecision> {
    const holders = await this.holders(keyId);
    if (holders === undefined) return { local: true };
    if (holders.includes(this.selfId) && this.membership.isLive()) return { local: true };
    const views = holders
      .map((id) => this.membership.node(id))
      .filter((n): n is NonNullable<typeof n> => n !== undefined && n.live && n.id !== this.selfId);
    const order = forwardOrder(views, this.selfRegion, { selfId: this.selfId, rotation: this.rotation++ });
    if (order.length === 0)
      throw new KeymeshError('NO_LIVE_REPLICA', 'No live node holds a replica of this key.');
    return { local: false, targets: order.map((n) => ({ nodeId: n.id, endpoint: n.endpoints[0]! })) };
  }

  forward(targets: readonly ForwardTarget[], req: ForwardRequest): Promise<ForwardResponse> {
    return this.forwarder.forwardToAny(targets, req);
  }
}
