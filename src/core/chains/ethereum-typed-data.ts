// POST /v1/keys/{id}/ethereum/typed-data (and JSON-RPC eth_signTypedData_v4,
// account_signTypedData, account_signData data/typed): EIP-712 typed structured data, signed as
// r‖s‖v. The audit entry carries what identifies the request (primary type, the domain: name,
// version, chain, verifying contract) and the digest; the message's values stay out of it.
// Checking and hashing run on the chain-work pool (offload.ts), with the work bounded per request
// (chains/ethereum/typed-data-hash.ts): the HTTP thread passes text in and gets a digest back.
import { toRsvSignature } from '../../chains/ethereum/signature.js';
import type { AuditDetails } from '../../audit/chain.js';
import { toHex } from '../../util/bytes.js';
import type { OpContext } from '../context.js';
import type { Outcome } from '../pipeline/outcome.js';
import { runSigning } from '../pipeline/signing.js';
import { runChainTask } from './offload.js';
import { enclaveSign, expectSigner, loadChainSigner } from './signer.js';

export interface EthereumTypedDataInput {
  typedData: unknown;
  path?: unknown;
  /** The address the caller expects to sign (JSON-RPC's account): refused unless it is the signer's. */
  from?: unknown;
}

export async function signEthereumTypedData(
  ctx: OpContext,
  id: string,
  input: EthereumTypedDataInput,
): Promise<Outcome<{ signature: string }>> {
  const signer = await loadChainSigner(ctx, id, input.path);
  expectSigner(signer, input.from, 'from');
  const td = await runChainTask({
    op: 'typedData',
    // Text crosses to the worker far cheaper than a large object graph is cloned.
    ...(typeof input.typedData === 'string'
      ? { text: input.typedData, asString: true }
      : { text: JSON.stringify(input.typedData ?? null), asString: false }),
  });
  const digest = td.digest;
  const details: AuditDetails = {
    signer: signer.address ?? null,
    primaryType: td.primaryType,
    digest: toHex(digest),
  };
  for (const f of ['name', 'version', 'chainId', 'verifyingContract', 'salt'] as const) {
    const v = td.domain[f];
    // Bounded: a domain name is the caller's text and the audit entry is not the place for a novel.
    if (typeof v === 'string') details[`domain.${f}`] = v.slice(0, 128);
    else if (typeof v === 'bigint') details[`domain.${f}`] = v.toString();
  }
  if (signer.path !== undefined) details.path = signer.path;
  const domain: Record<string, string> = {};
  for (const [k, v] of Object.entries(details))
    if (k.startsWith('domain.') && typeof v === 'string') domain[k.slice(7)] = v;
  return runSigning(ctx, {
    operation: ctx.operation,
    keyId: id,
    ...(signer.path !== undefined ? { path: signer.path } : {}),
    digests: [digest],
    facts: {
      kind: 'ethereum.typed-data',
      signer: signer.address ?? null,
      primaryType: td.primaryType,
      domain,
    },
    audit: details,
    execute: async () => {
      const sig = await enclaveSign(ctx, signer, digest, 'ecdsa');
      const signature = toRsvSignature(digest, sig, signer.address);
      ctx.deps.metrics.signed(signer.record.algorithm);
      return { signature };
    },
  });
}
