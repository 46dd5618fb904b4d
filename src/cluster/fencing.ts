// Fencing: a key's state change (deactivate, compromise, destroy) is in force on every node before
// the call that made it returns (DESIGN.md, "Cluster: placement and sync"; issue 4, point 5).
//
// Protocol, all through etcd (no messages between nodes):
// 1. The writer changes `keys/<id>` with a compare-and-set on its modRevision (the core already
//    does); the commit revision is `rev`.
// 2. Every holder of a replica sees the change through its watch of `keys/`, applies it (its cache
//    says the key may not sign; the enclave evicts the unsealed copy), and only then writes
//    `cluster/acks/<keyId>/<rev>/<nodeId>` under its own lease (StateAcker, below).
// 3. The writer calls `awaitAcks(keyId, rev, holders)`. From a linearizable read of
//    `cluster/nodes/` made after the commit, each holder is
//    - not live: no leased record. It is not live by its own clock either (a node counts its lease
//      from when a keepalive was sent, so it stops no later than etcd drops the record), and it
//      becomes live again only after re-registering and catching up (Membership `ready`), which
//      includes `rev`;
//    - caught up: its record was written after `rev` (record modRevision > rev): it registered
//      after the change, and registration ends with catching up;
//    - otherwise pending on the lease L it is registered with. It is done when an ack for a
//      revision ≥ rev appears (a holder that reloaded after a compaction acks the revision it saw),
//      or when its record with L is deleted or re-written under another lease (L is gone: as
//      "not live" above).
// 4. A holder still pending after its lease time (its TTL, or `leaseTimeMs`) is fenced: the writer
//    revokes L, then waits the holder's TTL (plus a margin for clock rates and an in-flight
//    signature). Every keepalive the holder had acknowledged was sent before the revoke, so by
//    then its own `remainingMs()` is ≤ 0: `isLive()` is false and it signs nothing, even if it is
//    partitioned and never heard of the revoke. It re-registers and catches up by itself.
// The worst case for the call is therefore lease time + TTL + margin. Acks are leased to their
// writer and the writer of `rev` deletes the acks of `rev` when done, so they do not pile up.
//
// Revoking another node's lease needs an RPC the Store extras do not wrap (EtcdLease revokes only
// a lease it holds); `revokeLeaseById` goes through EtcdStore's @internal `call`/`rpc` so that it
// has the same deadlines, retries and error mapping. It belongs in src/store/etcd.ts as
// `revokeLease(id)` when that file is next touched.
import { performance } from 'node:perf_hooks';
import { KeymeshError, invalid } from '../errors.js';
import type { EtcdStore } from '../store/etcd.js';
import type { Entry, WatchEvent } from '../store/store.js';
import { ClusterKeys, checkKeyId, checkNodeId } from './ids.js';
import { parseNodeRecord, type Membership } from './membership.js';
import { PrefixCache, type PrefixChange } from './prefix-cache.js';
import { ClusterLayout, KEYS_PREFIX } from '../store/layout.js';

/** Added to a fenced holder's TTL before it is counted as stopped: clock-rate differences (1 %)
 * and a signature that was already being made when its lease ran out. */
export const FENCE_MARGIN_MS = 250;
const MAX_HOLDERS = 128;

export interface AckOutcome {
  /** Acknowledged the change (an ack at a revision ≥ rev). */
  acked: string[];
  /** Not live when the change committed, or registered after it (caught up on registration). */
  notLive: string[];
  /** Its lease ended while we waited (expired, or it re-registered): it caught up or will. */
  gone: string[];
  /** Did not acknowledge within its lease time: lease revoked, and its TTL waited out. */
  fenced: string[];
  elapsedMs: number;
}

