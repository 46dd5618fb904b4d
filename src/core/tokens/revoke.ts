// DELETE /v1/tokens/{id}: the token stops working with the next request (authentication reads
// the store on every request, so there is no cache to go stale). The record stays, MAC'd, with
// `revokedAt` set: un-revoking it would take editing a record only a node can write.
import { conflict, notFound } from '../../errors.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { openTokenRecord, sealTokenRecord, tokenKey, type TokenRecord } from './record.js';

export async function revokeToken(ctx: OpContext, id: string): Promise<void> {
  if (!isId(id)) throw notFound('token');
  const store = ctx.deps.store;
  const e = await store.get(tokenKey(id));
  if (!e) throw notFound('token');
  const record = await openTokenRecord(store, id, e.value);
  if (record.revokedAt !== undefined) throw notFound('token');
  await auditAllowed(ctx, undefined, { tokenId: id });
  const next: TokenRecord = { ...record, seq: record.seq + 1, revokedAt: new Date().toISOString() };
  const res = await store.txn(
    [{ key: tokenKey(id), modRevision: e.modRevision }],
    [{ type: 'put', key: tokenKey(id), value: await sealTokenRecord(store, next) }],
  );
  if (!res.ok) throw conflict('The token changed while this request was in progress; try again.');
}
