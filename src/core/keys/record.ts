// The key record as stored: identity, public key, state and the sealed private material (a blob
// only the enclave can open). `toKeyView` is the public key object of the API contract; it is the
// only way a record leaves the core.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { publicKeyToAddress } from 'viem/accounts';
import type { Algorithm } from '../../enclave/enclave.js';
import { notFound } from '../../errors.js';
import type { Store } from '../../store/store.js';
import { toHex } from '../../util/bytes.js';
import type { KeyState } from './states.js';
import type { Placement } from '../../cluster/placement.js';
import { parseReplica, ReplicaKeys } from '../../cluster/replicas.js';
import { recordsOf } from '../../records/integrity.js';
import { checkKeyRecord } from './record-check.js';
import { keyKey, nameKey } from '../../store/layout.js';

export interface KeyRecord {
  id: string;
  name: string;
  algorithm: Algorithm;
  publicKey: string; // 0x hex
  state: KeyState;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
  /** Version of the key material, bound into the sealed blob's associated data. */
  version: number;
  /** Raised by one on every write of the record: nodes refuse one older than they have seen. */
  seq: number;
  /**
   * As stored: base64 sealed blob; null once destroyed (the tombstone keeps only public data); ''
   * in a cluster, where the material exists only as replicas, one per holder
   * (src/cluster/replicas.ts). The core reads it only through KeyMaterial (loadKey).
   */
  sealed: string | null;
  /** Cluster mode: the key's placement as asked for ({} = every node). */
  placement?: Placement;
  /** Cluster mode: the nodes a replica was made for at creation (kept current by sync). */
  replicas?: string[];
  origin: 'generated' | 'imported';
  /** HD roots only (core/keys/derive.ts): `publicKey` is then the master (m) key's. */
  hd?: true;
  /** HD roots: master fingerprint, 0x + 4 bytes (BIP32's; SLIP-10's analogue for ed25519). */
  fingerprint?: string;
  /** secp256k1 HD roots: the master extended public key (mainnet xpub). Never an xprv. */
  xpub?: string;
}

export interface KeyView {
  id: string;
  name: string;
  algorithm: Algorithm;
  publicKey: string;
  addresses: Record<string, string>;
  state: KeyState;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
  origin: 'generated' | 'imported';
  hd?: true;
  fingerprint?: string;
  xpub?: string;
  placement?: Placement;
  replicas?: string[];
}

// The store's key layout is src/store/layout.ts; re-exported for the modules that import it here.
export { keyKey, nameKey };

/**
 * A key record as stored under keys/<id>, checked (src/records/integrity.ts: MAC, shape, not a
 * replay); RECORD_INTEGRITY when it is not one a node wrote.
 */
export function openKeyRecord(store: Store, id: string, json: string): Promise<KeyRecord> {
  return recordsOf(store).open('key', id, json, checkKeyRecord);
}

/** The text to store for a key record: its fields and its MAC. */
export function sealKeyRecord(store: Store, record: KeyRecord): Promise<string> {
  return recordsOf(store).seal('key', record.id, record);
}

/**
 * Cluster mode, per store: which node this is and whether it may sign now. Registered by the Core
 * when it has cluster deps, so that every path that loads a key finds this node's replica.
 */
export interface ReplicaHolder {
  nodeId: string;
  isLive(): boolean;
  /** The watch-fed copy of key and replica records (src/cluster/key-cache.ts), when running. */
  keyCache?: {
    record(keyId: string): string | undefined;
    replica(keyId: string, nodeId: string): string | undefined;
  };
}
const holders = new WeakMap<Store, ReplicaHolder>();

export function registerReplicaHolder(store: Store, holder: ReplicaHolder): void {
  holders.set(store, holder);
}

/**
 * What this node has of a key's private material, by name: the record's own sealed blob (a
 * standalone node), this node's replica of a clustered key (usable only while the node is live:
 * pipeline/material.ts), none (a clustered key this node holds no current replica of), or
 * destroyed. The stored record keeps its one `sealed` field; the core reads only this.
 */
