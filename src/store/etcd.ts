// The cluster Store on etcd v3 (npm `etcd3` client). Owns the mapping of the Store interface onto
// etcd's KV, Txn and Watch APIs, the key namespace, retries (what a failure means is
// etcd-failures.ts), and the extras the cluster layer builds on (leases, put-with-lease, leader
// election). No consensus of our own: revisions, ordering and durability are etcd's (a resolved
// write is Raft-committed).
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
import { performance } from 'node:perf_hooks';
import {
  Etcd3,
  isRecoverableError,
  type IKeyValue,
  type IOptions,
  type IWatchResponse,
  type IRequestOp,
  type Watcher,
} from 'etcd3';
import { KeymeshError, invalid } from '../errors.js';
import { recognise } from './etcd-failures.js';
import {
  MAX_LIST_BYTES,
  checkKey,
  checkList,
  checkPrefix,
  checkTxn,
  checkValue,
  closedError,
  listTooLarge,
  prefixEnd,
} from './limits.js';
import type { Compare, Entry, ListOptions, Op, Store, TxnResult, WatchEvent, WatchOptions } from './store.js';

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
// Above MAX_LIST_BYTES plus framing, so oversized listings fail with our error, not gRPC's.
const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;
const ZERO = Buffer.of(0);

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const num = (s: string | number | undefined) => Number(s ?? 0);

// The client's global fault policy, replaced by one that runs each call once (see header). Typed
// from etcd3's own options so the `cockatiel` package need not be a direct dependency; etcd3 only
// ever calls `execute` on it.
type GlobalPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;
const noEvent = () => ({ dispose() {} });
const singleAttempt = {
  onSuccess: noEvent,
  onFailure: noEvent,
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
} as unknown as GlobalPolicy;

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** Thrown without calling a member whose breaker is open; etcd3 then tries the next member. Its
 * own class (not Error) so etcd3 passes it through unchanged, flag included. */
class MemberCircuitOpen extends Error {
  readonly isBrokenCircuitError = true;
  constructor() {
    super('etcd member skipped: its circuit breaker is open');
  }
}

/**
 * Per-member circuit breaker, replacing etcd3's default (open 5 s after 3 consecutive failures).
 * After a rolling restart every member's breaker can be open at once, and the default then refuses
 * all calls for up to 5 s although a quorum is up. This one opens for 1 s, then lets one probe
 * call through; a member that answers at all (even with an etcd error) closes it.
 */
function memberBreaker(): HostPolicy {
  const THRESHOLD = 3;
  const OPEN_MS = 1000;
  let failures = 0;
  let openUntil = 0;
  let probing = false;
  return {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) {
      let probe = false;
      if (failures >= THRESHOLD) {
        if (Date.now() < openUntil || probing) throw new MemberCircuitOpen();
        probing = probe = true;
      }
      try {
        const v = await fn({ signal: signal ?? new AbortController().signal });
        failures = 0;
        return v;
      } catch (e) {
        if (e instanceof Error && isRecoverableError(e)) {
          if (++failures >= THRESHOLD) openUntil = Date.now() + OPEN_MS;
        } else failures = 0;
        throw e;
      } finally {
        if (probe) probing = false;
      }
    },
  } as unknown as HostPolicy;
}

/** Watch-stream reconnect delays: 50 ms doubling to 1 s (etcd3's default grows to 30 s). */
function watchBackoff(attempt = 0): WatchBackoff {
  return {
    duration: Math.min(1000, 50 * 2 ** attempt) * (0.75 + Math.random() / 2),
    next: () => watchBackoff(attempt + 1),
  } as unknown as WatchBackoff;
}

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

