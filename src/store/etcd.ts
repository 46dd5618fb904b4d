// The cluster Store on etcd v3 (npm `etcd3` client). Owns the mapping of the Store interface onto
// etcd's KV, Txn and Watch APIs, the key namespace, error mapping, and the extras the cluster
// layer builds on (leases, put-with-lease, list-then-watch from a revision). No consensus of our
// own: revisions, ordering and durability are etcd's (a resolved write is Raft-committed).
//
// The parts live beside it: etcd/client.ts opens the client with the fault handling below,
// etcd/faults.ts runs one RPC (deadlines, retries, error mapping), etcd/watch.ts delivers watches,
// etcd/lease.ts keeps leases alive. This file is the Store itself and what others import.
//
// Why the client is wrapped as it is (etcd3@1 behaviour, read from its source):
// - Its default fault handling retries any "recoverable" error up to 3 times on another member,
//   including writes whose first attempt may have committed (a lost reply): a retried CAS txn would
//   then report ok:false for a write that happened. Here the client makes one attempt per call and
//   `call()` retries: reads on any transient error, writes only when the request provably never
//   reached etcd (connection refused, circuit open, no leader). Otherwise a write fails with
//   UNAVAILABLE, details.outcome 'unknown'.
// - It sets no deadline, and a call to an unreachable (not refusing) member waits forever. Every
//   unary call gets a per-attempt deadline and every operation an overall budget.
// - Its watch resumes after a reconnect from the last *header* revision + 1, which can skip events
//   that were still queued server-side. `watch` tracks the revision of the last delivered event and
//   resumes from the one after it, dropping duplicates.
// - Its per-member circuit breaker opens for 5 s; after a rolling restart all can be open at once
//   and every call is refused though a quorum is up. Ours opens for 1 s (memberBreaker).
// - A failed call resets every gRPC channel to that member, including watch streams; those then
//   reconnect and resume as above.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Etcd3, IKeyValue, IRequestOp } from 'etcd3';
import { KeymeshError, invalid } from '../errors.js';
import { createEtcdClient, num, ZERO } from './etcd/client.js';
import { callEtcd, type CallLimits } from './etcd/faults.js';
import { EtcdLease, leaseId } from './etcd/lease.js';
import { watchPrefix, type LiveWatch, type WatchHost } from './etcd/watch.js';
import {
  MAX_LIST_BYTES,
  checkKey,
  checkList,
  checkTxn,
  checkValue,
  listTooLarge,
  prefixEnd,
} from './limits.js';
import type { Compare, Entry, ListOptions, Op, Store, TxnResult, WatchEvent, WatchOptions } from './store.js';

export { EtcdLease } from './etcd/lease.js';

