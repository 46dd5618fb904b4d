// The JSON-RPC signer methods, each a translation of positional params onto the same core
// operations REST uses: an account (`from`, `address`) becomes a key id through the core's account
// lookup, then the core signs. Nothing here decides what may be signed, nor who may call: every
// method runs only after the route's one gate (routes.ts) has let the caller's token through.
//
//   eth_accounts, account_list,
//   eth_requestAccounts                         []                              → [address]
//   eth_chainId                                 []                              → "0x1" (chain.ts)
//   net_version                                 []                              → "1"
//   eth_signTransaction                         [tx]                            → raw tx (0x)
//   account_signTransaction (clef)              [tx, methodSelector?]           → {raw, tx}
//   eth_sign                                    [address, data]                 → 0x r‖s‖v
//   personal_sign                               [data, address, password?]      → 0x r‖s‖v
//   eth_signTypedData_v4, account_signTypedData [address, typedData]            → 0x r‖s‖v
//   account_signData (clef)                     [contentType, address, data]    → 0x r‖s‖v
//   account_version (clef)                      []                              → "6.1.0"
//
// eth_signTransaction answers the raw transaction as ethers' JsonRpcSigner and viem expect;
// account_signTransaction answers {raw, tx} as geth's external signer client (--signer) expects.
import { parseTransaction, type Hex } from 'viem';
import type { Credential } from '../../core/context.js';
import type { Core } from '../../core/core.js';
import { invalid, KeymeshError } from '../../errors.js';
import { chainIdAnswer, netVersionAnswer } from './chain.js';

/**
 * What the endpoint needs of the core: the gate every call passes (authorizeSigner), the account
 * lookup and the three Ethereum signing calls. In a cluster, routes.ts hands in signing calls that
 * run where the key lives (forwarded if need be).
 */
export type RpcApi = Pick<
  Core,
  | 'authorizeSigner'
  | 'ethereumAccount'
  | 'ethereumAccounts'
  | 'signEthereumTransaction'
  | 'signEthereumMessage'
  | 'signEthereumTypedData'
>;

/** One call, once the caller is through the gate: what to sign with, who asks, for which chain. */
export interface CallContext {
  api: RpcApi;
  cred: Credential;
  /** The request's chain: ?chainId=N in the URL, else the node's --chain-id (chain.ts). */
  chainId: number;
}

export type Method = (c: CallContext, params: unknown[]) => Promise<unknown>;

/** clef's ExternalAPIVersion (go-ethereum signer/core/api.go), the API this endpoint speaks. */
export const EXTERNAL_API_VERSION = '6.1.0';

function arity(params: unknown[], min: number, max: number): void {
  if (params.length < min || params.length > max)
    throw invalid(
      min === max
        ? `this method takes ${min} parameter${min === 1 ? '' : 's'}`
        : `this method takes ${min} to ${max} parameters`,
    );
}

function txObject(v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw invalid('params[0] must be a transaction object');
  return v as Record<string, unknown>;
}

async function signTx(core: RpcApi, cred: Credential, params: unknown[], max: number) {
  arity(params, 1, max);
  const tx = txObject(params[0]);
  if (tx.from === undefined || tx.from === null) throw invalid('transaction.from is required');
  // An HD root's account signs with the child at its path (core/keys/accounts.ts).
  const { keyId, path } = await core.ethereumAccount(cred, tx.from, 'transaction.from');
  return core.signEthereumTransaction(cred, keyId, { transaction: tx, ...(path ? { path } : {}) });
}

async function signMessage(core: RpcApi, cred: Credential, address: unknown, field: string, data: unknown) {
  const { keyId, path } = await core.ethereumAccount(cred, address, field);
  // `from`: the core signs only if this key at this path is that address (chains/signer.ts).
  const input = { message: data, from: address, ...(path ? { path } : {}) };
  return (await core.signEthereumMessage(cred, keyId, input)).signature;
}

async function signTypedData(core: RpcApi, cred: Credential, address: unknown, field: string, td: unknown) {
  const { keyId, path } = await core.ethereumAccount(cred, address, field);
  const input = { typedData: td, from: address, ...(path ? { path } : {}) };
  return (await core.signEthereumTypedData(cred, keyId, input)).signature;
}

async function accounts({ api, cred }: CallContext, params: unknown[]) {
  arity(params, 0, 0);
  return (await api.ethereumAccounts(cred)).map((a) => a.address);
}

/** clef's data/typed payload: typed data as an object, as JSON text, or as 0x-hex of JSON text. */
function typedDataPayload(data: unknown): unknown {
  if (typeof data === 'string' && /^0x([0-9a-fA-F]{2})*$/.test(data))
    return Buffer.from(data.slice(2), 'hex').toString('utf8');
  return data;
}

const q = (n: bigint | number): Hex => `0x${n.toString(16)}`;