interface LiveWatch {
  watcher: Watcher;
  active: boolean;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  readonly endpoints: readonly string[];
  readonly namespace: string;
  private readonly ns: Buffer;
  private readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly opTimeoutMs: number;
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
    this.callTimeoutMs = opts.callTimeoutMs ?? 5000;
    this.opTimeoutMs = opts.opTimeoutMs ?? 15_000;
    const callTimeoutMs = this.callTimeoutMs;
    this.client = new Etcd3({
      hosts: [...this.endpoints],
      ...(opts.tls
        ? {
            credentials: { rootCertificate: opts.tls.ca, privateKey: opts.tls.key, certChain: opts.tls.cert },
          }
        : {}),
      grpcOptions: {
        'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
        // Notice a silently dead member (no RST, e.g. power loss) on open streams. etcd's default
        // --grpc-keepalive-min-time is 5 s; pinging more often gets the connection closed.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
      faultHandling: { global: singleAttempt, host: memberBreaker, watchBackoff: watchBackoff() },
    });
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
    checkPrefix(prefix);
    if (fromRevision !== undefined && (!Number.isSafeInteger(fromRevision) || fromRevision < 1))
      throw invalid('fromRevision must be a whole number ≥ 1');
    if (this.closed) throw closedError(this.kind);
    const p = this.k(prefix);
    const builder = this.client.watch().inRange({ start: p.length ? p : ZERO, end: prefixEnd(p) ?? ZERO });
    if (fromRevision !== undefined) builder.startRevision(String(fromRevision));
    const watcher = builder.watcher();
    const live: LiveWatch = { watcher, active: true };
    let started = false; // true once `watch` has resolved
    // The next revision to deliver; 0 until the server has told us where the watch starts.
    let next = fromRevision ?? 0;
    const report = (e: unknown) => {
      const err = e instanceof Error ? e : new Error(String(e));
      if (opts?.onError) opts.onError(err);
      else console.error('keymesh store: watch error:', err);
    };
    // Resume point for etcd3's reconnect: ours, not its header-based guess (see module header).
    // Listeners run in registration order, so these run after etcd3's own and override it.
    const pin = () => {
      if (next > 0) watcher.request.start_revision = String(next);
    };

    const created = new Promise<void>((resolve, reject) => {
      watcher.once('connected', () => resolve());
      watcher.once('error', reject);
    });
    watcher.on('connected', (res: IWatchResponse) => {
      if (next === 0) next = num(res.header.revision) + 1;
      pin();
    });
    watcher.on('data', (res: IWatchResponse) => {
      if (res.events.length === 0) {
        // A progress notification: etcd sends one only once it has sent everything up to it.
        next = Math.max(next, num(res.header.revision) + 1);
      }
      for (const ev of res.events) {
        const rev = num(ev.kv.mod_revision);
        // Already delivered before a reconnect. Events of one revision arrive in one response
        // (etcd batches by revision, and this watch does not ask for fragments), and `next` moves
        // only after the whole response, so a txn's later events are not mistaken for replays.
        if (rev < next || !live.active) continue;
        const isPut = ev.type === 'Put';
        try {
          onEvent({
            type: isPut ? 'put' : 'delete',
            key: this.unk(ev.kv.key),
            value: isPut ? ev.kv.value.toString('utf8') : undefined,
            modRevision: rev,
          });
        } catch (e) {
          report(e);
        }
      }
      const last = res.events[res.events.length - 1];
      if (last) next = Math.max(next, num(last.kv.mod_revision) + 1);
      pin();
    });
    // An 'error' is etcd cancelling the watch, typically because the revision it must start or
    // resume from was compacted. Before `watch` resolves it becomes the rejection, after it the
    // onError report.
    let ended: KeymeshError | undefined;
    watcher.on('error', (e: unknown) => {
      if (ended || !live.active) return;
      ended = new KeymeshError('UNAVAILABLE', 'The watch ended; reload and watch again.', {
        cause: e,
        details: { prefix, nextRevision: next },
      });
      live.active = false;
      this.watches.delete(live);
      if (started) report(ended);
    });

    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        created,
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(new KeymeshError('UNAVAILABLE', 'The etcd cluster did not start the watch in time.')),
            this.opTimeoutMs,
          );
        }),
      ]);
    } catch (e) {
      live.active = false;
      void watcher.cancel().catch(() => undefined);
      throw e instanceof KeymeshError
        ? e
        : new KeymeshError('UNAVAILABLE', 'The etcd cluster refused the watch.', { cause: e });
    } finally {
      clearTimeout(timer);
    }
    if (ended) throw ended;
    if (this.closed) {
      live.active = false;
      void watcher.cancel().catch(() => undefined);
      throw closedError(this.kind);
    }
    started = true;
    this.watches.add(live);
    return () => {
      if (!live.active) return;
      live.active = false;
      this.watches.delete(live);
      void watcher.cancel().catch(() => undefined);
    };
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

  /**
   * Campaigns for leadership of `name` (etcd's election recipe): a key under `elections/NAME/`
   * attached to `lease`; the lowest create revision leads. Resolves once this campaigner leads;
   * rejects if the lease is lost or `signal` aborts while waiting. Keys under `elections/` are
   * reserved for this.
   */
  async campaign(name: string, value: string, lease: EtcdLease, signal?: AbortSignal): Promise<Leadership> {
    const prefix = electionPrefix(name);
    const myKey = prefix + BigInt(lease.id).toString(16).padStart(16, '0');
    checkKey(myKey);
    checkValue(value);
    const mine = this.k(myKey);
    const res = await this.call('write', (o) =>
      this.client.kv.txn(
        {
          compare: [{ key: mine, target: 'Create', result: 'Equal', create_revision: 0 }],
          success: [{ request_put: { key: mine, value: Buffer.from(value, 'utf8'), lease: lease.id } }],
          failure: [{ request_range: { key: mine } }],
        },
        o,
      ),
    );
    let myRev = num(res.header.revision);
    if (!res.succeeded) {
      // Campaigning again with the same lease: keep our place in the queue, update the value.
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (!kv) throw new KeymeshError('CONFLICT', 'The campaign key vanished; campaign again.');
      myRev = num(kv.create_revision);
      await this.putWithLease(myKey, value, lease);
    }
    const leadership = new Leadership(this, name, myKey, myRev, lease);
    try {
      for (;;) {
        if (signal?.aborted) throw new KeymeshError('UNAVAILABLE', 'The campaign was cancelled.');
        if (lease.lost) throw new KeymeshError('CONFLICT', 'The lease was lost while campaigning.');
        // The newest campaigner older than us; wait for it to go, then look again.
        const p = this.k(prefix);
        const r = await this.call('read', (o) =>
          this.client.kv.range(
            {
              key: p,
              range_end: prefixEnd(p)!,
              max_create_revision: myRev - 1,
              sort_order: 'Descend',
              sort_target: 'Create',
              limit: 1,
              keys_only: true,
            },
            o,
          ),
        );
        const pred = r.kvs[0];
        if (!pred) return leadership;
        await this.waitDeleted(this.unk(pred.key), num(r.header.revision) + 1, lease, signal);
      }
    } catch (e) {
      await leadership.resign().catch(() => undefined);
      throw e;
    }
  }

  /** The current leader of `name`: its value and lease, or undefined. */
  async leader(name: string): Promise<{ value: string; lease: string; key: string } | undefined> {
    const p = this.k(electionPrefix(name));
    const r = await this.call('read', (o) =>
      this.client.kv.range(
        { key: p, range_end: prefixEnd(p)!, sort_order: 'Ascend', sort_target: 'Create', limit: 1 },
        o,
      ),
    );
    const kv = r.kvs[0];
    return kv && { value: kv.value.toString('utf8'), lease: kv.lease, key: this.unk(kv.key) };
  }

  // ---- internals (used by EtcdLease and Leadership too) ----------------------------------------

  /** @internal Runs one etcd RPC with deadlines, retries and error mapping (see module header). */
  async call<T>(kind: 'read' | 'write', fn: (o: { deadline: number }) => Promise<T>): Promise<T> {
    const until = Date.now() + this.opTimeoutMs;
    let backoff = 25;
    for (;;) {
      if (this.closed) throw closedError(this.kind);
      try {
        return await fn({ deadline: Math.min(Date.now() + this.callTimeoutMs, until) });
      } catch (e) {
        if (this.closed) throw closedError(this.kind);
        const { failure: f, error } = recognise(e, kind);
        const retry = f === 'retry' || (f === 'ambiguous' && kind === 'read');
        if (!retry || Date.now() + backoff >= until) throw error;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 500);
      }
    }
  }

  /** @internal Puts only if `key` still exists with this create revision (the same incarnation). */
  async putIfCreatedAt(
    key: string,
    createRevision: number,
    value: string,
    lease: EtcdLease,
  ): Promise<boolean> {
    checkKey(key);
    checkValue(value);
    const full = this.k(key);
    const res = await this.call('write', (o) =>
      this.client.kv.txn(
        {
          compare: [{ key: full, target: 'Create', result: 'Equal', create_revision: createRevision }],
          success: [{ request_put: { key: full, value: Buffer.from(value, 'utf8'), lease: lease.id } }],
          failure: [],
        },
        o,
      ),
    );
    return res.succeeded;
  }

  /** @internal */
  get rpc(): Etcd3 {
    return this.client;
  }

  /** @internal */
  forget(lease: EtcdLease): void {
    this.leases.delete(lease);
  }

  private async waitDeleted(key: string, fromRevision: number, lease: EtcdLease, signal?: AbortSignal) {
    let stop: (() => void) | undefined;
    let offLost: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        offLost = lease.onLost((e) => reject(e));
        onAbort = () => reject(new KeymeshError('UNAVAILABLE', 'The campaign was cancelled.'));
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort);
        this.watchFrom(
          key,
          fromRevision,
          (ev) => {
            if (ev.key === key && ev.type === 'delete') resolve();
          },
          { onError: reject },
        ).then((s) => (stop = s), reject);
      });
    } finally {
      stop?.();
      offLost?.();
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
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

function leaseId(lease: EtcdLease | string): string {
  const id = typeof lease === 'string' ? lease : lease.id;
  if (!/^[1-9][0-9]{0,18}$/.test(id)) throw invalid('a lease id is a positive decimal integer');
  return id;
}

function electionPrefix(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,128}$/.test(name))
    throw invalid('an election name is 1-128 letters, digits, dots, dashes or underscores');
  return `elections/${name}/`;
}

