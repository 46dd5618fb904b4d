// Ethereum transactions: from a JSON-RPC transaction request (execution-apis
// GenericTransaction: eth_signTransaction / account_signTransaction) to the digest the enclave
// signs and the raw transaction the chain accepts.
//
// Types: legacy with EIP-155 replay protection (the signing payload is
// rlp([nonce, gasPrice, gas, to, value, data, chainId, 0, 0])), EIP-2930 (0x01, access lists),
// EIP-1559 (0x02, fee market), EIP-4844 (0x03, blob versioned hashes; signed without sidecars)
// and EIP-7702 (0x04, signed authorization lists). Typed transactions sign
// keccak256(type ‖ rlp(fields)) (EIP-2718). Encoding is viem's serializeTransaction, never
// hand-written RLP.
//
// A request without chainId is refused: the signature must not be replayable on another chain.
// Nonce and gas are required too: Keymesh has no view of the chain to fill them in, and a silent
// default (nonce 0, gas 0) would sign something the caller did not mean.
import {
  keccak256,
  serializeTransaction,
  hexToBytes,
  type Address,
  type Hex,
  type TransactionSerializable,
} from 'viem';
import { invalid } from '../../errors.js';
import {
  checkKeys,
  isPlainObject,
  MAX_UINT256,
  MAX_UINT64,
  parseAddress,
  parseData,
  parseSafeUint,
  parseUint,
} from './fields.js';
import { checkSignature, type RecoverableSignature } from './signature.js';

export const ETH_TX_TYPES = ['legacy', 'eip2930', 'eip1559', 'eip4844', 'eip7702'] as const;
export type EthereumTxType = (typeof ETH_TX_TYPES)[number];

/** Calldata bound: far above any real contract call, far below what could hurt the node. */
export const MAX_DATA_BYTES = 128 * 1024;
export const MAX_ACCESS_LIST_ENTRIES = 1000;
export const MAX_STORAGE_KEYS = 10_000;
export const MAX_BLOB_HASHES = 16;
export const MAX_AUTHORIZATIONS = 256;

export interface ParsedTransaction {
  type: EthereumTxType;
  /** The request's `from`, EIP-55, if it named one: the caller must check it is the signing key. */
  from?: Address;
  /** What is signed, as viem's serializable transaction (type set explicitly). */
  tx: TransactionSerializable;
}

export interface SignedTransaction {
  rawTransaction: Hex;
  /** keccak256 of the raw transaction: the hash the chain will know it by. */
  hash: Hex;
  /** EIP-55 address recovered from the signature. */
  from: Address;
}

const FIELDS = new Set([
  'type',
  'chainId',
  'nonce',
  'to',
  'from',
  'value',
  'gas',
  'gasLimit',
  'gasPrice',
  'maxFeePerGas',
  'maxPriorityFeePerGas',
  'data',
  'input',
  'accessList',
  'maxFeePerBlobGas',
  'blobVersionedHashes',
  'authorizationList',
]);

const TYPE_BY_NUMBER: Record<number, EthereumTxType> = {
  0: 'legacy',
  1: 'eip2930',
  2: 'eip1559',
  3: 'eip4844',
  4: 'eip7702',
};

// JSON-RPC clients (ethers' toJSON among them) write absent optional fields as null.
const given = (v: unknown): boolean => v !== undefined && v !== null;

function parseType(value: unknown): EthereumTxType {
  if (typeof value === 'string' && (ETH_TX_TYPES as readonly string[]).includes(value))
    return value as EthereumTxType;
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^0x[0-9a-fA-F]{1,2}$/.test(value)) n = Number(value);
  else if (typeof value === 'string' && /^[0-9]$/.test(value)) n = Number(value);
  const t = n === undefined ? undefined : TYPE_BY_NUMBER[n];
  if (!t)
    throw invalid(
      'transaction.type must be 0x0 (legacy), 0x1 (EIP-2930), 0x2 (EIP-1559), 0x3 (EIP-4844) or 0x4 (EIP-7702)',
    );
  return t;
}

