// Membership: this node's registration in etcd under a lease, and a live view of every node
// (DESIGN.md, "Cluster: placement and sync"; API.md, "Cluster"; issue 4, point 1).
//
// etcd layout (src/cluster/ids.ts):
//   cluster/nodes/<id>    leased NodeRecord: present exactly while the node holds its lease. This
//                         is liveness; nothing else is (no heartbeat of our own, no gossip).
//   cluster/members/<id>  MemberRecord, no lease: the node is known to the cluster, live or not,
//                         so `GET /v1/cluster` can list a node that is down.
// Both are written in one transaction on every (re-)registration.
//
// This node's own liveness (`isLive()`) is: registered, its lease not lost *by its own monotonic
// clock* (EtcdLease.remainingMs counts from when the last acknowledged keepalive was sent, so it
// reaches 0 no later than etcd expires the lease), and caught up (the `ready` hook, run after each
// registration, has resolved). When the lease is lost (expired, not renewed, or revoked by a
// fencing peer) the node is not live at once, and re-registers with a new lease in the background;
// it is live again only after `ready` resolves for the new registration. The node's signing path
// must check `isLive()` right before it signs.
//
// The view is two PrefixCaches (list, then watch from the revision after: no gaps). Records read
// from etcd are validated like any input; a malformed one is left out and reported. A record's
// attestation is checked against the cluster CA (when given) for its node id, transport key,
// region and level: `liveNodes()` returns only attested live nodes, and only those may receive a
// replica or be placed on.
//
// The records' shape and validation: membership/records.ts (re-exported here).
import type { KeyObject } from 'node:crypto';
import { KeymeshError, conflict, invalid, notFound } from '../errors.js';
import { verifyAttestation, type AttestationStatement } from '../enclave/crypto/attestation.js';
import type { EtcdLease, EtcdStore } from '../store/etcd.js';
import { MAX_LIST_LIMIT } from '../store/limits.js';
import { ClusterKeys, isNodeId } from './ids.js';
import {
  attestedStatement,
  checkRegistration,
  parseMemberRecord,
  parseNodeRecord,
  type MemberRecord,
  type NodeRecord,
  type NodeRegistration,
} from './membership/records.js';
import { PrefixCache, type PrefixChange } from './prefix-cache.js';

export * from './membership/records.js';

export const DEFAULT_LEASE_TTL_SECONDS = 5;

export interface NodeView extends NodeRegistration {
  /** A leased record exists (the node holds its lease). */
  live: boolean;
  /** Its attestation verifies for its id, transport key, region and level (false without a CA). */
  attested: boolean;
  startedAt?: string;
  lease?: string;
  leaseTtlSeconds?: number;
}

export interface MembershipOptions {
  /** Lease TTL in seconds, 1..60. Default 5. */
  ttlSeconds?: number;
  /** The cluster CA (ca.crt PEM, a public key PEM, or a KeyObject): attestations are checked
   * against it, this node's own first. Without it no node counts as attested. */
  ca?: string | KeyObject;
  /** Catch-up after each registration, before the node counts itself live (e.g. reload the key
   * cache at a revision ≥ `revision`). A rejection is reported and the registration retried. */
  ready?: (info: { lease: EtcdLease; revision: number }) => Promise<void>;
  /** Watch and re-registration failures (the view and the node keep trying). */
  onError?: (err: Error) => void;
  /** How long to wait for a leftover record of this node id (a crashed earlier process) to expire
   * before refusing to join as a duplicate. Default: 2 × its TTL + 1 s. */
  duplicateWaitMs?: number;
  /** The wall clock, for attestation freshness. */
  now?: () => number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Membership {
  readonly nodeId: string;
  private readonly startedAt = new Date().toISOString();
  private readonly ttl: number;
  private readonly pastLeases = new Set<string>();
  private currentLease: EtcdLease | undefined;
  private ready = false;
  private closed = false;
  private registering: Promise<void> | undefined;
  private nodesCache!: PrefixCache;
  private membersCache!: PrefixCache;
  private readonly changeListeners = new Set<(nodes: NodeView[]) => void>();
  private readonly liveListeners = new Set<(live: boolean) => void>();
  private readonly attestCache = new Map<string, AttestationStatement | undefined>();
  private wasLive = false;
  private freshRead: Promise<ReadonlyMap<string, NodeView>> | undefined;
  private freshNext: Promise<ReadonlyMap<string, NodeView>> | undefined;

  private constructor(
    private readonly store: EtcdStore,
    private readonly self: NodeRegistration,
    private readonly opts: MembershipOptions,
  ) {
    this.nodeId = self.id;
    this.ttl = opts.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
  }

  /**
   * Registers this node and starts the view. Resolves once the node is registered, caught up
   * (`ready`) and live. Refuses (CONFLICT) when another live process holds this node id, and
   * (FORBIDDEN) when the CA is given and this node's own attestation does not verify.
   */
  static async join(
    store: EtcdStore,
    self: NodeRegistration,
    opts: MembershipOptions = {},
  ): Promise<Membership> {
    const reg = checkRegistration(self);
    const ttl = opts.ttlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 60) throw invalid('the lease TTL must be 1 to 60 seconds');
    if (opts.ca !== undefined)
      verifyAttestation(reg.attestation, opts.ca, {
        nodeId: reg.id,
        transportPublicKey: reg.transportPublicKey,
        region: reg.region,
        level: reg.level,
        now: (opts.now ?? Date.now)(),
      });
    const m = new Membership(store, reg, opts);
    const onChange = (c: PrefixChange) => m.viewChanged(c);
    const onError = (e: Error) => m.report(e);
    m.nodesCache = await PrefixCache.start(store, ClusterKeys.nodesPrefix, { onChange, onError });
    try {
      m.membersCache = await PrefixCache.start(store, ClusterKeys.membersPrefix, { onChange, onError });
      await m.register();
    } catch (e) {
      m.closed = true;
      m.nodesCache.close();
      m.membersCache?.close();
      throw e;
    }
    return m;
  }

