// One chain-work worker thread (offload.ts): decodes and hashes hostile wallet inputs (EIP-712
// typed data, Ethereum transactions, PSBTs) so that the HTTP thread never does. It holds no key material: signing stays
// in the enclave; this thread only turns bytes into digests and signatures into a PSBT.
import { parentPort } from 'node:worker_threads';
import { applyPsbtSignatures, planPsbtSigning } from '../../chains/bitcoin/psbt.js';
import { parseTypedData, typedDataHash } from '../../chains/ethereum/typed-data.js';
import {
  assembleSignedTransaction,
  parseTransactionRequest,
  transactionSigningHash,
} from '../../chains/ethereum/transaction.js';
import { invalid, KeymeshError } from '../../errors.js';
import type { ChainResults, FromChainWorker, ToChainWorker, TypedDataDigest } from './offload-protocol.js';

if (!parentPort) throw new Error('the chain-work worker must run in a worker thread');
const port = parentPort;

function typedData(text: string, asString: boolean): TypedDataDigest {
  let input: unknown = text;
  if (!asString) {
    try {
      input = JSON.parse(text);
    } catch {
      throw invalid('typedData is not JSON');
    }
  }
  const td = parseTypedData(input);
  const digest = typedDataHash(td);
  return { digest, primaryType: td.primaryType, domain: td.domain };
}

function run(msg: ToChainWorker): ChainResults[ToChainWorker['op']] {
  switch (msg.op) {
    case 'typedData':
      return typedData(msg.text, msg.asString);
    case 'ethTxDigest': {
      const parsed = parseTransactionRequest(JSON.parse(msg.text));
      return { parsed, digest: transactionSigningHash(parsed.tx) };
    }
    case 'ethTxAssemble':
      return assembleSignedTransaction(msg.tx, msg.sig, msg.expected);
    case 'psbtPlan':
      return planPsbtSigning(msg.psbt, msg.network, msg.signer);
    case 'psbtApply':
      return applyPsbtSignatures(msg.plan, msg.results);
  }
}

port.on('message', (msg: ToChainWorker) => {
  let reply: FromChainWorker;
  try {
    reply = { id: msg.id, ok: true, value: run(msg) };
  } catch (e) {
    // Library failures can name internals; only Keymesh's own messages cross.
    reply =
      e instanceof KeymeshError
        ? { id: msg.id, ok: false, code: e.code, message: e.shortMessage }
        : { id: msg.id, ok: false, code: 'INTERNAL', message: 'the request could not be processed' };
  }
  port.postMessage(reply);
});
