// Replicas in etcd: their records, the one transaction that creates a key with all its replicas,
// and the sync plan that says which replicas to add or remove when membership or placement changes
// (DESIGN.md, "Key material" and "Cluster: placement and sync"; issue 4, points 3 and 6).
//
// Layout: `replicas/<keyId>/<nodeId>` → ReplicaRecord (outside `keys/`, so listing key records
// never reads replica blobs). A replica is the key material wrapped by src/enclave/crypto/wrap.ts to
// the node's transport key, bound to key id, version, algorithm and node id; the record also names
// the transport key it was made for, so a node that changes its transport key gets new replicas.
//
// Sync rules (planSync, pure):
// - Only the *designated* holder of a key acts for it: the live, attested holder with the smallest
//   node id (byte order) whose replica was made for its current transport key. Every node computes the same designation from the same view, so replicas are not
//   wrapped twice; if the designated node dies, the next one takes over when the view changes.
// - A live, attested, eligible node without a replica for its current transport key gets one.
//   Live and attested are checked before wrapping, as DESIGN.md requires; a node that is down is
//   not wrapped to now but keeps its place, and receives what it missed when it is back.
// - A node that left the cluster (no member record), or is no longer eligible (its attested region
//   or level, or the key's placement, changed), loses its replica. A node that is merely down keeps
//   it: losing a node loses nothing.
// - A destroyed key (record gone, or state "destroyed") has every replica removed.
// Every write of a sync compares the key record's modRevision, so a replica is never added to a key
// whose state changed since the plan was made.
import { invalid } from '../errors.js';
import { Algorithms, type Algorithm, type WrappedReplica } from '../enclave/enclave.js';
import type { Compare } from '../store/store.js';
import { MAX_TXN_OPS } from '../store/limits.js';
import { checkKeyId, checkNodeId, isNodeId } from './ids.js';
import { isEligible, type Placement, type PlacementNode } from './placement.js';
import { replicaKey, replicasOf } from '../store/layout.js';

export const ReplicaKeys = { prefix: replicasOf, replica: replicaKey } as const;

const PUB_RE = /^0x[0-9a-f]{64}$/;
const B64_RE = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_WRAPPED_B64 = 4096;

export interface ReplicaRecord {
  keyId: string;
  version: number;
  algorithm: Algorithm;
  nodeId: string;
  /** The recipient's transport public key it was wrapped to (0x hex). */
  transportPublicKey: string;
  /** The wrapped blob, base64. */
  wrapped: string;
  /** The node whose enclave wrapped it. */
  wrappedBy: string;
  createdAt: string;
}

export function checkReplica(r: unknown): ReplicaRecord {
  if (typeof r !== 'object' || r === null) throw invalid('a replica must be an object');
  const x = r as Record<string, unknown>;
  checkKeyId(x.keyId);
  if (!Number.isSafeInteger(x.version) || (x.version as number) < 0 || (x.version as number) > 0xffffffff)
    throw invalid('replica version must be an integer from 0 to 2^32-1');
  if (!(Algorithms as readonly unknown[]).includes(x.algorithm))
    throw invalid('replica algorithm is unknown');
  checkNodeId(x.nodeId);
  checkNodeId(x.wrappedBy, 'wrappedBy');
  if (typeof x.transportPublicKey !== 'string' || !PUB_RE.test(x.transportPublicKey))
    throw invalid('replica transportPublicKey must be 0x and 64 lowercase hex digits');
  if (typeof x.wrapped !== 'string' || x.wrapped.length > MAX_WRAPPED_B64 || !B64_RE.test(x.wrapped))
    throw invalid('replica wrapped blob must be base64');
  if (typeof x.createdAt !== 'string' || Number.isNaN(Date.parse(x.createdAt)))
    throw invalid('replica createdAt must be a time');
  return {
    keyId: x.keyId as string,
    version: x.version as number,
    algorithm: x.algorithm as Algorithm,
    nodeId: x.nodeId as string,
    transportPublicKey: x.transportPublicKey,
    wrapped: x.wrapped,
    wrappedBy: x.wrappedBy as string,
    createdAt: x.createdAt,
  };
}