/** The signed transaction as geth's types.Transaction marshals it to JSON (clef's `tx`). */
export function gethTransactionJson(raw: Hex, hash: Hex): Record<string, unknown> {
  const t = parseTransaction(raw);
  const typed = t.type !== 'legacy';
  const typeNumber = { legacy: 0, eip2930: 1, eip1559: 2, eip4844: 3, eip7702: 4 }[t.type ?? 'legacy'];
  const out: Record<string, unknown> = {
    type: q(typeNumber),
    ...(t.chainId !== undefined ? { chainId: q(t.chainId) } : {}),
    nonce: q(t.nonce ?? 0),
    to: t.to ?? null,
    gas: q(t.gas ?? 0n),
    gasPrice: t.gasPrice !== undefined ? q(t.gasPrice) : null,
    maxPriorityFeePerGas: t.maxPriorityFeePerGas !== undefined ? q(t.maxPriorityFeePerGas) : null,
    maxFeePerGas: t.maxFeePerGas !== undefined ? q(t.maxFeePerGas) : null,
    value: q(t.value ?? 0n),
    input: t.data ?? '0x',
  };
  if (typed) out.accessList = t.accessList ?? [];
  if (t.type === 'eip4844') {
    out.maxFeePerBlobGas = q(t.maxFeePerBlobGas ?? 0n);
    out.blobVersionedHashes = t.blobVersionedHashes ?? [];
  }
  if (t.type === 'eip7702')
    out.authorizationList = (t.authorizationList ?? []).map((a) => ({
      chainId: q(a.chainId),
      address: a.address,
      nonce: q(a.nonce),
      yParity: q(a.yParity ?? 0),
      r: q(BigInt(a.r)),
      s: q(BigInt(a.s)),
    }));
  // geth: v is the EIP-155 value for legacy transactions and the y parity for typed ones.
  out.v = q(typed ? (t.yParity ?? 0) : (t.v ?? 0n));
  out.r = q(BigInt(t.r ?? 0));
  out.s = q(BigInt(t.s ?? 0));
  if (typed) out.yParity = q(t.yParity ?? 0);
  out.hash = hash;
  return out;
}

/** eth_signTypedData_v4 and clef's account_signTypedData: [address, typedData]. */
const typedDataV4: Method = async ({ api, cred }, params) => {
  arity(params, 2, 2);
  return signTypedData(api, cred, params[0], 'params[0] (address)', params[1]);
};

export const METHODS: ReadonlyMap<string, Method> = new Map<string, Method>([
  ['eth_accounts', accounts],
  // EIP-1102's "connect": the accounts are there to use, no prompt (viem's requestAddresses).
  ['eth_requestAccounts', accounts],
  ['account_list', accounts],
  [
    'eth_chainId',
    async ({ chainId }, params) => {
      arity(params, 0, 0);
      return chainIdAnswer(chainId);
    },
  ],
  [
    'net_version',
    async ({ chainId }, params) => {
      arity(params, 0, 0);
      return netVersionAnswer(chainId);
    },
  ],
  [
    'account_version',
    async (_c, params) => {
      arity(params, 0, 0);
      return EXTERNAL_API_VERSION;
    },
  ],
  [
    'eth_signTransaction',
    async ({ api, cred }, params) => (await signTx(api, cred, params, 1)).rawTransaction,
  ],
  [
    'account_signTransaction',
    async ({ api, cred }, params) => {
      // The optional second parameter is clef's method selector, a display hint for its UI.
      if (params[1] !== undefined && params[1] !== null && typeof params[1] !== 'string')
        throw invalid('params[1] (method selector) must be a string');
      const s = await signTx(api, cred, params, 2);
      return { raw: s.rawTransaction, tx: gethTransactionJson(s.rawTransaction, s.hash) };
    },
  ],
  [
    'eth_sign',
    async ({ api, cred }, params) => {
      arity(params, 2, 2);
      return signMessage(api, cred, params[0], 'params[0] (address)', params[1]);
    },
  ],
  [
    'personal_sign',
    async ({ api, cred }, params) => {
      // geth's third parameter is an account password; keys here are unlocked by tokens, not passwords.
      arity(params, 2, 3);
      return signMessage(api, cred, params[1], 'params[1] (address)', params[0]);
    },
  ],
  ['eth_signTypedData_v4', typedDataV4],
  ['account_signTypedData', typedDataV4],
  [
    'account_signData',
    async ({ api, cred }, params) => {
      arity(params, 3, 3);
      const [contentType, address, data] = params;
      if (typeof contentType !== 'string' || contentType.length > 100)
        throw invalid('params[0] must be a content type such as text/plain');
      const mime = contentType.split(';')[0]!.trim().toLowerCase();
      if (mime === 'text/plain') return signMessage(api, cred, address, 'params[1] (address)', data);
      if (mime === 'data/typed')
        return signTypedData(api, cred, address, 'params[1] (address)', typedDataPayload(data));
      throw new KeymeshError(
        'UNSUPPORTED',
        'account_signData signs text/plain (EIP-191 personal messages) and data/typed (EIP-712)',
      );
    },
  ],
]);
