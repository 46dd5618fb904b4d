// The Store: the node's shared, ordered key-value state (keys, tokens, later users and policies).
// Shaped after etcd so that the single-node SQLite store and the cluster's etcd store are the same
// interface, checked by one conformance suite (test/store/conformance.ts).
//
// Semantics, identical for every implementation:
// - Every successful write (put, delete, txn with ops) advances one store-wide `revision` by one.
//   A delete that removes nothing, or a txn whose ops change nothing, leaves it unchanged (as in
//   etcd). On etcd the revision is cluster-wide: +1 per write holds when this namespace is the
//   cluster's only writer, otherwise revisions only strictly increase.
// - An entry carries `createRevision` (revision that created it) and `modRevision` (last write).
// - A `Compare` on modRevision 0 means "the key does not exist".
// - `txn` is atomic: all conditions hold and all ops apply, or nothing applies.
// - A write is durable when its promise resolves (fsync'd by SQLite, Raft-committed by etcd).
// - Watches deliver events in revision order, after the write is durable. A write made after
//   `watch` resolves is always delivered; events of one txn share a revision, in op order.
// - Keys and values are bounded (src/store/limits.ts); beyond a bound: INVALID_REQUEST. A store
//   that cannot answer (closed, etcd unreachable) fails with UNAVAILABLE within a bounded time.
// - A write whose outcome is unknown (connection lost after sending) fails with UNAVAILABLE and
//   details.outcome 'unknown': it may or may not have applied; re-read before retrying.
// Values are UTF-8 strings (JSON documents in practice). Stores never see plaintext key material.

export interface Entry {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

export type Op = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

/** Holds when the key's current modRevision equals `modRevision` (0: key absent). */
export interface Compare {
  key: string;
  modRevision: number;
}

export interface TxnResult {
  ok: boolean;
  /** Store revision after the transaction (unchanged when !ok). */
  revision: number;
}

export interface ListOptions {
  /** Start strictly after this key (for pagination). */
  after?: string;
  /** 1..MAX_LIST_LIMIT (src/store/limits.ts); default and ceiling MAX_LIST_LIMIT, above it INVALID_REQUEST. */
  limit?: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  value: string | undefined;
  modRevision: number;
}

export interface WatchOptions {
  /**
   * Called once if the watch ends without being stopped (e.g. etcd compacted the history it needed
   * to resume after a reconnect), so a cache fed by the watch knows it must reload. Also receives
   * errors thrown by `onEvent`. Without it those go to console.error.
   */
  onError?: (err: Error) => void;
}

export interface Store {
  readonly kind: 'sqlite' | 'etcd';
  get(key: string): Promise<Entry | undefined>;
  /** Keys with the prefix, ascending. */
  list(prefix: string, opts?: ListOptions): Promise<Entry[]>;
  /** Unconditional put; returns the new revision. */
  put(key: string, value: string): Promise<number>;
  /** Unconditional delete; returns whether a key was deleted. */
  delete(key: string): Promise<boolean>;
  txn(compares: Compare[], ops: Op[]): Promise<TxnResult>;
  /** Events for keys under the prefix from now on; the returned function stops the watch. */
  watch(prefix: string, onEvent: (ev: WatchEvent) => void, opts?: WatchOptions): Promise<() => void>;
  close(): Promise<void>;
}
