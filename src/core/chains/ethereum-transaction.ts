// POST /v1/keys/{id}/ethereum/transaction (and JSON-RPC eth_signTransaction,
// account_signTransaction): a JSON-RPC transaction request in, the signed raw transaction out.
// Order as for every signature: key state, decoded and checked input, the audit entry made durable
// with what the transaction does, and only then the enclave signs the EIP-155 / EIP-2718 digest.
import type { Address, Hex } from 'viem';
import { type parseTransactionRequest, type SignedTransaction } from '../../chains/ethereum/transaction.js';
import { invalid } from '../../errors.js';
import type { AuditDetails } from '../../audit/chain.js';
import { toHex } from '../../util/bytes.js';
import type { OpContext } from '../context.js';
import type { Outcome } from '../pipeline/outcome.js';
import { runSigning } from '../pipeline/signing.js';
import { runChainTask } from './offload.js';
import { enclaveSign, loadChainSigner } from './signer.js';

export interface EthereumTransactionInput {
  transaction: unknown;
  path?: unknown;
}

export type { SignedTransaction };

export async function signEthereumTransaction(
  ctx: OpContext,
  id: string,
  input: EthereumTransactionInput,
): Promise<Outcome<SignedTransaction>> {
  const signer = await loadChainSigner(ctx, id, input.path);
  // Decoding, RLP and keccak of the largest allowed transaction (128 KiB of calldata, 10,000
  // storage keys) held the HTTP thread for most of a second: they run on the chain-work pool.
  const { parsed, digest } = await runChainTask({
    op: 'ethTxDigest',
    text: JSON.stringify(input.transaction ?? null),
  });
  if (parsed.from !== undefined && parsed.from !== signer.address)
    throw invalid(
      `transaction.from is not the address of this key${signer.path ? ` at ${signer.path}` : ''}`,
    );
  const described = describeTransaction(parsed.type, parsed.tx);
  return runSigning(ctx, {
    operation: ctx.operation,
    keyId: id,
    ...(signer.path !== undefined ? { path: signer.path } : {}),
    digests: [digest],
    facts: {
      kind: 'ethereum.transaction',
      chainId: described.chainId as number,
      from: signer.address ?? null,
      to: described.to as string | null,
      value: described.value as string,
    },
    audit: {
      from: signer.address ?? null,
      ...described,
      signingHash: toHex(digest),
      ...(signer.path !== undefined ? { path: signer.path } : {}),
    },
    execute: async () => {
      const sig = await enclaveSign(ctx, signer, digest, 'ecdsa');
      const signed = await runChainTask({
        op: 'ethTxAssemble',
        tx: parsed.tx,
        sig,
        expected: signer.address,
      });
      ctx.deps.metrics.signed(signer.record.algorithm);
      return signed;
    },
  });
}

/** What the transaction does, for the audit log: every decoded field but the calldata itself. */
function describeTransaction(
  type: string,
  tx: ReturnType<typeof parseTransactionRequest>['tx'],
): AuditDetails {
  const t = tx as {
    chainId: number;
    nonce: number;
    to?: Address;
    value?: bigint;
    gas?: bigint;
    data?: Hex;
    gasPrice?: bigint;
    maxFeePerGas?: bigint;
    maxPriorityFeePerGas?: bigint;
    maxFeePerBlobGas?: bigint;
    accessList?: unknown[];
    blobVersionedHashes?: unknown[];
    authorizationList?: { address: string; chainId: number }[];
  };
  const data = t.data ?? '0x';
  const out: AuditDetails = {
    type,
    chainId: t.chainId,
    nonce: t.nonce,
    to: t.to ?? null,
    value: (t.value ?? 0n).toString(),
    gas: (t.gas ?? 0n).toString(),
    dataBytes: (data.length - 2) / 2,
  };
  // The method selector says which contract function is called; the arguments stay out.
  if (data.length >= 10) out.selector = data.slice(0, 10);
  if (t.gasPrice !== undefined) out.gasPrice = t.gasPrice.toString();
  if (t.maxFeePerGas !== undefined) out.maxFeePerGas = t.maxFeePerGas.toString();
  if (t.maxPriorityFeePerGas !== undefined) out.maxPriorityFeePerGas = t.maxPriorityFeePerGas.toString();
  if (t.maxFeePerBlobGas !== undefined) out.maxFeePerBlobGas = t.maxFeePerBlobGas.toString();
  if (t.accessList?.length) out.accessListEntries = t.accessList.length;
  if (t.blobVersionedHashes) out.blobs = t.blobVersionedHashes.length;
  if (t.authorizationList) {
    out.authorizations = t.authorizationList.length;
    out.delegates = t.authorizationList
      .slice(0, 8)
      .map((a) => `${a.address}@${a.chainId}`)
      .join(',');
  }
  return out;
}
