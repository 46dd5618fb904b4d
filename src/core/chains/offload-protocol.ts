// Messages between the chain-work pool (offload.ts, main thread) and its workers
// (offload-worker.ts). Structured-clone data only; errors cross as {code, message}.
import type { PsbtSignature, PsbtSigner, PsbtSigningPlan } from '../../chains/bitcoin/psbt.js';
import type { BitcoinNetwork } from '../../chains/bitcoin/network.js';
import type { ParsedTransaction, SignedTransaction } from '../../chains/ethereum/transaction.js';
import type { SignResult } from '../../enclave/enclave.js';

export type ChainTask =
  /**
   * EIP-712: `text` is the typed data as JSON text; `asString` says the caller sent it as a string
   * (then its own length bound applies) rather than as an object.
   */
  | { op: 'typedData'; text: string; asString: boolean }
  /** Ethereum: the transaction request as JSON text → the checked transaction and its digest. */
  | { op: 'ethTxDigest'; text: string }
  | { op: 'ethTxAssemble'; tx: ParsedTransaction['tx']; sig: SignResult; expected: string | undefined }
  | { op: 'psbtPlan'; psbt: string; network: BitcoinNetwork; signer: PsbtSigner }
  | { op: 'psbtApply'; plan: PsbtSigningPlan; results: (PsbtSignature | undefined)[] };

/** What the node needs of typed data: the digest, and what identifies it for the audit entry. */
export interface TypedDataDigest {
  digest: Uint8Array;
  primaryType: string;
  domain: Record<string, unknown>;
}

export interface ChainResults {
  typedData: TypedDataDigest;
  ethTxDigest: { parsed: ParsedTransaction; digest: Uint8Array };
  ethTxAssemble: SignedTransaction;
  psbtPlan: PsbtSigningPlan;
  psbtApply: { psbt: string; signedInputs: number[] };
}

export type ToChainWorker = { id: number } & ChainTask;

export type FromChainWorker =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; code: string; message: string };