export interface AwaitAcksOptions {
  /** How long a holder has to acknowledge; default its own lease TTL. */
  leaseTimeMs?: number;
  marginMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Revoke any lease by id (see the module header). Already gone counts as revoked. */
export async function revokeLeaseById(store: EtcdStore, leaseId: string): Promise<void> {
  if (!/^[1-9][0-9]{0,18}$/.test(leaseId)) throw invalid('a lease id is a positive decimal integer');
  try {
    await store.call('write', (o) => store.rpc.leaseClient.leaseRevoke({ ID: leaseId }, o));
  } catch (e) {
    if (e instanceof KeymeshError && e.code === 'CONFLICT') return; // lease not found: already gone
    throw e;
  }
}

function parseAckKey(key: string, keyId: string): { revision: number; nodeId: string } | undefined {
  const prefix = ClusterLayout.acksOf(keyId);
  if (!key.startsWith(prefix)) return undefined;
  const [rev, nodeId, ...rest] = key.slice(prefix.length).split('/');
  if (rest.length || !rev || !nodeId || !/^[1-9][0-9]{0,15}$/.test(rev)) return undefined;
  return { revision: Number(rev), nodeId };
}

interface Pending {
  lease: string;
  ttlMs: number;
}

/**
 * Writer side: resolves when every live holder of `keyId` has applied the change committed at
 * `revision`, fencing those that do not in time. Call it after the compare-and-set committed.
 * Rejects (UNAVAILABLE) only when etcd cannot be reached to read, watch or revoke: the change is
 * then committed but not confirmed in force everywhere.
 */
export async function awaitAcks(
  store: EtcdStore,
  keyId: string,
  revision: number,
  holders: readonly string[],
  opts: AwaitAcksOptions = {},
): Promise<AckOutcome> {
  const t0 = performance.now();
  checkKeyId(keyId);
  if (!Number.isSafeInteger(revision) || revision < 1) throw invalid('revision must be a whole number ≥ 1');
  if (!Array.isArray(holders) || holders.length > MAX_HOLDERS)
    throw invalid(`holders must be a list of at most ${MAX_HOLDERS} node ids`);
  const want = new Set(holders.map((h) => checkNodeId(h)));
  if (opts.leaseTimeMs !== undefined && (!Number.isSafeInteger(opts.leaseTimeMs) || opts.leaseTimeMs < 0))
    throw invalid('leaseTimeMs must be a whole number of milliseconds');
  const margin = opts.marginMs ?? FENCE_MARGIN_MS;
  const out: AckOutcome = { acked: [], notLive: [], gone: [], fenced: [], elapsedMs: 0 };
  if (want.size === 0) return out;

  const pending = new Map<string, Pending>();
  const acked = new Set<string>();
  const waiters = new Set<() => void>();
  const wakeAll = () => {
    for (const w of [...waiters]) w();
  };
  const settle = (id: string, into: 'acked' | 'gone') => {
    if (!pending.delete(id)) return;
    out[into].push(id);
    wakeAll();
  };
  let failed: Error | undefined;
  const fail = (e: Error) => {
    failed ??= e;
    wakeAll();
  };

  const ackPrefix = ClusterLayout.acksOf(keyId);
  const onAck = (key: string) => {
    const a = parseAckKey(key, keyId);
    if (!a || a.revision < revision || !want.has(a.nodeId)) return;
    acked.add(a.nodeId);
    settle(a.nodeId, 'acked');
  };
  let stopAcks: (() => void) | undefined;
  let stopNodes: (() => void) | undefined;
  try {
    // Both listings (linearizable reads, so at revisions ≥ the commit) and both watches at once:
    // this is on the latency of every state change. Membership events that arrive before the
    // holders are classified wait in `earlyNodeEvents`.
    const [acks, nodes] = await Promise.all([
      store.listWithRevision(ackPrefix),
      store.listWithRevision(ClusterKeys.nodesPrefix),
    ]);
    let classified = false;
    const earlyNodeEvents: WatchEvent[] = [];
    const onNode = (ev: WatchEvent) => {
      if (!classified) return void earlyNodeEvents.push(ev);
      const id = ev.key.slice(ClusterKeys.nodesPrefix.length);
      const p = pending.get(id);
      if (!p) return;
      const rec = ev.type === 'put' ? parseNodeRecord(ev.value ?? '', id) : undefined;
      if (rec?.lease !== p.lease) settle(id, 'gone');
    };
    const [sa, sn] = await Promise.allSettled([
      store.watchFrom(
        ackPrefix,
        acks.revision + 1,
        (ev) => {
          if (ev.type === 'put') onAck(ev.key);
        },
        { onError: fail },
      ),
      store.watchFrom(ClusterKeys.nodesPrefix, nodes.revision + 1, onNode, { onError: fail }),
    ]);
    if (sa.status === 'fulfilled') stopAcks = sa.value;
    if (sn.status === 'fulfilled') stopNodes = sn.value;
    if (sa.status === 'rejected') throw sa.reason;
    if (sn.status === 'rejected') throw sn.reason;
    for (const e of acks.entries) onAck(e.key);

    const records = new Map<string, Entry>(
      nodes.entries.map((e) => [e.key.slice(ClusterKeys.nodesPrefix.length), e]),
    );
    for (const id of want) {
      const e = records.get(id);
      const rec = e && parseNodeRecord(e.value, id);
      if (acked.has(id)) out.acked.push(id);
      else if (!e || !rec || e.modRevision > revision) out.notLive.push(id);
      else pending.set(id, { lease: rec.lease, ttlMs: rec.leaseTtlSeconds * 1000 });
    }
    classified = true;
    for (const ev of earlyNodeEvents.splice(0)) onNode(ev);

    // Each pending holder: wait for its ack until its lease time, then fence it.
    const fenceOne = async (id: string, p: Pending) => {
      const until = t0 + (opts.leaseTimeMs ?? p.ttlMs);
      while (pending.get(id) === p && !failed) {
        const left = until - performance.now();
        if (left <= 0) break;
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, left);
          waiters.add(done);
        });
      }
      if (pending.get(id) !== p || failed) return;
      // From here it is fenced whatever happens to its record (revoking deletes it).
      pending.delete(id);
      await revokeLeaseById(store, p.lease);
      await sleep(p.ttlMs * 1.01 + margin);
      out.fenced.push(id);
    };
    // Every fence runs to its end even if one fails: a revoke already sent must be waited out.
    const results = await Promise.allSettled([...pending].map(([id, p]) => fenceOne(id, p)));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    if (failed) throw failed;
  } finally {
    stopAcks?.();
    stopNodes?.();
  }
  // Our acks are no longer needed; leftover ones go with their writers' leases anyway. Deleted
  // after the caller has its answer: the change is in force already, and this is housekeeping.
  const mine = out.acked.map((id) => ({
    type: 'delete' as const,
    key: ClusterKeys.ack(keyId, revision, id),
  }));
  void (async () => {
    for (let i = 0; i < mine.length; i += 128)
      await store.txn([], mine.slice(i, i + 128)).catch(() => undefined);
  })();
  out.elapsedMs = Math.round(performance.now() - t0);
  for (const k of ['acked', 'notLive', 'gone', 'fenced'] as const) out[k].sort();
  return out;
}

