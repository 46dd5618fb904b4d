// GET /v1/tokens: every live token's metadata, never a secret or its hash. Every record is checked.
import { TOKENS_PREFIX } from '../../store/layout.js';
import { scanAll } from '../../store/scan.js';
import type { OpContext } from '../context.js';
import { openTokenRecord, toView, type TokenView } from './record.js';

export async function listTokens(ctx: OpContext): Promise<{ tokens: TokenView[] }> {
  const store = ctx.deps.store;
  const entries = await scanAll(store, TOKENS_PREFIX);
  const records = await Promise.all(
    entries.map((e) => openTokenRecord(store, e.key.slice(TOKENS_PREFIX.length), e.value)),
  );
  // Revoked tokens stay as tombstones (record.ts) but are no longer listed.
  return { tokens: records.filter((r) => r.revokedAt === undefined).map(toView) };
}