/** What a wallet infers when `type` is absent (the same order viem and ethers use). */
function inferType(r: Record<string, unknown>): EthereumTxType {
  if (given(r.authorizationList)) return 'eip7702';
  if (given(r.blobVersionedHashes) || given(r.maxFeePerBlobGas)) return 'eip4844';
  if (given(r.maxFeePerGas) || given(r.maxPriorityFeePerGas)) return 'eip1559';
  if (given(r.gasPrice)) return given(r.accessList) ? 'eip2930' : 'legacy';
  throw invalid(
    'transaction needs gasPrice (legacy, EIP-2930) or maxFeePerGas and maxPriorityFeePerGas (EIP-1559)',
  );
}

function parseAccessList(value: unknown): { address: Address; storageKeys: Hex[] }[] {
  if (!Array.isArray(value)) throw invalid('transaction.accessList must be an array');
  if (value.length > MAX_ACCESS_LIST_ENTRIES)
    throw invalid(`transaction.accessList has more than ${MAX_ACCESS_LIST_ENTRIES} entries`);
  let keys = 0;
  return value.map((entry: unknown, i) => {
    const f = `transaction.accessList[${i}]`;
    if (!isPlainObject(entry)) throw invalid(`${f} must be an object with address and storageKeys`);
    checkKeys(f, entry, new Set(['address', 'storageKeys']));
    const address = parseAddress(`${f}.address`, entry.address);
    const sk = entry.storageKeys ?? [];
    if (!Array.isArray(sk)) throw invalid(`${f}.storageKeys must be an array`);
    keys += sk.length;
    if (keys > MAX_STORAGE_KEYS)
      throw invalid(`transaction.accessList has more than ${MAX_STORAGE_KEYS} storage keys`);
    const storageKeys = sk.map((k: unknown, j) => parseData(`${f}.storageKeys[${j}]`, k, { len: 32 }));
    return { address, storageKeys };
  });
}

function parseBlobHashes(value: unknown): Hex[] {
  if (!Array.isArray(value) || value.length === 0)
    throw invalid('transaction.blobVersionedHashes must be a non-empty array');
  if (value.length > MAX_BLOB_HASHES)
    throw invalid(`transaction.blobVersionedHashes has more than ${MAX_BLOB_HASHES} entries`);
  return value.map((h: unknown, i) => {
    const hash = parseData(`transaction.blobVersionedHashes[${i}]`, h, { len: 32 });
    // EIP-4844: VERSIONED_HASH_VERSION_KZG = 0x01.
    if (!hash.startsWith('0x01'))
      throw invalid(`transaction.blobVersionedHashes[${i}] must start with version byte 0x01`);
    return hash;
  });
}

function parseAuthorizationList(value: unknown) {
  if (!Array.isArray(value) || value.length === 0)
    throw invalid('transaction.authorizationList must be a non-empty array');
  if (value.length > MAX_AUTHORIZATIONS)
    throw invalid(`transaction.authorizationList has more than ${MAX_AUTHORIZATIONS} entries`);
  return value.map((a: unknown, i) => {
    const f = `transaction.authorizationList[${i}]`;
    if (!isPlainObject(a)) throw invalid(`${f} must be an object`);
    checkKeys(f, a, new Set(['chainId', 'address', 'contractAddress', 'nonce', 'yParity', 'v', 'r', 's']));
    if (given(a.address) && given(a.contractAddress))
      throw invalid(`${f} has both address and contractAddress`);
    const address = parseAddress(`${f}.address`, given(a.address) ? a.address : a.contractAddress);
    // EIP-7702: chain_id 0 means "valid on any chain" and is allowed here (the outer transaction
    // carries its own chainId); nonce is uint64.
    const chainId = parseSafeUint(`${f}.chainId`, a.chainId);
    const nonce = parseSafeUint(`${f}.nonce`, a.nonce);
    let yParity: number;
    if (given(a.yParity)) {
      yParity = parseSafeUint(`${f}.yParity`, a.yParity);
      if (
        given(a.v) &&
        parseSafeUint(`${f}.v`, a.v) - 27 !== yParity &&
        parseSafeUint(`${f}.v`, a.v) !== yParity
      )
        throw invalid(`${f}.v and yParity disagree`);
    } else if (given(a.v)) {
      const v = parseSafeUint(`${f}.v`, a.v);
      yParity = v >= 27 ? v - 27 : v;
    } else throw invalid(`${f}.yParity is required`);
    if (yParity !== 0 && yParity !== 1) throw invalid(`${f}.yParity must be 0 or 1`);
    const r = parseUint(`${f}.r`, a.r, MAX_UINT256, '2^256 - 1');
    const s = parseUint(`${f}.s`, a.s, MAX_UINT256, '2^256 - 1');
    const hex32 = (n: bigint) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
    return { address, chainId, nonce, yParity, r: hex32(r), s: hex32(s) };
  });
}

