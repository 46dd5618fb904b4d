// POST /v1/keys/{id}/sign. Order matters: state, input, then the audit entry made durable, and
// only then the enclave is asked for a signature (DESIGN.md: "audit, written durably before the
// signature exists"). If the audit log cannot be written, no signature is made.
import { createHash } from 'node:crypto';
import { toHex } from '../../util/bytes.js';
import { isId } from '../../util/ids.js';
import { notFound } from '../../errors.js';
import type { OpContext } from '../context.js';
import type { Outcome } from '../pipeline/outcome.js';
import { runSigning } from '../pipeline/signing.js';
import { parseKeyPath, parseSignInput, type SignInput } from './input.js';
import { loadKeyForUse } from './record.js';
import { materialRef } from '../pipeline/material.js';
import { assertUsable } from './states.js';

export interface SignAnswer {
  signature: string;
  recoveryId?: number;
}

/** Decodes a raw signature request into its intent and runs it through the signing pipeline. */
export async function signWithKey(
  ctx: OpContext,
  id: string,
  input: SignInput,
): Promise<Outcome<SignAnswer>> {
  if (!isId(id)) throw notFound('key');
  const key = await loadKeyForUse(ctx.deps.store, id);
  const { record } = key;
  assertUsable(record.state, 'sign');
  const req = parseSignInput(record.algorithm, input);
  // HD roots sign with the child at `path` (derived inside the enclave).
  const path = parseKeyPath(record, input.path);
  // The audit names what is signed by its hash: enough to match a signature later, no payload.
  const signed = req.digest ?? req.message!;
  const kind = req.digest ? 'digest' : 'message';
  const sha256 = createHash('sha256').update(signed).digest('hex');
  return runSigning(ctx, {
    operation: ctx.operation,
    keyId: id,
    ...(path !== undefined ? { path } : {}),
    digests: [signed],
    facts: { kind: 'raw', input: kind, sha256 },
    audit: { input: kind, sha256, ...(path !== undefined ? { path } : {}) },
    execute: async () => {
      const res = await ctx.deps.enclave.sign(materialRef(key), {
        ...req,
        ...(path !== undefined ? { path } : {}),
      });
      ctx.deps.metrics.signed(record.algorithm);
      return {
        signature: toHex(res.signature),
        ...(record.algorithm === 'secp256k1' && res.recoveryId !== undefined
          ? { recoveryId: res.recoveryId }
          : {}),
      };
    },
  });
}
