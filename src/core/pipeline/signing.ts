// The signing pipeline (issue 8, point 3). Every signing operation first decodes what is to be
// signed into a SigningIntent (operations' own files: keys/sign.ts, chains/*.ts), then this one
// sequence runs it: policy (a pass-through until the policy issue; the seam is `Policy`) → the
// allowed entry made durable → execute (the enclave signs the intent's digests and the answer is
// assembled) → the answer. Loading the key and checking its state happen while decoding (the
// intent holds the loaded record); a failure at any step is audited by the dispatcher (core.ts).
// Routing, the step before, is pipeline/route.ts.
//
// The outcome's audit: a failure while executing (the enclave refused, the node stopped being
// live) is written by the dispatcher as an error entry after the allowed one, once, like any
// failure; a success writes nothing more, since the allowed entry, durable before the signature
// exists, is its record (one fsync'd entry per signature, audit/log.ts); a pending outcome writes
// nothing yet: neither allowed nor failed (the approval that resolves it will be audited).
import type { AuditDetails } from '../../audit/chain.js';
import { KeymeshError } from '../../errors.js';
import { auditAllowed, type OpContext } from '../context.js';
import type { OperationName } from '../operations/table.js';
import type { Outcome } from './outcome.js';

/** The decoded facts a policy judges, per kind of signature. */
export type IntentFacts =
  | { kind: 'raw'; input: 'digest' | 'message'; sha256: string }
  | { kind: 'ethereum.transaction'; chainId: number; from: string | null; to: string | null; value: string }
  | { kind: 'ethereum.message'; signer: string | null; messageHash: string }
  | {
      kind: 'ethereum.typed-data';
      signer: string | null;
      primaryType: string;
      domain: Record<string, string>;
    }
  | { kind: 'bitcoin.psbt'; network: string; fee: string; outputs: { to: string; amount: string }[] };

export interface SigningIntent<T> {
  operation: OperationName;
  keyId: string;
  /** The canonical HD path of the signing child, if any. */
  path?: string;
  /** The exact digests the enclave will sign (or, for a raw message, its bytes' SHA-256 input). */
  digests: readonly Uint8Array[];
  facts: IntentFacts;
  /** The allowed entry's details: what is signed, by hash, never a payload or a secret. */
  audit: AuditDetails;
  /** The local executor: the enclave signs, the answer is assembled. */
  execute(): Promise<T>;
}

export type Verdict =
  { decision: 'allow' } | { decision: 'deny'; reason: string } | { decision: 'pending'; approvalId: string };

/** The policy seam: judges an intent's facts before anything is audited as allowed or signed. */
export interface Policy {
  judge(ctx: OpContext, intent: SigningIntent<unknown>): Promise<Verdict> | Verdict;
}

export const PASS_THROUGH: Policy = { judge: () => ({ decision: 'allow' }) };

export async function runSigning<T>(ctx: OpContext, intent: SigningIntent<T>): Promise<Outcome<T>> {
  const verdict = await (ctx.deps.policy ?? PASS_THROUGH).judge(ctx, intent);
  if (verdict.decision === 'deny') throw new KeymeshError('POLICY_DENIED', verdict.reason);
  if (verdict.decision === 'pending')
    return {
      kind: 'pending',
      approvalId: verdict.approvalId,
      operation: intent.operation,
      keyId: intent.keyId,
    };
  // DESIGN.md: the audit entry is durable before the signature exists.
  await auditAllowed(ctx, intent.keyId, intent.audit);
  return { kind: 'done', value: await intent.execute() };
}
