// GET /v1/keys/{id}.
import { notFound } from '../../errors.js';
import { isId } from '../../util/ids.js';
import type { OpContext } from '../context.js';
import { loadKey, toKeyView, type KeyView } from './record.js';

export async function getKey(ctx: OpContext, id: string): Promise<KeyView> {
  if (!isId(id)) throw notFound('key');
  return toKeyView((await loadKey(ctx.deps.store, id)).record);
}
