// POST /v1/keys/{id}/ethereum/message (and JSON-RPC personal_sign, eth_sign, account_signData
// text/plain): an EIP-191 personal message, signed as r‖s‖v with v 27 or 28. The audit entry names
// the message by its EIP-191 digest and length, never its text.
import { parsePersonalMessage, personalMessageHash } from '../../chains/ethereum/message.js';
import { toRsvSignature } from '../../chains/ethereum/signature.js';
import { toHex } from '../../util/bytes.js';
import type { OpContext } from '../context.js';
import type { Outcome } from '../pipeline/outcome.js';
import { runSigning } from '../pipeline/signing.js';
import { enclaveSign, expectSigner, loadChainSigner } from './signer.js';

export interface EthereumMessageInput {
  message: unknown;
  path?: unknown;
  /** The address the caller expects to sign (JSON-RPC's account): refused unless it is the signer's. */
  from?: unknown;
}

export async function signEthereumMessage(
  ctx: OpContext,
  id: string,
  input: EthereumMessageInput,
): Promise<Outcome<{ signature: string }>> {
  const signer = await loadChainSigner(ctx, id, input.path);
  expectSigner(signer, input.from, 'from');
  const message = parsePersonalMessage(input.message, 'message');
  const digest = personalMessageHash(message);
  const messageHash = toHex(digest);
  return runSigning(ctx, {
    operation: ctx.operation,
    keyId: id,
    ...(signer.path !== undefined ? { path: signer.path } : {}),
    digests: [digest],
    facts: { kind: 'ethereum.message', signer: signer.address ?? null, messageHash },
    audit: {
      signer: signer.address ?? null,
      messageBytes: message.length,
      messageHash,
      ...(signer.path !== undefined ? { path: signer.path } : {}),
    },
    execute: async () => {
      const sig = await enclaveSign(ctx, signer, digest, 'ecdsa');
      const signature = toRsvSignature(digest, sig, signer.address);
      ctx.deps.metrics.signed(signer.record.algorithm);
      return { signature };
    },
  });
}
