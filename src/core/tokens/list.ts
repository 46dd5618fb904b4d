// GET /v1/tokens: every token's metadata, never a secret or its hash.
import type { OpContext } from '../context.js';
import { toView, type TokenRecord, type TokenView } from './record.js';

export async function listTokens(ctx: OpContext): Promise<{ tokens: TokenView[] }> {
  const entries = await ctx.deps.store.list('tokens/', { limit: 10_000 });
  return { tokens: entries.map((e) => toView(JSON.parse(e.value) as TokenRecord)) };
}
