// The bodies of the operations that can run on another node (operations/codec.ts PEER_CODECS), one
// row per operation: given the context, the key and the typed input, the domain value. The core's
// typed methods (core.ts) and the local executor both run an operation from here, so a call that
// arrives over the peer channel runs exactly the code a local call runs.
import type { Executor } from '../pipeline/route.js';
import { unwrap } from '../pipeline/outcome.js';
import type { OpContext } from '../context.js';
import { signWithKey } from '../keys/sign.js';
import { verifyWithKey, type VerifyInput } from '../keys/verify.js';
import { deriveKey } from '../keys/derive.js';
import type { SignInput } from '../keys/input.js';
import { signBitcoinPsbt, type BitcoinPsbtInput } from '../chains/bitcoin-psbt.js';
import { signEthereumMessage, type EthereumMessageInput } from '../chains/ethereum-message.js';
import { signEthereumTransaction, type EthereumTransactionInput } from '../chains/ethereum-transaction.js';
import { signEthereumTypedData, type EthereumTypedDataInput } from '../chains/ethereum-typed-data.js';
import type { PeerOperation } from './codec.js';

type Body = (ctx: OpContext, keyId: string, input: unknown) => Promise<unknown>;

/** Inputs are the adapters' objects (each operation checks every field itself). */
export const KEY_OPERATIONS: Readonly<Record<PeerOperation, Body>> = Object.freeze({
  'key.sign': (ctx, id, input) => signWithKey(ctx, id, input as SignInput).then(unwrap),
  'key.verify': (ctx, id, input) => verifyWithKey(ctx, id, input as VerifyInput),
  'key.derive': (ctx, id, input) => deriveKey(ctx, id, (input as { path?: unknown } | undefined)?.path),
  'ethereum.transaction': (ctx, id, input) =>
    signEthereumTransaction(ctx, id, input as EthereumTransactionInput).then(unwrap),
  'ethereum.message': (ctx, id, input) =>
    signEthereumMessage(ctx, id, input as EthereumMessageInput).then(unwrap),
  'ethereum.typed-data': (ctx, id, input) =>
    signEthereumTypedData(ctx, id, input as EthereumTypedDataInput).then(unwrap),
  'bitcoin.psbt': (ctx, id, input) => signBitcoinPsbt(ctx, id, input as BitcoinPsbtInput).then(unwrap),
});

/** This node's enclave: runs the call's operation here, under `ctx` (the caller as authenticated). */
export function localExecutor(ctx: OpContext, nodeId: string): Executor {
  return {
    kind: 'local',
    execute: async (call) => ({
      nodeId,
      value: await KEY_OPERATIONS[call.operation](ctx, call.keyId, call.input),
    }),
  };
}
