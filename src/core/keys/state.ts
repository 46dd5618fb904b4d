// POST /v1/keys/{id}/state and DELETE /v1/keys/{id}: state changes as compare-and-set writes on
// the record's revision, through the one transition table (states.ts). Destroy erases the sealed
// material and keeps a tombstone; the name stays reserved so it never points at another key.
import { conflict, invalid, notFound } from '../../errors.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { keyKey, loadKey, type KeyRecord, toKeyView, type KeyView } from './record.js';
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
    updatedAt: new Date().toISOString(),
    ...(to === 'destroyed' ? { sealed: null } : {}),
  };
  await auditAllowed(ctx, to === 'destroyed' ? 'key.destroy' : 'key.state', id, { from: record.state, to });
  const res = await ctx.deps.store.txn(
    [{ key: keyKey(id), modRevision }],
    [{ type: 'put', key: keyKey(id), value: JSON.stringify(next) }],
  );
  if (!res.ok) throw conflict('The key changed while this request was in progress; try again.');
  // A key that may no longer sign leaves the enclave's cache of unsealed keys at once.
  if (to === 'destroyed' || to === 'compromised' || to === 'deactivated') await ctx.deps.enclave.evict?.(id);
  return toKeyView(next);
}