/** A lease granted by `EtcdStore.grantLease`. */
export class EtcdLease {
  readonly id: string;
  readonly ttlSeconds: number;
  private validUntil: number; // performance.now() clock
  private lostErr: KeymeshError | undefined;
  private stopped = false;
  private readonly listeners = new Set<(err: KeymeshError) => void>();
  private tick: NodeJS.Timeout | undefined;
  private expiry: NodeJS.Timeout | undefined;

  /** @internal */
  constructor(
    private readonly store: EtcdStore,
    id: string,
    ttlSeconds: number,
    grantSentAt: number,
    autoKeepAlive: boolean,
  ) {
    this.id = id;
    this.ttlSeconds = ttlSeconds;
    // etcd may grant more than asked (its minimum TTL), never less: counting the asked TTL from
    // when the grant was sent is a safe lower bound.
    this.validUntil = grantSentAt + ttlSeconds * 1000;
    this.armExpiry();
    if (autoKeepAlive) this.schedule(this.interval());
  }

  /** True once the lease is gone or may be gone: stop acting on its behalf. */
  get lost(): boolean {
    return this.lostErr !== undefined || this.remainingMs() <= 0;
  }

  /** Milliseconds etcd is certain to keep the lease; ≤ 0 when it may have expired. */
  remainingMs(): number {
    return this.lostErr ? 0 : this.validUntil - performance.now();
  }

