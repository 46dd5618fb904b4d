// A watch-fed copy of the key records (`keys/`) and replica records (`replicas/`), so that the
// path of a signature does not wait on etcd for what rarely changes (DESIGN.md, "Cluster:
// placement and sync": state changes are writes every node watches).
//
// What keeps it safe: the copy is only ever trusted to say "this key is active and here is my
// replica". Anything else (absent, another state, no replica, another version) makes the caller
// read etcd linearizably, as it would without the copy, so a key just created or reactivated
// elsewhere is never refused because of a lagging watch. A change away from active reaches a
// holder's copy before the holder acknowledges it (StateAcker waits for `caughtUp`), and the
// writer of the change returns only once every live holder has acknowledged or been fenced
// (src/cluster/fencing.ts): after that call returns, no holder's copy still says active.
//
// The copy also answers "which nodes hold key K" for routing, from an index kept with it; a key
// the index does not know is looked up in etcd. A listing cut short by the store's bounds leaves
// entries out, which only sends those keys down the etcd path.
import type { EtcdStore } from '../store/etcd.js';
import { MAX_LIST_LIMIT } from '../store/limits.js';
import { PrefixCache, type PrefixChange } from './prefix-cache.js';
import { ReplicaKeys } from './replicas.js';
import { KEYS_PREFIX, parseReplicaKey, REPLICAS_PREFIX } from '../store/layout.js';

const KEYS = KEYS_PREFIX;
const REPLICAS = REPLICAS_PREFIX;
/** The store's bound on one listing: beyond it, keys go the etcd way (see the header). */
const LIST_LIMIT = MAX_LIST_LIMIT;

export class KeyCache {
  private readonly index = new Map<string, Set<string>>();

  private constructor(
    private readonly records: PrefixCache,
    private readonly replicas: PrefixCache,
  ) {}

  static async start(store: EtcdStore, onError: (e: Error) => void): Promise<KeyCache> {
    const ref: { cache?: KeyCache } = {};
    const onReplica = (c: PrefixChange) => ref.cache?.indexChange(c.key, c.value !== undefined);
    const [records, replicas] = await Promise.all([
      PrefixCache.start(store, KEYS, { onError, limit: LIST_LIMIT }),
      PrefixCache.start(store, REPLICAS, { onError, onChange: onReplica, limit: LIST_LIMIT }),
    ]);
    const cache = new KeyCache(records, replicas);
    // Built after the listing; changes reported before this point are in the listing already.
    for (const [key] of replicas.entries()) cache.indexChange(key, true);
    ref.cache = cache;
    return cache;
  }

  private indexChange(key: string, present: boolean): void {
    const at = parseReplicaKey(key);
    if (!at) return;
    const { keyId, nodeId } = at;
    let set = this.index.get(keyId);
    if (present) {
      if (!set) this.index.set(keyId, (set = new Set()));
      set.add(nodeId);
    } else if (set) {
      set.delete(nodeId);
      if (set.size === 0) this.index.delete(keyId);
    }
  }

  /** The key record as last seen (JSON), or undefined. */
  record(keyId: string): string | undefined {
    return this.records.get(KEYS + keyId)?.value;
  }

  /** The replica record of `keyId` for `nodeId` as last seen (JSON), or undefined. */
  replica(keyId: string, nodeId: string): string | undefined {
    return this.replicas.get(ReplicaKeys.replica(keyId, nodeId))?.value;
  }

  /** The nodes last seen holding a replica of `keyId` (empty when unknown). */
  holders(keyId: string): string[] {
    return [...(this.index.get(keyId) ?? [])];
  }

  /** Resolves once the copy of the key records reflects the write at `revision`. */
  caughtUp(revision: number, timeoutMs: number): Promise<void> {
    return this.records.waitForRevision(revision, timeoutMs);
  }

  close(): void {
    this.records.close();
    this.replicas.close();
  }
}
