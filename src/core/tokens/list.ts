// GET /v1/tokens: every token's metadata, never a secret or its hash.
import { TOKENS_PREFIX } from '../../store/layout.js';
import { scanAll } from '../../store/scan.js';
import type { OpContext } from '../context.js';
import { toView, type TokenRecord, type TokenView } from './record.js';

export async function listTokens(ctx: OpContext): Promise<{ tokens: TokenView[] }> {
  const entries = await scanAll(ctx.deps.store, TOKENS_PREFIX);
  return { tokens: entries.map((e) => toView(JSON.parse(e.value) as TokenRecord)) };
}