  /** Calls `cb` once when the lease is lost (at once if it already is); returns an unsubscribe. */
  onLost(cb: (err: KeymeshError) => void): () => void {
    if (this.lostErr) {
      const err = this.lostErr;
      queueMicrotask(() => cb(err));
      return () => undefined;
    }
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** One keepalive round trip; extends `remainingMs()` on success. */
  async keepAliveOnce(): Promise<void> {
    if (this.lostErr) throw this.lostErr;
    const sentAt = performance.now();
    const ttl = await this.store.call('read', async (o) => {
      const stream = await this.store.rpc.leaseClient.leaseKeepAlive(o);
      try {
        return await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error('keepalive timed out')),
            Math.max(0, o.deadline - Date.now()),
          );
          stream.on('data', (r: { TTL: string }) => {
            clearTimeout(timer);
            resolve(num(r.TTL));
          });
          stream.on('error', (e: unknown) => {
            clearTimeout(timer);
            reject(e);
          });
          stream.write({ ID: this.id });
        });
      } finally {
        stream.end();
      }
    });
    if (ttl <= 0) {
      const err = new KeymeshError('CONFLICT', 'The lease has expired or was revoked.', {
        details: { reason: 'lease_expired', lease: this.id },
      });
      this.lose(err);
      throw err;
    }
    if (this.lostErr) throw this.lostErr;
    this.validUntil = Math.max(this.validUntil, sentAt + Math.min(ttl, this.ttlSeconds) * 1000);
    this.armExpiry();
  }

  /** Ends the lease now: etcd deletes its keys. Idempotent. */
  async revoke(): Promise<void> {
    const wasLost = this.lostErr !== undefined;
    this.lose(new KeymeshError('CONFLICT', 'The lease was revoked.', { details: { reason: 'revoked' } }));
    if (wasLost && this.stopped) return;
    try {
      await this.store.call('write', (o) => this.store.rpc.leaseClient.leaseRevoke({ ID: this.id }, o));
    } catch (e) {
      if (!(e instanceof KeymeshError && e.code === 'CONFLICT')) throw e; // already gone is fine
    }
  }

  /** @internal Stops keepalives without revoking (the store is closing): etcd expires it. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.tick);
    clearTimeout(this.expiry);
  }

  private interval(): number {
    return (this.ttlSeconds * 1000) / 3;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.lostErr) return;
    this.tick = setTimeout(() => {
      this.keepAliveOnce().then(
        () => this.schedule(this.interval()),
        () => this.schedule(Math.min(500, this.interval())),
      );
    }, ms);
    this.tick.unref();
  }

  private armExpiry(): void {
    clearTimeout(this.expiry);
    if (this.stopped || this.lostErr) return;
    this.expiry = setTimeout(
      () => {
        if (this.remainingMs() <= 0)
          this.lose(
            new KeymeshError('UNAVAILABLE', 'The lease could not be renewed in time.', {
              details: { reason: 'not_renewed', lease: this.id },
            }),
          );
        else this.armExpiry();
      },
      Math.max(0, this.remainingMs()) + 1,
    );
    this.expiry.unref();
  }

  private lose(err: KeymeshError): void {
    if (this.lostErr) return;
    this.lostErr = err;
    this.stop();
    this.store.forget(this);
    // Not renewed in time: revoke so its keys go now rather than when etcd notices.
    if ((err.details as { reason?: string } | undefined)?.reason === 'not_renewed')
      void this.store
        .call('write', (o) => this.store.rpc.leaseClient.leaseRevoke({ ID: this.id }, o))
        .catch(() => undefined);
    for (const cb of this.listeners) {
      try {
        cb(err);
      } catch (e) {
        console.error('keymesh store: a lease-loss callback threw:', e);
      }
    }
    this.listeners.clear();
  }
}

/** Leadership won by `EtcdStore.campaign`. Valid while the lease is and until `resign()`. */
export class Leadership {
  private resigned = false;

  /** @internal */
  constructor(
    private readonly store: EtcdStore,
    readonly name: string,
    /** The campaign key (within the store's namespace). */
    readonly key: string,
    /** Its create revision: a fencing token, larger for every later leader. */
    readonly revision: number,
    readonly lease: EtcdLease,
  ) {}

  /** Whether this process may still act as leader now. */
  get isLeader(): boolean {
    return !this.resigned && !this.lease.lost;
  }

  /** Updates the value others see as the leader's, only while still leading. */
  async proclaim(value: string): Promise<void> {
    if (!this.isLeader) throw new KeymeshError('CONFLICT', 'No longer the leader.');
    if (!(await this.store.putIfCreatedAt(this.key, this.revision, value, this.lease)))
      throw new KeymeshError('CONFLICT', 'No longer the leader.');
  }

  /** Gives up leadership (deletes the campaign key; the lease stays). Idempotent. */
  async resign(): Promise<void> {
    this.resigned = true;
    await this.store.delete(this.key);
  }
}