/** Holder side: record that this node has applied `keyId`'s change at `revision`. False when the
 * node holds no usable lease (it then counts as not live for the writer, or is fenced). */
export async function acknowledge(
  store: EtcdStore,
  membership: Membership,
  keyId: string,
  revision: number,
): Promise<boolean> {
  checkKeyId(keyId);
  if (!Number.isSafeInteger(revision) || revision < 1) throw invalid('revision must be a whole number ≥ 1');
  const lease = membership.lease;
  if (!lease || lease.lost) return false;
  const value = JSON.stringify({ nodeId: membership.nodeId, revision, at: new Date().toISOString() });
  try {
    await store.putWithLease(ClusterKeys.ack(keyId, revision, membership.nodeId), value, lease);
    return true;
  } catch (e) {
    if (e instanceof KeymeshError && e.code === 'CONFLICT') return false; // the lease just ended
    throw e;
  }
}

export interface KeyChange {
  keyId: string;
  /** The record's JSON, or undefined when the record was deleted. */
  value: string | undefined;
  previous: string | undefined;
  modRevision: number;
}

export interface StateAckerOptions {
  /** Whether this node holds a replica of `keyId` (only holders apply and acknowledge). */
  holds: (keyId: string) => boolean;
  /** Apply the change locally (cache, enclave eviction). The ack is written after it resolves. */
  apply: (change: KeyChange) => Promise<void> | void;
  /** Which changes are acknowledged. Default `defaultNeedsAck`: a deleted record, or one whose
   * `state` is not "active" (deactivate, compromise, destroy). */
  needsAck?: (change: KeyChange) => boolean;
  /** The key records' prefix; default `keys/`. */
  prefix?: string;
  onError?: (err: Error) => void;
}

