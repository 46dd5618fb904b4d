// GET /v1/tokens: every live token's metadata, never a secret or its hash. Every record is checked.
import type { OpContext } from '../context.js';
import { openTokenRecord, tokenKey, toView, type TokenView } from './record.js';

const PREFIX = tokenKey('');

export async function listTokens(ctx: OpContext): Promise<{ tokens: TokenView[] }> {
  const store = ctx.deps.store;
  const entries = await store.list(PREFIX, { limit: 10_000 });
  const records = await Promise.all(
    entries.map((e) => openTokenRecord(store, e.key.slice(PREFIX.length), e.value)),
  );
  // Revoked tokens stay as tombstones (record.ts) but are no longer listed.
  return { tokens: records.filter((r) => r.revokedAt === undefined).map(toView) };
}
