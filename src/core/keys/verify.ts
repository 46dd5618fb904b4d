// POST /v1/keys/{id}/verify: checks a signature against the key's public key. ECDSA signatures are
// 64 bytes r‖s; high-s is accepted as ECDSA itself allows (the node only ever produces low-s).
import { invalid, notFound } from '../../errors.js';
import { parseHex } from '../../util/bytes.js';
import { isId } from '../../util/ids.js';
import { auditAllowed, type OpContext } from '../context.js';
import { parseKeyPath, parseSignInput, type SignInput } from './input.js';
import { loadKeyForUse } from './record.js';
import { materialRef } from '../pipeline/material.js';
import { assertUsable } from './states.js';

export interface VerifyInput extends SignInput {
  signature?: unknown;
}

export async function verifyWithKey(
  ctx: OpContext,
  id: string,
  input: VerifyInput,
): Promise<{ valid: boolean }> {
  if (!isId(id)) throw notFound('key');
  const key = await loadKeyForUse(ctx.deps.store, id);
  const { record } = key;
  assertUsable(record.state, 'verify');
  const req = parseSignInput(record.algorithm, input);
  if (input.signature === undefined) throw invalid('signature is required');
  const signature = parseHex('signature', input.signature, { len: 64 });
  // HD roots: the signature is checked against the child's key at `path` (derived public key).
  const path = parseKeyPath(record, input.path);
  await auditAllowed(ctx, id, path !== undefined ? { path } : undefined);
  const publicKey =
    path === undefined
      ? Buffer.from(record.publicKey.slice(2), 'hex')
      : (await ctx.deps.enclave.derive(materialRef(key), path)).publicKey;
  const valid = await ctx.deps.enclave.verify({
    algorithm: record.algorithm,
    publicKey,
    ...req,
    signature,
  });
  return { valid };
}