export interface EtcdStoreOptions {
  /** Prepended to every key (e.g. "keymesh/prod/"), so several clusters or tests share one etcd. */
  namespace?: string;
  /** Deadline of one RPC attempt. Default 5000 ms. */
  callTimeoutMs?: number;
  /** Budget of one Store operation across retries; then UNAVAILABLE. Default 15000 ms. */
  opTimeoutMs?: number;
  /** TLS to etcd (endpoints then start with https://). PEM buffers. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

/** An op that may attach a lease (the key is deleted when the lease ends). */
export type EtcdOp = Op | { type: 'put'; key: string; value: string; lease: EtcdLease | string };

const MAX_NAMESPACE_BYTES = 256;

export async function openEtcdStore(endpoints: string[], opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
  const store = new EtcdStore(endpoints, opts);
  try {
    // Fail now, not on first use, when no member answers.
    await store.currentRevision();
  } catch (e) {
    await store.close();
    throw e;
  }
  return store;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  readonly endpoints: readonly string[];
  readonly namespace: string;
  private readonly ns: Buffer;
  private readonly client: Etcd3;
  private readonly limits: CallLimits;
  private readonly watchHost: WatchHost;
  private closed = false;
  private readonly watches = new Set<LiveWatch>();
  private readonly leases = new Set<EtcdLease>();

  constructor(endpoints: string[], opts: EtcdStoreOptions = {}) {
    if (
      !Array.isArray(endpoints) ||
      endpoints.length === 0 ||
      endpoints.some((e) => typeof e !== 'string' || !e)
    )
      throw invalid('etcd endpoints must be a non-empty list of host:port or http(s)://host:port');
    this.endpoints = [...endpoints];
    this.namespace = opts.namespace ?? '';
    if (typeof this.namespace !== 'string' || Buffer.byteLength(this.namespace) > MAX_NAMESPACE_BYTES)
      throw invalid(`the etcd namespace must be a string of at most ${MAX_NAMESPACE_BYTES} bytes`);
    this.ns = Buffer.from(this.namespace, 'utf8');
    const callTimeoutMs = opts.callTimeoutMs ?? 5000;
    const opTimeoutMs = opts.opTimeoutMs ?? 15_000;
    this.client = createEtcdClient(this.endpoints, { callTimeoutMs, tls: opts.tls });
    const isClosed = () => this.closed;
    this.limits = { callTimeoutMs, opTimeoutMs, isClosed };
    this.watchHost = {
      client: this.client,
      opTimeoutMs,
      watches: this.watches,
      isClosed,
      toEtcdKey: (key) => this.k(key),
      fromEtcdKey: (key) => this.unk(key),
    };
  }

  // ---- Store ------------------------------------------------------------------------------

  async get(key: string): Promise<Entry | undefined> {
    checkKey(key);
    const res = await this.call('read', (o) => this.client.kv.range({ key: this.k(key) }, o));
    const kv = res.kvs[0];
    return kv && this.entry(kv);
  }

  async list(prefix: string, opts?: ListOptions): Promise<Entry[]> {
    return (await this.listWithRevision(prefix, opts)).entries;
  }

  async put(key: string, value: string): Promise<number> {
    checkKey(key);
    checkValue(value);
    const res = await this.call('write', (o) =>
      this.client.kv.put({ key: this.k(key), value: Buffer.from(value, 'utf8') }, o),
    );
    return num(res.header.revision);
  }

  async delete(key: string): Promise<boolean> {
    checkKey(key);
    const res = await this.call('write', (o) => this.client.kv.deleteRange({ key: this.k(key) }, o));
    return num(res.deleted) > 0;
  }

  /** Store.txn; ops may also be puts with a lease (EtcdOp). */
  async txn(compares: Compare[], ops: EtcdOp[]): Promise<TxnResult> {
    checkTxn(compares, ops);
    const success: IRequestOp[] = ops.map((op) =>
      op.type === 'put'
        ? {
            request_put: {
              key: this.k(op.key),
              value: Buffer.from(op.value, 'utf8'),
              ...('lease' in op ? { lease: leaseId(op.lease) } : {}),
            },
          }
        : { request_delete_range: { key: this.k(op.key) } },
    );
    const res = await this.call('write', (o) =>
      this.client.kv.txn(
        {
          compare: compares.map((c) => ({
            key: this.k(c.key),
            target: 'Mod' as const,
            result: 'Equal' as const,
            mod_revision: c.modRevision,
          })),
          success,
          failure: [],
        },
        o,
      ),
    );
    return { ok: res.succeeded, revision: num(res.header.revision) };
  }

  async watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<() => void> {
    return this.watchFrom(prefix, undefined, onEvent, opts);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.leases) l.stop();
    this.leases.clear();
    // Detach watchers before closing the client, or its watch manager keeps reconnecting (timers
    // that would outlive the store).
    const cancels = [...this.watches].map((w) => {
      w.active = false;
      return w.watcher.cancel().catch(() => undefined);
    });
    this.watches.clear();
    await Promise.race([Promise.all(cancels), sleep(1000)]);
    this.client.close();
  }

  // ---- Extras for the cluster layer (not on the Store interface) ------------------------------

  /** The cluster's current revision (a linearizable read). */
  async currentRevision(): Promise<number> {
    const res = await this.call('read', (o) =>
      this.client.kv.range({ key: this.ns.length ? this.ns : ZERO, count_only: true }, o),
    );
    return num(res.header.revision);
  }