/**
 * Parse and check a JSON-RPC transaction request. Returns viem's serializable transaction with its
 * type made explicit. Any malformed, missing or inconsistent field → INVALID_REQUEST naming it.
 */
export function parseTransactionRequest(input: unknown): ParsedTransaction {
  if (!isPlainObject(input)) throw invalid('transaction must be an object');
  checkKeys('transaction', input, FIELDS);
  const r = input;
  const type = given(r.type) ? parseType(r.type) : inferType(r);

  if (!given(r.chainId))
    throw invalid(
      'transaction.chainId is required, so that the signature cannot be replayed on another chain',
    );
  const chainId = parseSafeUint('transaction.chainId', r.chainId, 1);
  if (!given(r.nonce)) throw invalid('transaction.nonce is required');
  // EIP-2681 caps nonces at 2^64 - 2; viem holds them as JS numbers, so the safe-integer cap applies first.
  const nonce = parseSafeUint('transaction.nonce', r.nonce);
  if (
    given(r.gas) &&
    given(r.gasLimit) &&
    parseUint('transaction.gas', r.gas, MAX_UINT64, '2^64 - 1') !==
      parseUint('transaction.gasLimit', r.gasLimit, MAX_UINT64, '2^64 - 1')
  )
    throw invalid('transaction.gas and transaction.gasLimit disagree');
  const gasField = given(r.gas) ? 'gas' : 'gasLimit';
  if (!given(r[gasField])) throw invalid('transaction.gas is required');
  const gas = parseUint(`transaction.${gasField}`, r[gasField], MAX_UINT64, '2^64 - 1');
  const value = given(r.value) ? parseUint('transaction.value', r.value, MAX_UINT256, '2^256 - 1') : 0n;
  const to = given(r.to) ? parseAddress('transaction.to', r.to) : undefined;
  const from = given(r.from) ? parseAddress('transaction.from', r.from) : undefined;

  let data: Hex | undefined;
  if (given(r.data)) data = parseData('transaction.data', r.data, { max: MAX_DATA_BYTES });
  if (given(r.input)) {
    const input2 = parseData('transaction.input', r.input, { max: MAX_DATA_BYTES });
    if (data !== undefined && data !== input2)
      throw invalid('transaction.data and transaction.input disagree');
    data = input2;
  }

  const has = (k: string) => given(r[k]);
  const forbid = (keys: string[], what: string) => {
    for (const k of keys)
      if (has(k)) throw invalid(`transaction.${k} is not a field of ${what} transactions`);
  };
  const typeName = {
    legacy: 'legacy',
    eip2930: 'EIP-2930',
    eip1559: 'EIP-1559',
    eip4844: 'EIP-4844',
    eip7702: 'EIP-7702',
  }[type];
  const fee = (k: string) => {
    if (!has(k)) throw invalid(`transaction.${k} is required for ${typeName} transactions`);
    return parseUint(`transaction.${k}`, r[k], MAX_UINT256, '2^256 - 1');
  };
  const base = {
    chainId,
    nonce,
    gas,
    value,
    ...(to ? { to } : {}),
    ...(data && data !== '0x' ? { data } : {}),
  };
  let tx: TransactionSerializable;
  switch (type) {
    case 'legacy':
      forbid(
        [
          'maxFeePerGas',
          'maxPriorityFeePerGas',
          'accessList',
          'maxFeePerBlobGas',
          'blobVersionedHashes',
          'authorizationList',
        ],
        'legacy',
      );
      tx = { ...base, type, gasPrice: fee('gasPrice') };
      break;
    case 'eip2930':
      forbid(
        [
          'maxFeePerGas',
          'maxPriorityFeePerGas',
          'maxFeePerBlobGas',
          'blobVersionedHashes',
          'authorizationList',
        ],
        'EIP-2930',
      );
      tx = {
        ...base,
        type,
        gasPrice: fee('gasPrice'),
        accessList: has('accessList') ? parseAccessList(r.accessList) : [],
      };
      break;
    default: {
      const what = typeName;
      forbid(['gasPrice'], what);
      if (type !== 'eip4844') forbid(['maxFeePerBlobGas', 'blobVersionedHashes'], what);
      if (type !== 'eip7702') forbid(['authorizationList'], what);
      const maxFeePerGas = fee('maxFeePerGas');
      const maxPriorityFeePerGas = fee('maxPriorityFeePerGas');
      if (maxPriorityFeePerGas > maxFeePerGas)
        throw invalid('transaction.maxPriorityFeePerGas must not be above transaction.maxFeePerGas');
      const accessList = has('accessList') ? parseAccessList(r.accessList) : [];
      const fees = { ...base, maxFeePerGas, maxPriorityFeePerGas, accessList };
      if (type === 'eip1559') {
        tx = { ...fees, type };
      } else if (type === 'eip4844') {
        if (!to)
          throw invalid(
            'transaction.to is required for EIP-4844 transactions (they cannot create contracts)',
          );
        tx = {
          ...fees,
          to,
          type,
          maxFeePerBlobGas: fee('maxFeePerBlobGas'),
          blobVersionedHashes: parseBlobHashes(r.blobVersionedHashes),
        };
      } else {
        if (!to)
          throw invalid(
            'transaction.to is required for EIP-7702 transactions (they cannot create contracts)',
          );
        tx = { ...fees, to, type, authorizationList: parseAuthorizationList(r.authorizationList) };
      }
    }
  }
  // One encoding pass now, so that anything viem refuses is refused here as a 400, not later.
  try {
    serializeTransaction(tx);
  } catch {
    throw invalid('transaction could not be encoded');
  }
  return { type, ...(from ? { from } : {}), tx };
}

/** The unsigned serialization that is hashed for signing (EIP-155 payload for legacy). */
export function unsignedTransaction(tx: TransactionSerializable): Hex {
  return serializeTransaction(tx);
}

/** keccak256 of the unsigned serialization: the 32-byte digest the enclave signs. */
export function transactionSigningHash(tx: TransactionSerializable): Uint8Array {
  return hexToBytes(keccak256(serializeTransaction(tx)));
}

/**
 * Assemble the signed raw transaction from the enclave's signature over transactionSigningHash(tx).
 * The signature is checked (low-s, recovers; to `expectedFrom` when given) before it is used.
 */
export function assembleSignedTransaction(
  tx: TransactionSerializable,
  sig: RecoverableSignature,
  expectedFrom?: string,
): SignedTransaction {
  const c = checkSignature(transactionSigningHash(tx), sig, expectedFrom);
  // viem turns v into EIP-155's chainId * 2 + 35 + recovery id for legacy, yParity for typed ones.
  const rawTransaction = serializeTransaction(tx, {
    r: c.r,
    s: c.s,
    yParity: c.recoveryId,
    v: 27n + BigInt(c.recoveryId),
  });
  return { rawTransaction, hash: keccak256(rawTransaction), from: c.signer };
}