/** The records to store for replicas an enclave wrapped (at creation, or by sync). */
export function replicaRecords(
  key: { keyId: string; version: number; algorithm: Algorithm },
  made: readonly WrappedReplica[],
  wrappedBy: string,
): ReplicaRecord[] {
  const createdAt = new Date().toISOString();
  return made.map((r) => ({
    ...key,
    nodeId: r.nodeId,
    transportPublicKey: r.transportPublicKey,
    wrapped: Buffer.from(r.wrapped).toString('base64'),
    wrappedBy,
    createdAt,
  }));
}

/** A replica record read from etcd, or undefined when malformed or not at its own key. */
export function parseReplica(json: string, keyId: string, nodeId: string): ReplicaRecord | undefined {
  try {
    const r = checkReplica(JSON.parse(json));
    return r.keyId === keyId && r.nodeId === nodeId ? r : undefined;
  } catch {
    return undefined;
  }
}

export type TxnOp = { type: 'put'; key: string; value: string } | { type: 'delete'; key: string };

/**
 * The compares and ops of the one transaction that creates a key: its record (absent before) and
 * every replica, plus the caller's own (e.g. the name index). The call that creates the key
 * returns only after this commits; a crash before leaves nothing, after leaves everything.
 */
export function createWithReplicasTxn(
  record: { key: string; value: string },
  replicas: readonly ReplicaRecord[],
  extra: { compares?: Compare[]; ops?: TxnOp[] } = {},
): { compares: Compare[]; ops: TxnOp[] } {
  if (replicas.length === 0) throw invalid('a clustered key needs at least one replica');
  const first = checkReplica(replicas[0]);
  const seen = new Set<string>();
  const ops: TxnOp[] = [{ type: 'put', key: record.key, value: record.value }];
  for (const r of replicas) {
    const c = checkReplica(r);
    if (c.keyId !== first.keyId || c.version !== first.version || c.algorithm !== first.algorithm)
      throw invalid('all replicas of a key share its id, version and algorithm');
    if (seen.has(c.nodeId)) throw invalid(`two replicas for node ${c.nodeId}`);
    seen.add(c.nodeId);
    ops.push({ type: 'put', key: ReplicaKeys.replica(c.keyId, c.nodeId), value: JSON.stringify(c) });
  }
  const all = [...ops, ...(extra.ops ?? [])];
  if (all.length > MAX_TXN_OPS)
    throw invalid(`a key and its replicas must fit one transaction (${MAX_TXN_OPS} ops)`);
  return { compares: [{ key: record.key, modRevision: 0 }, ...(extra.compares ?? [])], ops: all };
}

/** What sync needs to know of a node (Membership's NodeView fits). */
export interface SyncNode extends PlacementNode {
  live: boolean;
  attested: boolean;
  transportPublicKey: string;
}

export interface SyncKey {
  keyId: string;
  /** undefined: the record is gone. */
  state: string | undefined;
  placement: Placement;
  /** Existing replicas: which node, and the transport key each was made for. */
  replicas: readonly { nodeId: string; transportPublicKey: string }[];
}

export interface SyncPlan {
  /** Replicas this node should wrap (its enclave unwraps its own replica and wraps to these). */
  wrap: { keyId: string; nodeId: string; transportPublicKey: string }[];
  /** Replicas to delete. */
  remove: { keyId: string; nodeId: string }[];
}

function byBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * This node's share of the sync work for `keys`, given every known node (`nodes`: members, live or
 * not; a node absent from it has left). See the module header for the rules.
 */
