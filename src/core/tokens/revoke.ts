// DELETE /v1/tokens/{id}: the token stops working with the next request (authentication reads
// the store on every request, so there is no cache to go stale).
import { notFound } from '../../errors.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { tokenKey } from './record.js';

export async function revokeToken(ctx: OpContext, id: string): Promise<void> {
  if (!isId(id)) throw notFound('token');
  const e = await ctx.deps.store.get(tokenKey(id));
  if (!e) throw notFound('token');
  await auditAllowed(ctx, undefined, { tokenId: id });
  await ctx.deps.store.delete(tokenKey(id));
}
