// The software-enclave worker's state: the sealing key, the cluster context of the call being run
// and the transport secret unsealed for it, and the cache of unsealed signers and HD seeds (what an
// entry holds, its keys, the idle sweeper, eviction). Why the cache exists and how it is keyed:
// the header of ../worker.ts.
import { KeymeshError } from '../../../errors.js';
import type { Signer } from '../../crypto/signers.js';
import { Lru } from '../../lru.js';
import type { CacheOptions, ClusterContext, WorkerStats } from '../protocol.js';

/** What one cache entry holds: a single key's or an HD child's signer, or an HD root's seed. */
export interface Cached {
  algorithm: string;
  sealed: Uint8Array;
  /** The blob is a replica wrapped to this node, not sealed here (a hit must agree on which). */
  replica?: boolean;
  signer?: Signer;
  seed?: Uint8Array;
}

export const wipeCached = (c: Cached) => {
  c.signer?.zero();
  c.seed?.fill(0);
};

/** This worker's mutable state (calls run one at a time on its thread). */
export const state: {
  sealingKey: Uint8Array | undefined;
  /** Cluster mode: the context of the call being run. */
  clusterCtx: ClusterContext | undefined;
  /** The transport secret unsealed from the blob that came with the call, kept while it is the same. */
  transport: { sealed: Uint8Array; secret: Uint8Array } | undefined;
  /** undefined when caching is off */
  cache: Lru<string, Cached> | undefined;
  sweeper: NodeJS.Timeout | undefined;
} = {
  sealingKey: undefined,
  clusterCtx: undefined,
  transport: undefined,
  cache: undefined,
  sweeper: undefined,
};
export const stats: WorkerStats = { cached: 0, hits: 0, misses: 0, signed: 0 };

export function startCache(opts: CacheOptions): void {
  if (opts.max <= 0) return;
  state.cache = new Lru<string, Cached>({
    max: opts.max,
    idleMs: opts.idleMs,
    onRemove: wipeCached,
  });
  if (Number.isFinite(opts.idleMs)) {
    state.sweeper = setInterval(() => state.cache?.sweep(), Math.max(1000, Math.min(opts.idleMs, 60_000)));
    state.sweeper.unref();
  }
}

// The key id is everything after the first NUL, for every entry (evict relies on it); the part
// before it is the version, and for an HD child also its canonical path (which has no NUL).
export const cacheKey = (keyId: string, version: number) => `${version}\u0000${keyId}`;
export const childKey = (keyId: string, version: number, path: string) => `${version}/${path}\u0000${keyId}`;
const keyIdOf = (k: string) => k.slice(k.indexOf('\u0000') + 1);
const versionOf = (k: string) => k.slice(0, k.indexOf('\u0000')).split('/')[0];

/** The sealing key; ENCLAVE_FAILURE before the worker has it. */
export function key(): Uint8Array {
  if (!state.sealingKey) throw new KeymeshError('ENCLAVE_FAILURE', 'the enclave is not unsealed');
  return state.sealingKey;
}

export function evict(args: { keyId: string; version?: number }): number {
  if (!state.cache) return 0;
  const v = args.version === undefined ? undefined : String(args.version);
  // A key's own entry and all its HD children's.
  return state.cache.deleteWhere((k) => keyIdOf(k) === args.keyId && (v === undefined || versionOf(k) === v));
}
