// The Store: the node's shared, ordered key-value state (keys, tokens, later users and policies).
// Shaped after etcd so that the single-node SQLite store and the cluster's etcd store are the same
// interface, checked by one conformance suite (test/store/conformance.ts).
//
// Semantics, identical for every implementation:
// - Every successful write (put, delete, txn with ops) advances one store-wide `revision` by one.
// - An entry carries `createRevision` (revision that created it) and `modRevision` (last write).
// - A `Compare` on modRevision 0 means "the key does not exist".
// - `txn` is atomic: all conditions hold and all ops apply, or nothing applies.
// - A write is durable when its promise resolves (fsync'd by SQLite, Raft-committed by etcd).
// - Watches deliver events in revision order, after the write is durable.
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
  limit?: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  value: string | undefined;
  modRevision: number;
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
  watch(prefix: string, onEvent: (ev: WatchEvent) => void): Promise<() => void>;
  close(): Promise<void>;
}
