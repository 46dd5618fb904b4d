// POST /v1/keys/{id}/state and DELETE /v1/keys/{id}: state changes as compare-and-set writes on
// the record's revision, through the one transition table (states.ts). Destroy erases the sealed
// material and keeps a tombstone; the name stays reserved so it never points at another key.
import { conflict, invalid, notFound } from '../../errors.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { loadKey, type KeyRecord, sealKeyRecord, toKeyView, type KeyView } from './record.js';
import { keyKey, replicaKey, replicasOf } from '../../store/layout.js';
import type { Op } from '../../store/store.js';
import { assertTransition, type KeyState } from './states.js';

const SETTABLE: readonly KeyState[] = ['active', 'deactivated', 'compromised'];

export async function setKeyState(ctx: OpContext, id: string, state: unknown): Promise<KeyView> {
  if (typeof state !== 'string' || !SETTABLE.includes(state as KeyState))
    throw invalid('state must be active, deactivated or compromised (use DELETE to destroy)');
  return transition(ctx, id, state as KeyState);
}

export async function destroyKey(ctx: OpContext, id: string): Promise<KeyView> {
  return transition(ctx, id, 'destroyed');
}

async function transition(ctx: OpContext, id: string, to: KeyState): Promise<KeyView> {
  if (!isId(id)) throw notFound('key');
  const { record, modRevision } = await loadKey(ctx.deps.store, id);
  if (record.state === to && to !== 'destroyed') return toKeyView(record); // already there: nothing to do
  assertTransition(record.state, to);
  const next: KeyRecord = {
    ...record,
    state: to,
    seq: record.seq + 1,
    updatedAt: new Date().toISOString(),
    // In a cluster the stored record never carries material (loadKey put this node's replica in).
    ...(record.replicas !== undefined ? { sealed: '' } : {}),
    ...(to === 'destroyed' ? { sealed: null } : {}),
  };
  await auditAllowed(ctx, id, { from: record.state, to });
  const cluster = record.replicas !== undefined ? ctx.deps.cluster : undefined;
  // In a cluster: who holds it now (they must apply the change before this returns), and, on
  // destroy, their replicas go in the same transaction as the tombstone.
  const prefix = replicasOf(id);
  const holders = cluster ? (await ctx.deps.store.list(prefix)).map((e) => e.key.slice(prefix.length)) : [];
  const ops: Op[] = [{ type: 'put', key: keyKey(id), value: await sealKeyRecord(ctx.deps.store, next) }];
  if (cluster && to === 'destroyed')
    for (const h of holders) ops.push({ type: 'delete', key: replicaKey(id, h) });
  const res = await ctx.deps.store.txn([{ key: keyKey(id), modRevision }], ops);
  if (!res.ok) throw conflict('The key changed while this request was in progress; try again.');
  // Moving away from active: returns only once every live holder has applied it (or was fenced).
  if (cluster && to !== 'active') await cluster.awaitApplied(id, res.revision, holders);
  // A key that may no longer sign leaves the enclave's cache of unsealed keys at once.
  if (to === 'destroyed' || to === 'compromised' || to === 'deactivated') await ctx.deps.enclave.evict?.(id);
  return toKeyView(next);
}