function stateOf(json: string | undefined): string | undefined {
  if (json === undefined) return undefined;
  try {
    const s = (JSON.parse(json) as { state?: unknown }).state;
    return typeof s === 'string' ? s : undefined;
  } catch {
    return undefined;
  }
}

/** A deleted record, or one in a state that may not sign (deactivated, compromised, destroyed).
 * The writer must call `awaitAcks` only for changes its holders acknowledge: waiting on one they
 * do not (a re-activation) would fence them all. */
export function defaultNeedsAck(c: KeyChange): boolean {
  return c.value === undefined || stateOf(c.value) !== 'active';
}

/**
 * Holder side, end to end: watches the key records (list, then watch: no gaps), and for each change
 * to a key this node holds, applies it, then acknowledges it. Changes are handled one at a time,
 * in revision order. `resync()` re-lists (use it as, or inside, Membership's `ready`).
 */
export class StateAcker {
  private cache!: PrefixCache;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly store: EtcdStore,
    private readonly membership: () => Membership | undefined,
    private readonly opts: StateAckerOptions,
  ) {}

  /** `membership` is a getter so the acker can start before the node joins (its `ready` hook
   * can then resync the acker). */
  static async start(
    store: EtcdStore,
    membership: () => Membership | undefined,
    opts: StateAckerOptions,
  ): Promise<StateAcker> {
    const a = new StateAcker(store, membership, opts);
    a.cache = await PrefixCache.start(store, opts.prefix ?? KEYS_PREFIX, {
      onChange: (c) => a.enqueue(c),
      onError: (e) => a.report(e),
    });
    return a;
  }

  /** Re-list the records and wait until every change found is applied and acknowledged. */
  async resync(): Promise<void> {
    await this.cache.resync();
    await this.chain;
  }

  /** Resolves when every change seen so far is applied and acknowledged. */
  async idle(): Promise<void> {
    await this.chain;
  }

  close(): void {
    this.closed = true;
    this.cache.close();
  }

  private report(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    if (this.opts.onError) this.opts.onError(err);
    else console.error('keymesh cluster: state acker:', err);
  }

  private enqueue(c: PrefixChange): void {
    const prefix = this.opts.prefix ?? KEYS_PREFIX;
    const keyId = c.key.slice(prefix.length);
    if (!keyId || keyId.includes('/')) return;
    const change: KeyChange = { keyId, value: c.value, previous: c.previous, modRevision: c.modRevision };
    this.chain = this.chain.then(async () => {
      if (this.closed || !this.opts.holds(keyId)) return;
      try {
        await this.opts.apply(change);
        if ((this.opts.needsAck ?? defaultNeedsAck)(change)) {
          const m = this.membership();
          if (m) await acknowledge(this.store, m, keyId, change.modRevision);
        }
      } catch (e) {
        this.report(e);
      }
    });
  }
}