  /** Registered, lease held (by this node's own clock), and caught up: it may sign. */
  isLive(): boolean {
    return !this.closed && this.ready && this.currentLease !== undefined && !this.currentLease.lost;
  }

  /** The lease of the current registration (acks are written under it). */
  get lease(): EtcdLease | undefined {
    return this.currentLease;
  }

  /** Every known node (members and live records), sorted by id. */
  nodes(): NodeView[] {
    const ids = new Set<string>();
    for (const [k] of this.nodesCache.entries()) ids.add(k.slice(ClusterKeys.nodesPrefix.length));
    for (const [k] of this.membersCache.entries()) ids.add(k.slice(ClusterKeys.membersPrefix.length));
    return [...ids]
      .sort()
      .map((id) => this.node(id))
      .filter((n): n is NodeView => n !== undefined);
  }

  node(id: string): NodeView | undefined {
    if (!isNodeId(id)) return undefined;
    const liveEntry = this.nodesCache.get(ClusterKeys.node(id));
    const live = liveEntry ? parseNodeRecord(liveEntry.value, id) : undefined;
    const memberEntry = this.membersCache.get(ClusterKeys.member(id));
    const member = memberEntry ? parseMemberRecord(memberEntry.value, id) : undefined;
    const base: NodeRegistration | undefined = live ?? member;
    if (!base) return undefined;
    const view: NodeView = {
      id: base.id,
      region: base.region,
      level: base.level,
      endpoints: base.endpoints,
      transportPublicKey: base.transportPublicKey,
      attestation: base.attestation,
      live: live !== undefined,
      attested: this.isAttested(base),
    };
    if (live) {
      view.startedAt = live.startedAt;
      view.lease = live.lease;
      view.leaseTtlSeconds = live.leaseTtlSeconds;
    }
    return view;
  }

  /** Live, attested nodes: the candidates for placement, replicas and forwarding. */
  liveNodes(): NodeView[] {
    return this.nodes().filter((n) => n.live && n.attested);
  }