  /** `list` plus the revision it was read at: list, then `watchFrom(prefix, revision + 1)` sees
   * every later change exactly once (the list-then-watch pattern for a cache). */
  async listWithRevision(
    prefix: string,
    opts?: ListOptions,
  ): Promise<{ entries: Entry[]; revision: number }> {
    const limit = checkList(prefix, opts);
    const p = this.k(prefix);
    let start = p;
    if (opts?.after !== undefined) {
      const a = Buffer.concat([this.k(opts.after), ZERO]);
      if (Buffer.compare(a, start) > 0) start = a;
    }
    const end = prefixEnd(p);
    if (end && Buffer.compare(start, end) >= 0) {
      return { entries: [], revision: await this.currentRevision() };
    }
    const res = await this.call('read', (o) =>
      this.client.kv.range({ key: start.length ? start : ZERO, range_end: end ?? ZERO, limit }, o),
    );
    // Same bound as SQLite's (etcd itself would answer up to MAX_RECEIVE_BYTES).
    let bytes = 0;
    for (const kv of res.kvs) bytes += kv.key.length - this.ns.length + kv.value.length;
    if (bytes > MAX_LIST_BYTES) throw listTooLarge();
    return { entries: res.kvs.map((kv) => this.entry(kv)), revision: num(res.header.revision) };
  }

  /**
   * Like `watch`, but from a given revision (inclusive) when `fromRevision` is set: replays the
   * changes since then if etcd still holds them, else fails with UNAVAILABLE (compacted).
   */
  async watchFrom(
    prefix: string,
    fromRevision: number | undefined,
    onEvent: (ev: WatchEvent) => void,
    opts?: WatchOptions,
  ): Promise<() => void> {
    return watchPrefix(this.watchHost, prefix, fromRevision, onEvent, opts);
  }

  /**
   * Grants a lease of `ttlSeconds` (etcd may round it up) and keeps it alive every ttl/3 until
   * `revoke()` or loss. The lease tracks, on the monotonic clock, how long etcd is certain to
   * keep it: `remainingMs()` counts from when the last acknowledged keepalive was *sent*, so a
   * holder that stops acting when it reaches 0 never acts after etcd expired the lease (clock-rate
   * drift aside). It reports loss once: expired, revoked, or not renewed in time.
   */
  async grantLease(ttlSeconds: number, opts: { autoKeepAlive?: boolean } = {}): Promise<EtcdLease> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 3600)
      throw invalid('a lease TTL is a whole number of seconds from 1 to 3600');
    // A grant whose reply is lost leaves an unused lease that expires by itself: retry like a read.
    const sentAt = performance.now();
    const res = await this.call('read', (o) => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds }, o));
    if (res.error)
      throw new KeymeshError('UNAVAILABLE', 'etcd refused the lease.', { details: { etcd: res.error } });
    const lease = new EtcdLease(this, res.ID, ttlSeconds, sentAt, opts.autoKeepAlive !== false);
    this.leases.add(lease);
    return lease;
  }

  /** Unconditional put attached to a lease: the key disappears when the lease ends. */
  async putWithLease(key: string, value: string, lease: EtcdLease | string): Promise<number> {
    checkKey(key);
    checkValue(value);
    const res = await this.call('write', (o) =>
      this.client.kv.put({ key: this.k(key), value: Buffer.from(value, 'utf8'), lease: leaseId(lease) }, o),
    );
    return num(res.header.revision);
  }

  // ---- internals (used by EtcdLease too) ----------------------------------------

  /** @internal Runs one etcd RPC with deadlines, retries and error mapping (etcd/faults.ts). */
  async call<T>(kind: 'read' | 'write', fn: (o: { deadline: number }) => Promise<T>): Promise<T> {
    return callEtcd(this.limits, kind, fn);
  }

  /** @internal */
  get rpc(): Etcd3 {
    return this.client;
  }

  /** @internal */
  forget(lease: EtcdLease): void {
    this.leases.delete(lease);
  }

  private k(key: string): Buffer {
    return this.ns.length ? Buffer.concat([this.ns, Buffer.from(key, 'utf8')]) : Buffer.from(key, 'utf8');
  }

  private unk(key: Buffer): string {
    return key.subarray(this.ns.length).toString('utf8');
  }

  private entry(kv: IKeyValue): Entry {
    return {
      key: this.unk(kv.key),
      value: kv.value.toString('utf8'),
      createRevision: num(kv.create_revision),
      modRevision: num(kv.mod_revision),
    };
  }
}
