// What the JSON-RPC signer says about chains. Keymesh signs; it has no chain: no blocks, balances,
// nonces or fee market, and it broadcasts nothing. A wallet client still asks its signer a few
// questions before it signs, and those that need no chain are answered here:
//
//   eth_chainId   → the chain id as a hex quantity ("0x1")
//   net_version   → the same, as a decimal string ("1")
//
// The chain is the one the request's URL names (`/rpc?chainId=N`), else the node's --chain-id,
// else 1. It is what the signer reports to a client (viem checks it against its chain and puts it
// in the transaction it asks to sign; ethers' JsonRpcProvider detects its network by it); a
// transaction is signed for the chainId it carries, which stays required (API.md).
//
// Every other Ethereum method a client might send to its signer is in REFUSED with the reason, so
// the caller learns what to do instead of "method not found": chain state comes from an Ethereum
// node, and the caller broadcasts what Keymesh signed.
import { parseChainId } from '../../config.js';
import { unsupportedMethod, type RpcError } from './errors.js';

/** The query parameters /rpc takes; anything else is refused (400), not ignored. */
const QUERY_PARAMS = new Set(['chainId']);

/**
 * The chain of one request: `?chainId=N` (a positive safe integer, decimal), else `fallback` (the
 * node's --chain-id). A string naming what is wrong otherwise, without echoing the input.
 */
export function requestChainId(query: unknown, fallback: number): number | string {
  if (query === undefined || query === null) return fallback;
  if (typeof query !== 'object') return 'the /rpc URL takes only ?chainId=N';
  const q = query as Record<string, unknown>;
  const keys = Object.keys(q);
  if (keys.some((k) => !QUERY_PARAMS.has(k))) return 'the /rpc URL takes only ?chainId=N';
  if (!Object.hasOwn(q, 'chainId')) return fallback;
  return (
    parseChainId(q.chainId) ??
    `chainId in the /rpc URL must be a whole number from 1 to ${Number.MAX_SAFE_INTEGER}, in decimal`
  );
}

const NO_CHAIN_STATE = (method: string) =>
  `Keymesh is a signer and has no chain state: ask an Ethereum node for ${method}, ` +
  'and give Keymesh the complete transaction to sign (nonce, gas, fees, chainId).';
const CALLER_BROADCASTS =
  'Keymesh signs and the caller broadcasts: sign with eth_signTransaction, then send the raw ' +
  'transaction to an Ethereum node (eth_sendRawTransaction there).';

/** Methods of chain state: the signer cannot answer them, an Ethereum node can. */
const CHAIN_STATE = [
  'eth_blockNumber',
  'eth_getBalance',
  'eth_getTransactionCount',
  'eth_estimateGas',
  'eth_gasPrice',
  'eth_maxPriorityFeePerGas',
  'eth_feeHistory',
  'eth_blobBaseFee',
  'eth_call',
  'eth_createAccessList',
  'eth_getCode',
  'eth_getStorageAt',
  'eth_getProof',
  'eth_getBlockByNumber',
  'eth_getBlockByHash',
  'eth_getTransactionByHash',
  'eth_getTransactionReceipt',
  'eth_getLogs',
  'eth_syncing',
  'eth_newFilter',
  'eth_newBlockFilter',
  'eth_newPendingTransactionFilter',
  'eth_getFilterChanges',
  'eth_getFilterLogs',
  'eth_uninstallFilter',
  'eth_subscribe',
  'eth_unsubscribe',
] as const;

/** Method → why Keymesh does not answer it (JSON-RPC error 4200, EIP-1193 "unsupported method"). */
export const REFUSED: ReadonlyMap<string, string> = new Map<string, string>([
  ...CHAIN_STATE.map((m): [string, string] => [m, NO_CHAIN_STATE(m)]),
  ['eth_sendTransaction', CALLER_BROADCASTS],
  ['eth_sendRawTransaction', CALLER_BROADCASTS],
  ['eth_sendRawTransactionSync', CALLER_BROADCASTS],
  [
    'wallet_switchEthereumChain',
    'Keymesh has no current chain to switch: name it per request in the URL (/rpc?chainId=N), or ' +
      'start the node with --chain-id N.',
  ],
]);

/** The refusal of a method in REFUSED, or undefined. */
export function refusal(method: string): RpcError | undefined {
  const why = REFUSED.get(method);
  return why === undefined ? undefined : unsupportedMethod(why);
}

const quantity = (n: number) => `0x${n.toString(16)}`;

export const chainIdAnswer = (chainId: number): string => quantity(chainId);
export const netVersionAnswer = (chainId: number): string => String(chainId);