export type KeyMaterial =
  | { kind: 'sealed'; blob: string }
  | { kind: 'replica'; blob: string; holder: ReplicaHolder }
  | { kind: 'none' }
  | { kind: 'destroyed' };

export interface LoadedKey {
  record: KeyRecord;
  material: KeyMaterial;
}

function materialOf(
  record: KeyRecord,
  holder: ReplicaHolder | undefined,
  replicaJson: string | undefined,
): KeyMaterial {
  if (record.sealed === null) return { kind: 'destroyed' };
  if (record.replicas === undefined || !holder) return { kind: 'sealed', blob: record.sealed };
  const replica = replicaJson !== undefined ? parseReplica(replicaJson, record.id, holder.nodeId) : undefined;
  return replica && replica.version === record.version
    ? { kind: 'replica', blob: replica.wrapped, holder }
    : { kind: 'none' };
}

export async function loadKey(store: Store, id: string): Promise<LoadedKey & { modRevision: number }> {
  const holder = holders.get(store);
  // In a cluster the replica is read beside the record, not after it: one round trip to etcd.
  const [e, r] = await Promise.all([
    store.get(keyKey(id)),
    holder ? store.get(ReplicaKeys.replica(id, holder.nodeId)) : undefined,
  ]);
  if (!e) throw notFound('key');
  const record = await openKeyRecord(store, id, e.value);
  return { record, material: materialOf(record, holder, r?.value), modRevision: e.modRevision };
}

/**
 * For a call that uses the key (sign, verify, derive, wallet signing): in a cluster, an active key
 * with this node's replica is taken from the watch-fed copy; anything else is read from the store
 * as loadKey does (see key-cache.ts for why that is safe). Never for a state change: those need
 * the record's current revision.
 */
export async function loadKeyForUse(store: Store, id: string): Promise<LoadedKey> {
  const holder = holders.get(store);
  const cached = holder?.keyCache?.record(id);
  if (holder && cached !== undefined) {
    // A copy older than a version this node has verified is lagging: the store is read instead.
    const record = await recordsOf(store).open('key', id, cached, checkKeyRecord, { mayBeStale: true });
    const rj =
      record?.state === 'active' && record.replicas !== undefined && record.sealed !== null
        ? holder.keyCache!.replica(id, holder.nodeId)
        : undefined;
    const material = record && rj !== undefined ? materialOf(record, holder, rj) : undefined;
    if (record && material?.kind === 'replica') return { record, material };
  }
  return loadKey(store, id);
}

/** EIP-55 checksummed address of a compressed secp256k1 public key. */
export function ethereumAddress(compressed: Uint8Array): string {
  const uncompressed = secp256k1.Point.fromBytes(compressed).toBytes(false);
  return publicKeyToAddress(toHex(uncompressed) as `0x${string}`);
}

const addressCache = new Map<string, string>();

export function toKeyView(r: KeyRecord): KeyView {
  const addresses: Record<string, string> = {};
  // An HD root's own key signs only when asked for by path "m": its accounts are its children
  // (GET /v1/keys/{id}/derive), so it shows no address of its own.
  if (r.algorithm === 'secp256k1' && !r.hd) {
    let a = addressCache.get(r.publicKey);
    if (a === undefined) {
      a = ethereumAddress(Buffer.from(r.publicKey.slice(2), 'hex'));
      if (addressCache.size > 10_000) addressCache.clear();
      addressCache.set(r.publicKey, a);
    }
    addresses.ethereum = a;
  }
  return {
    id: r.id,
    name: r.name,
    algorithm: r.algorithm,
    publicKey: r.publicKey,
    addresses,
    state: r.state,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    labels: r.labels,
    origin: r.origin,
    ...(r.hd ? { hd: true as const, ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}) } : {}),
    ...(r.hd && r.xpub ? { xpub: r.xpub } : {}),
    ...(r.placement ? { placement: r.placement } : {}),
    ...(r.replicas ? { replicas: r.replicas } : {}),
  };
}
