// POST /v1/tokens: mint a token. The secret is returned once and only its hash is stored.
import { invalid } from '../../errors.js';
import { isId, newId } from '../../util/ids.js';
import { type Scope, Scopes } from '../auth/scopes.js';
import { auditAllowed, type OpContext } from '../context.js';
import { mintSecret, sealTokenRecord, tokenKey, type TokenRecord } from './record.js';

export interface CreateTokenInput {
  name: string;
  scopes: string[];
  keyIds?: string[];
  ttlSeconds?: number;
}

const MAX_TTL = 10 * 365 * 24 * 3600;

export async function createToken(
  ctx: OpContext,
  input: CreateTokenInput,
): Promise<{ id: string; token: string }> {
  if (typeof input.name !== 'string' || input.name.length < 1 || input.name.length > 128)
    throw invalid('name must be 1 to 128 characters');
  if (!Array.isArray(input.scopes) || input.scopes.length === 0)
    throw invalid('scopes must be a non-empty list');
  const scopes = [...new Set(input.scopes)];
  for (const s of scopes)
    if (!Scopes.includes(s as Scope)) throw invalid(`unknown scope: ${String(s).slice(0, 32)}`);
  let keyIds: string[] | null = null;
  if (input.keyIds !== undefined) {
    if (!Array.isArray(input.keyIds) || input.keyIds.length > 1000)
      throw invalid('keyIds must be a list of at most 1000 ids');
    for (const k of input.keyIds)
      if (typeof k !== 'string' || !isId(k)) throw invalid('keyIds must hold key ids');
    keyIds = [...new Set(input.keyIds)];
  }
  if (
    input.ttlSeconds !== undefined &&
    (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 1 || input.ttlSeconds > MAX_TTL)
  )
    throw invalid(`ttlSeconds must be a whole number from 1 to ${MAX_TTL}`);

  const id = newId();
  const { token, secretHash } = mintSecret(id);
  const now = Date.now();
  const record: TokenRecord = {
    id,
    name: input.name,
    scopes: scopes as Scope[],
    keyIds,
    createdAt: new Date(now).toISOString(),
    expiresAt: input.ttlSeconds === undefined ? null : new Date(now + input.ttlSeconds * 1000).toISOString(),
    secretHash,
    seq: 1,
  };
  const value = await sealTokenRecord(ctx.deps.store, record);
  await auditAllowed(ctx, undefined, { tokenId: id, scopes: scopes.join(' ') });
  await ctx.deps.store.txn(
    [{ key: tokenKey(id), modRevision: 0 }],
    [{ type: 'put', key: tokenKey(id), value }],
  );
  return { id, token };
}

/** The first admin token, made when a node (or cluster) is bootstrapped. Not behind a caller. */
export async function bootstrapAdminToken(deps: OpContext['deps']): Promise<{ id: string; token: string }> {
  const id = newId();
  const { token, secretHash } = mintSecret(id);
  const record: TokenRecord = {
    id,
    name: 'admin',
    scopes: ['admin'],
    keyIds: null,
    createdAt: new Date().toISOString(),
    expiresAt: null,
    secretHash,
    seq: 1,
  };
  const value = await sealTokenRecord(deps.store, record);
  await deps.audit.append({
    actor: 'system',
    action: 'token.bootstrap',
    outcome: 'allowed',
    details: { tokenId: id },
  });
  await deps.store.put(tokenKey(id), value);
  return { id, token };
}