  /**
   * The live nodes as etcd has them now: a linearizable read of every leased record, for a caller
   * that the watch-fed view failed (it names no live holder of a key, or the holder it named could
   * not be reached). The view lags etcd by the watch's delivery time, and a node that has printed
   * its ready line is registered in etcd but not necessarily yet in every other node's view; this
   * read sees it. Keyed by node id; malformed records are left out, as in the view.
   *
   * Bounded: callers at the same time share one read, but never one that began before they asked
   * (it could predate the registration they need to see), so at most one read is in flight and one
   * waits to start, however many calls fail over at once.
   */
  freshLiveNodes(): Promise<ReadonlyMap<string, NodeView>> {
    if (!this.freshRead) return this.startFreshRead();
    this.freshNext ??= this.freshRead
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.freshNext = undefined;
        return this.startFreshRead();
      });
    return this.freshNext;
  }

  /** Called (synchronously, after the view changed) with the new view. Returns an unsubscribe. */
  onChange(cb: (nodes: NodeView[]) => void): () => void {
    this.changeListeners.add(cb);
    return () => this.changeListeners.delete(cb);
  }

  /** Called when this node's own liveness flips. Returns an unsubscribe. */
  onLiveChange(cb: (live: boolean) => void): () => void {
    this.liveListeners.add(cb);
    return () => this.liveListeners.delete(cb);
  }

  /**
   * An operator removes another node for good (issue 4, point 6): its member record goes, so the
   * sync of every holder deletes its replicas (planSync: a node not in the view has left). Only a
   * node that is down can be removed, and the delete is guarded by its liveness record's absence:
   * a live node would just re-register, keeping replicas the operator meant to take away.
   */
  async remove(id: string): Promise<void> {
    if (id === this.nodeId) throw conflict('A node cannot remove itself; remove it from another node.');
    const n = this.node(id);
    if (!n) throw notFound('node');
    if (n.live) throw conflict(`Node ${id} is live: stop it before removing it.`);
    const res = await this.store.txn(
      [{ key: ClusterKeys.node(id), modRevision: 0 }],
      [{ type: 'delete', key: ClusterKeys.member(id) }],
    );
    if (!res.ok) throw conflict(`Node ${id} is live: stop it before removing it.`);
  }

  /** Leaves the cluster for good: deletes the member record, then revokes the lease. */
  async leave(): Promise<void> {
    await this.store.delete(ClusterKeys.member(this.nodeId));
    await this.close();
  }

  /** Stops: not live, lease revoked (the record goes at once), watches stopped. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.notifyLive();
    this.nodesCache.close();
    this.membersCache.close();
    const lease = this.currentLease;
    this.currentLease = undefined;
    await lease?.revoke().catch((e: unknown) => this.report(e));
  }

  // ---- internals -------------------------------------------------------------------------------

  private startFreshRead(): Promise<ReadonlyMap<string, NodeView>> {
    const read: Promise<ReadonlyMap<string, NodeView>> = this.readLiveNodes().finally(() => {
      if (this.freshRead === read) this.freshRead = undefined;
    });
    this.freshRead = read;
    return read;
  }

  private async readLiveNodes(): Promise<ReadonlyMap<string, NodeView>> {
    if (this.closed) throw new KeymeshError('UNAVAILABLE', 'membership is closed');
    const prefix = ClusterKeys.nodesPrefix;
    const out = new Map<string, NodeView>();
    for (const e of await this.store.list(prefix, { limit: MAX_LIST_LIMIT })) {
      const id = e.key.slice(prefix.length);
      const rec = isNodeId(id) ? parseNodeRecord(e.value, id) : undefined;
      if (!rec) continue;
      out.set(id, {
        id,
        region: rec.region,
        level: rec.level,
        endpoints: rec.endpoints,
        transportPublicKey: rec.transportPublicKey,
        attestation: rec.attestation,
        live: true,
        attested: this.isAttested(rec),
        startedAt: rec.startedAt,
        lease: rec.lease,
        leaseTtlSeconds: rec.leaseTtlSeconds,
      });
    }
    return out;
  }

  private isAttested(reg: NodeRegistration): boolean {
    if (this.opts.ca === undefined) return false;
    const cacheKey = JSON.stringify(reg);
    let st = this.attestCache.get(cacheKey);
    if (!this.attestCache.has(cacheKey)) {
      st = attestedStatement(reg, this.opts.ca, (this.opts.now ?? Date.now)());
      if (this.attestCache.size > 1000) this.attestCache.clear();
      this.attestCache.set(cacheKey, st);
    }
    // A cached verdict still expires with the statement.
    return st !== undefined && (this.opts.now ?? Date.now)() < st.expiresAt;
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onError) this.opts.onError(err);
    else console.error('keymesh cluster membership:', err);
  }

  private notifyLive(): void {
    const live = this.isLive();
    if (live === this.wasLive) return;
    this.wasLive = live;
    for (const cb of this.liveListeners) {
      try {
        cb(live);
      } catch (e) {
        this.report(e);
      }
    }
  }

  private viewChanged(c: PrefixChange): void {
    if (c.value !== undefined) {
      const id = c.key.slice(
        c.key.startsWith(ClusterKeys.nodesPrefix)
          ? ClusterKeys.nodesPrefix.length
          : ClusterKeys.membersPrefix.length,
      );
      const ok = c.key.startsWith(ClusterKeys.nodesPrefix)
        ? parseNodeRecord(c.value, id)
        : parseMemberRecord(c.value, id);
      if (!ok)
        this.report(
          new KeymeshError('INTERNAL', `ignoring a malformed cluster record at ${c.key.slice(0, 200)}`),
        );
    }
    // Our own leased record deleted or replaced under a lease we still hold (an operator removed it,
    // or another process took the id): we are not registered any more, whatever the lease says.
    if (c.key === ClusterKeys.node(this.nodeId) && this.currentLease && this.ready) {
      const rec = c.value === undefined ? undefined : parseNodeRecord(c.value, this.nodeId);
      if (rec?.lease !== this.currentLease.id) {
        const lease = this.currentLease;
        void lease.revoke().catch(() => undefined); // onLost then re-registers
      }
    }
    if (this.changeListeners.size === 0) return;
    const view = this.nodes();
    for (const cb of this.changeListeners) {
      try {
        cb(view);
      } catch (e) {
        this.report(e);
      }
    }
  }

  private lost(lease: EtcdLease): void {
    if (this.currentLease !== lease) return;
    this.ready = false;
    this.notifyLive();
    this.keepRegistering();
  }

  /** Re-register until live again (or closed), one attempt at a time. */
  private keepRegistering(): void {
    if (this.closed || this.registering) return;
    this.registering = (async () => {
      let backoff = 100;
      while (!this.closed && !this.isLive()) {
        try {
          await this.register();
        } catch (e) {
          this.report(e);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 2000);
        }
      }
    })().finally(() => {
      this.registering = undefined;
      // A loss reported while the loop was finishing found it still running: look again.
      if (!this.closed && !this.isLive()) this.keepRegistering();
    });
  }

  /** One registration: new lease, records in one txn, catch up, live. */
  private async register(): Promise<void> {
    const store = this.store;
    const lease = await store.grantLease(this.ttl);
    try {
      const revision = await this.writeRecords(lease);
      this.pastLeases.add(lease.id);
      if (this.closed) throw new KeymeshError('UNAVAILABLE', 'membership is closed');
      this.currentLease = lease;
      this.ready = false;
      lease.onLost(() => this.lost(lease));
      // Our own view includes our registration before we say we are live.
      const waitMs = this.ttl * 1000;
      await Promise.all([
        this.nodesCache.waitForRevision(revision, waitMs),
        this.membersCache.waitForRevision(revision, waitMs),
      ]);
      if (this.opts.ready) await this.opts.ready({ lease, revision });
      if (this.closed || this.currentLease !== lease) return;
      if (lease.lost) throw new KeymeshError('UNAVAILABLE', 'the lease was lost while catching up');
      this.ready = true;
      this.notifyLive();
    } catch (e) {
      if (this.currentLease === lease) this.currentLease = undefined;
      await lease.revoke().catch(() => undefined);
      throw e;
    }
  }

  private async writeRecords(lease: EtcdLease): Promise<number> {
    const nodeKey = ClusterKeys.node(this.nodeId);
    const memberKey = ClusterKeys.member(this.nodeId);
    let waitUntil: number | undefined;
    for (;;) {
      if (this.closed) throw new KeymeshError('UNAVAILABLE', 'membership is closed');
      if (lease.lost) throw new KeymeshError('UNAVAILABLE', 'the new lease was lost before registering');
      const [existing, member] = await Promise.all([this.store.get(nodeKey), this.store.get(memberKey)]);
      if (existing) {
        const rec = parseNodeRecord(existing.value, this.nodeId);
        // Ours from an earlier lease (not yet expired in etcd): replace it. Anyone else's: it may
        // be a crashed earlier process whose lease has not run out yet, or a live duplicate. Wait
        // for it to go; if it does not, refuse to run twice under one id.
        if (!rec || !this.pastLeases.has(rec.lease)) {
          const ttlMs = (rec?.leaseTtlSeconds ?? this.ttl) * 1000;
          waitUntil ??= Date.now() + (this.opts.duplicateWaitMs ?? 2 * ttlMs + 1000);
          if (Date.now() > waitUntil)
            throw conflict(`Another process is registered as node ${this.nodeId}; node ids must be unique.`);
          await sleep(Math.min(250, ttlMs / 4));
          continue;
        }
      }
      const now = new Date().toISOString();
      const prevMember = member ? parseMemberRecord(member.value, this.nodeId) : undefined;
      const record: NodeRecord = {
        ...this.self,
        startedAt: this.startedAt,
        registeredAt: now,
        lease: lease.id,
        leaseTtlSeconds: this.ttl,
      };
      const memberRecord: MemberRecord = {
        ...this.self,
        joinedAt: prevMember?.joinedAt ?? now,
        updatedAt: now,
      };
      const res = await this.store.txn(
        [
          { key: nodeKey, modRevision: existing?.modRevision ?? 0 },
          { key: memberKey, modRevision: member?.modRevision ?? 0 },
        ],
        [
          // A delete then a put would be two ops on one key (refused); a put under the new lease
          // replaces the old record, and etcd detaches it from the old lease.
          { type: 'put', key: nodeKey, value: JSON.stringify(record), lease },
          { type: 'put', key: memberKey, value: JSON.stringify(memberRecord) },
        ],
      );
      if (res.ok) return res.revision;
      // Lost a race (our old record expired meanwhile, or the member record changed): look again.
    }
  }
}