export function planSync(selfId: string, keys: readonly SyncKey[], nodes: readonly SyncNode[]): SyncPlan {
  checkNodeId(selfId, 'selfId');
  const byId = new Map<string, SyncNode>();
  for (const n of nodes) {
    if (!isNodeId(n.id) || byId.has(n.id)) throw invalid('nodes must have unique, valid ids');
    byId.set(n.id, n);
  }
  const plan: SyncPlan = { wrap: [], remove: [] };
  for (const k of keys) {
    checkKeyId(k.keyId);
    const destroyed = k.state === undefined || k.state === 'destroyed';
    // A holder can act only with a replica made for the transport key it has now.
    const liveHolders = k.replicas
      .filter((r) => {
        const n = byId.get(r.nodeId);
        return n !== undefined && n.live && n.attested && n.transportPublicKey === r.transportPublicKey;
      })
      .map((r) => r.nodeId)
      .sort(byBytes);
    // Removal of a destroyed key's replicas: any live holder may do it (deletes are idempotent), so
    // a key whose holders are all gone is still cleaned by whoever sees it; here, the designated
    // holder, or else the smallest live node overall.
    const designated =
      liveHolders[0] ??
      (destroyed
        ? [...byId.values()]
            .filter((n) => n.live)
            .map((n) => n.id)
            .sort(byBytes)[0]
        : undefined);
    if (designated !== selfId) continue;
    if (destroyed) {
      for (const r of k.replicas) plan.remove.push({ keyId: k.keyId, nodeId: r.nodeId });
      continue;
    }
    const have = new Map(k.replicas.map((r) => [r.nodeId, r.transportPublicKey]));
    // Left the cluster, or no longer eligible (attested region/level, or the placement, changed):
    // removed, but never the last copy. Unless a replica stays on an eligible node, made for its
    // current transport key, the ineligible ones are kept until a new eligible holder has one
    // (wrapped by this run; removed by a later run): a placement is not worth a lost key.
    const kept = k.replicas.filter((r) => {
      const n = byId.get(r.nodeId);
      return n !== undefined && isEligible(n, k.placement) && n.transportPublicKey === r.transportPublicKey;
    });
    if (kept.length > 0)
      for (const r of k.replicas) {
        const n = byId.get(r.nodeId);
        if (!n || !isEligible(n, k.placement)) plan.remove.push({ keyId: k.keyId, nodeId: r.nodeId });
      }
    for (const n of byId.values()) {
      if (!n.live || !n.attested || !isEligible(n, k.placement)) continue;
      if (have.get(n.id) === n.transportPublicKey) continue;
      plan.wrap.push({ keyId: k.keyId, nodeId: n.id, transportPublicKey: n.transportPublicKey });
    }
  }
  plan.wrap.sort((a, b) => byBytes(a.keyId, b.keyId) || byBytes(a.nodeId, b.nodeId));
  plan.remove.sort((a, b) => byBytes(a.keyId, b.keyId) || byBytes(a.nodeId, b.nodeId));
  return plan;
}

/**
 * One key's sync writes as a transaction guarded by the key record's modRevision: new replicas put,
 * removed ones deleted, and nothing at all if the key changed meanwhile (plan again).
 */
export function syncTxn(
  record: { key: string; modRevision: number },
  puts: readonly ReplicaRecord[],
  removes: readonly { keyId: string; nodeId: string }[],
): { compares: Compare[]; ops: TxnOp[] } {
  // 0 (the record is gone) only for removing the replicas of a destroyed key.
  if (!Number.isSafeInteger(record.modRevision) || record.modRevision < (puts.length ? 1 : 0))
    throw invalid('a sync is guarded by the key record’s modRevision');
  const ops: TxnOp[] = [
    ...puts.map((p) => {
      const c = checkReplica(p);
      return { type: 'put' as const, key: ReplicaKeys.replica(c.keyId, c.nodeId), value: JSON.stringify(c) };
    }),
    ...removes.map((r) => ({
      type: 'delete' as const,
      key: ReplicaKeys.replica(checkKeyId(r.keyId), checkNodeId(r.nodeId)),
    })),
  ];
  if (ops.length > MAX_TXN_OPS) throw invalid(`one key's sync must fit one transaction (${MAX_TXN_OPS} ops)`);
  return { compares: [{ key: record.key, modRevision: record.modRevision }], ops };
}
