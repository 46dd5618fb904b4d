// /v1/keys/{id}/ethereum/* and /v1/keys/{id}/bitcoin/psbt: a thin translation of HTTP onto the
// core's wallet-signing operations.
import type { FastifyInstance } from 'fastify';
import type { BitcoinPsbtInput } from '../../../core/chains/bitcoin-psbt.js';
import type { EthereumMessageInput } from '../../../core/chains/ethereum-message.js';
import type { EthereumTransactionInput } from '../../../core/chains/ethereum-transaction.js';
import type { EthereumTypedDataInput } from '../../../core/chains/ethereum-typed-data.js';
import type { Core } from '../../../core/core.js';
import { bodyOf, credential } from '../credential.js';
import { chainSchemas as schemas } from '../schemas-chains.js';

type Id = { Params: { id: string } };

export function chainRoutes(app: FastifyInstance, core: Core): void {
  app.post<Id>(
    '/v1/keys/:id/ethereum/transaction',
    { schema: schemas.ethereumTransaction, config: { operation: 'ethereum.transaction' } },
    (req) =>
      core.signEthereumTransaction(credential(req), req.params.id, bodyOf<EthereumTransactionInput>(req)),
  );
  app.post<Id>(
    '/v1/keys/:id/ethereum/message',
    { schema: schemas.ethereumMessage, config: { operation: 'ethereum.message' } },
    (req) => core.signEthereumMessage(credential(req), req.params.id, bodyOf<EthereumMessageInput>(req)),
  );
  app.post<Id>(
    '/v1/keys/:id/ethereum/typed-data',
    { schema: schemas.ethereumTypedData, config: { operation: 'ethereum.typed-data' } },
    (req) => core.signEthereumTypedData(credential(req), req.params.id, bodyOf<EthereumTypedDataInput>(req)),
  );
  app.post<Id>(
    '/v1/keys/:id/bitcoin/psbt',
    { schema: schemas.bitcoinPsbt, config: { operation: 'bitcoin.psbt' } },
    (req) => core.signBitcoinPsbt(credential(req), req.params.id, bodyOf<BitcoinPsbtInput>(req)),
  );
}
