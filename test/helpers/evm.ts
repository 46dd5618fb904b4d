// An in-process Ethereum chain for tests, offline: @ethereumjs/vm (the EVM of the EthereumJS
// client) executes transactions, and this file adds the bit of a node around it that tests need:
// a chain of blocks (one block mined per accepted transaction, "automine"), balances that can be
// funded, receipts, and a JSON-RPC 2.0 endpoint (EIP-1193 `request`, and over HTTP so that ethers'
// JsonRpcProvider, viem or curl can talk to it).
//
//   const evm = await startEvm({ chainId: 1337 });
//   await evm.fund(address, 10n ** 18n);
//   const hash = await evm.sendRawTransaction(raw);   // validated, executed and mined
//   const receipt = await evm.getTransactionReceipt(hash);
//   const url = await evm.listen();                   // http://127.0.0.1:PORT
//   await evm.close();
//
// Transactions are checked as a node would: signature, chain id (EIP-155 or typed), nonce, balance,
// gas limit, fee cap against the base fee. Rejected ones answer JSON-RPC error -32000 with the
// reason. Hardfork Prague, so legacy, EIP-2930, EIP-1559, EIP-4844 (without sidecars, as a block
// carries them) and EIP-7702 transactions are all accepted. Only what tests use is implemented.
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { buildBlock, createVM, type VM } from '@ethereumjs/vm';
import { createBlock, type Block } from '@ethereumjs/block';
import { Capability, createTxFromRLP, type TypedTransaction } from '@ethereumjs/tx';
import { createCustomCommon, Hardfork, Mainnet, type Common } from '@ethereumjs/common';
import { Account, createAddressFromString, type Address, type KZG } from '@ethereumjs/util';

type Hex = `0x${string}`;

export interface EvmOptions {
  chainId?: number;
  /** Base fee of the genesis block, in wei (default 1 gwei). */
  baseFeePerGas?: bigint;
  /** Block gas limit (default 30M). */
  gasLimit?: bigint;
}

export interface RpcReceipt {
  transactionHash: Hex;
  transactionIndex: Hex;
  blockHash: Hex;
  blockNumber: Hex;
  from: Hex;
  to: Hex | null;
  cumulativeGasUsed: Hex;
  gasUsed: Hex;
  effectiveGasPrice: Hex;
  contractAddress: Hex | null;
  logs: {
    address: Hex;
    topics: Hex[];
    data: Hex;
    logIndex: Hex;
    blockHash: Hex;
    blockNumber: Hex;
    transactionHash: Hex;
    transactionIndex: Hex;
    removed: false;
  }[];
  logsBloom: Hex;
  status: Hex;
  type: Hex;
}

export interface LocalEvm {
  readonly chainId: number;
  /** EIP-1193 request. Errors are thrown as { code, message } (JSON-RPC error objects). */
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  /** Set an account's balance (wei). */
  fund(address: string, wei: bigint): Promise<void>;
  getBalance(address: string): Promise<bigint>;
  getNonce(address: string): Promise<bigint>;
  /** Validate, execute and mine a signed raw transaction; returns its hash. */
  sendRawTransaction(raw: string): Promise<Hex>;
  getTransactionReceipt(hash: string): Promise<RpcReceipt | null>;
  /** Mine an empty block. */
  mine(): Promise<void>;
  blockNumber(): bigint;
  /** Serve JSON-RPC over HTTP on 127.0.0.1 (random port); returns the URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const hx = (n: bigint | number): Hex => `0x${n.toString(16)}`;
const bhex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString('hex')}`;
const fromHex = (s: string): Uint8Array => {
  if (!/^0x([0-9a-fA-F]{2})*$/.test(s)) throw new RpcError(-32602, 'invalid hex data');
  return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
};
const addr = (s: unknown): Address => {
  if (typeof s !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(s)) throw new RpcError(-32602, 'invalid address');
  return createAddressFromString(s.toLowerCase());
};

interface MinedTx {
  tx: TypedTransaction;
  block: Block;
  index: number;
  receipt: RpcReceipt;
}

class Chain implements LocalEvm {
  private readonly blocks: Block[] = [];
  private readonly txs = new Map<string, MinedTx>();
  private server?: Server;
  // Transactions are executed one at a time, in arrival order.
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly chainId: number,
    private readonly common: Common,
    private readonly vm: VM,
    genesis: Block,
  ) {
    this.blocks.push(genesis);
  }

  private get head(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  blockNumber(): bigint {
    return this.head.header.number;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async fund(address: string, wei: bigint): Promise<void> {
    await this.serial(async () => {
      const a = addr(address);
      const acct = (await this.vm.stateManager.getAccount(a)) ?? new Account();
      acct.balance = wei;
      await this.vm.stateManager.putAccount(a, acct);
    });
  }

  async getBalance(address: string): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(addr(address)))?.balance ?? 0n;
  }

  async getNonce(address: string): Promise<bigint> {
    return (await this.vm.stateManager.getAccount(addr(address)))?.nonce ?? 0n;
  }

  private nextHeader() {
    const parent = this.head.header;
    return { number: parent.number + 1n, timestamp: parent.timestamp + 12n, gasLimit: parent.gasLimit };
  }

  async mine(): Promise<void> {
    await this.serial(async () => {
      const builder = await buildBlock(this.vm, {
        parentBlock: this.head,
        headerData: this.nextHeader(),
        blockOpts: { putBlockIntoBlockchain: false, common: this.common },
      });
      const { block } = await builder.build();
      this.blocks.push(block);
    });
  }

  async sendRawTransaction(raw: string): Promise<Hex> {
    let tx: TypedTransaction;
    try {
      tx = createTxFromRLP(fromHex(raw), { common: this.common });
    } catch (e) {
      throw new RpcError(-32000, `invalid transaction: ${(e as Error).message}`);
    }
    if (!tx.isSigned() || !tx.verifySignature()) throw new RpcError(-32000, 'invalid transaction signature');
    const errors = tx.getValidationErrors();
    if (errors.length) throw new RpcError(-32000, `invalid transaction: ${errors.join('; ')}`);
    const hash = bhex(tx.hash());
    if (this.txs.has(hash)) throw new RpcError(-32000, 'already known');
    return this.serial(async () => {
      const from = tx.getSenderAddress();
      const acct = (await this.vm.stateManager.getAccount(from)) ?? new Account();
      if (tx.nonce !== acct.nonce)
        throw new RpcError(-32000, `nonce ${tx.nonce} is not the account's next nonce ${acct.nonce}`);
      const builder = await buildBlock(this.vm, {
        parentBlock: this.head,
        headerData: this.nextHeader(),
        blockOpts: { putBlockIntoBlockchain: false, common: this.common },
      });
      let result;
      try {
        result = await builder.addTransaction(tx, { allowNoBlobs: true });
      } catch (e) {
        await builder.revert();
        throw new RpcError(-32000, (e as Error).message);
      }
      const { block } = await builder.build();
      this.blocks.push(block);
      const blockHash = bhex(block.hash());
      const blockNumber = hx(block.header.number);
      const receipt = result.receipt as {
        cumulativeBlockGasUsed: bigint;
        bitvector: Uint8Array;
        logs: [Uint8Array, Uint8Array[], Uint8Array][];
        status?: number;
      };
      const gasUsed = result.totalGasSpent;
      this.txs.set(hash, {
        tx,
        block,
        index: 0,
        receipt: {
          transactionHash: hash,
          transactionIndex: '0x0',
          blockHash,
          blockNumber,
          from: from.toString() as Hex,
          to: tx.to ? (tx.to.toString() as Hex) : null,
          cumulativeGasUsed: hx(receipt.cumulativeBlockGasUsed),
          gasUsed: hx(gasUsed),
          effectiveGasPrice: hx(gasUsed === 0n ? 0n : result.amountSpent / gasUsed),
          contractAddress: result.createdAddress ? (result.createdAddress.toString() as Hex) : null,
          logs: receipt.logs.map(([address, topics, data], i) => ({
            address: bhex(address),
            topics: topics.map(bhex),
            data: bhex(data),
            logIndex: hx(i),
            blockHash,
            blockNumber,
            transactionHash: hash,
            transactionIndex: '0x0',
            removed: false as const,
          })),
          logsBloom: bhex(receipt.bitvector),
          status: receipt.status === 0 ? '0x0' : '0x1',
          type: hx(tx.type),
        },
      });
      return hash;
    });
  }

  async getTransactionReceipt(hash: string): Promise<RpcReceipt | null> {
    return this.txs.get(hash.toLowerCase())?.receipt ?? null;
  }

  private blockAt(tag: unknown): Block | null {
    if (tag === undefined || tag === 'latest' || tag === 'pending' || tag === 'safe' || tag === 'finalized')
      return this.head;
    if (tag === 'earliest') return this.blocks[0]!;
    if (typeof tag === 'string' && /^0x[0-9a-fA-F]+$/.test(tag))
      return this.blocks[Number(BigInt(tag))] ?? null;
    throw new RpcError(-32602, 'invalid block tag');
  }

  private txJson(m: MinedTx): Record<string, unknown> {
    const t = m.tx;
    const j = t.toJSON() as Record<string, unknown>;
    const out: Record<string, unknown> = {
      hash: bhex(t.hash()),
      blockHash: bhex(m.block.hash()),
      blockNumber: hx(m.block.header.number),
      transactionIndex: hx(m.index),
      from: t.getSenderAddress().toString(),
      to: t.to ? t.to.toString() : null,
      nonce: j.nonce,
      gas: j.gasLimit,
      value: j.value,
      input: j.data,
      type: hx(t.type),
      chainId: hx(this.chainId),
      v: j.v,
      r: j.r,
      s: j.s,
    };
    for (const k of [
      'gasPrice',
      'maxFeePerGas',
      'maxPriorityFeePerGas',
      'accessList',
      'maxFeePerBlobGas',
      'blobVersionedHashes',
      'authorizationList',
    ])
      if (j[k] !== undefined) out[k] = j[k];
    if (t.supports(Capability.EIP1559FeeMarket)) {
      out.yParity = j.v;
      out.gasPrice = m.receipt.effectiveGasPrice;
    }
    return out;
  }

  private blockJson(b: Block, full: boolean): Record<string, unknown> {
    const h = b.header;
    const txs = [...this.txs.values()].filter((m) => m.block === b);
    return {
      number: hx(h.number),
      hash: bhex(b.hash()),
      parentHash: bhex(h.parentHash),
      nonce: bhex(h.nonce),
      sha3Uncles: bhex(h.uncleHash),
      logsBloom: bhex(h.logsBloom),
      transactionsRoot: bhex(h.transactionsTrie),
      stateRoot: bhex(h.stateRoot),
      receiptsRoot: bhex(h.receiptTrie),
      miner: h.coinbase.toString(),
      difficulty: hx(h.difficulty),
      totalDifficulty: '0x0',
      extraData: bhex(h.extraData),
      size: hx(b.serialize().length),
      gasLimit: hx(h.gasLimit),
      gasUsed: hx(h.gasUsed),
      timestamp: hx(h.timestamp),
      mixHash: bhex(h.mixHash),
      baseFeePerGas: h.baseFeePerGas !== undefined ? hx(h.baseFeePerGas) : undefined,
      blobGasUsed: h.blobGasUsed !== undefined ? hx(h.blobGasUsed) : undefined,
      excessBlobGas: h.excessBlobGas !== undefined ? hx(h.excessBlobGas) : undefined,
      parentBeaconBlockRoot: h.parentBeaconBlockRoot ? bhex(h.parentBeaconBlockRoot) : undefined,
      withdrawalsRoot: h.withdrawalsRoot ? bhex(h.withdrawalsRoot) : undefined,
      withdrawals: [],
      uncles: [],
      transactions: txs.map((m) => (full ? this.txJson(m) : bhex(m.tx.hash()))),
    };
  }

  async request({ method, params = [] }: { method: string; params?: unknown[] }): Promise<unknown> {
    const p = params;
    switch (method) {
      case 'eth_chainId':
        return hx(this.chainId);
      case 'net_version':
        return String(this.chainId);
      case 'web3_clientVersion':
        return 'keymesh-test-evm/ethereumjs-vm-10';
      case 'eth_accounts':
        return [];
      case 'eth_blockNumber':
        return hx(this.blockNumber());
      case 'eth_getBalance':
        return hx(await this.getBalance(p[0] as string));
      case 'eth_getTransactionCount':
        return hx(await this.getNonce(p[0] as string));
      case 'eth_getCode':
        return bhex(await this.vm.stateManager.getCode(addr(p[0])));
      case 'eth_gasPrice':
        return hx((this.head.header.baseFeePerGas ?? 0n) + 1_000_000_000n);
      case 'eth_maxPriorityFeePerGas':
        return hx(1_000_000_000n);
      case 'eth_blobBaseFee':
        return hx(1n);
      case 'eth_estimateGas': {
        const tx = (p[0] ?? {}) as { data?: string; input?: string; to?: string };
        const data = tx.data ?? tx.input ?? '0x';
        return hx(data === '0x' && tx.to ? 21_000n : 3_000_000n);
      }
      case 'eth_getBlockByNumber': {
        const b = this.blockAt(p[0]);
        return b ? this.blockJson(b, p[1] === true) : null;
      }
      case 'eth_getBlockByHash': {
        const b = this.blocks.find((x) => bhex(x.hash()) === String(p[0]).toLowerCase());
        return b ? this.blockJson(b, p[1] === true) : null;
      }
      case 'eth_sendRawTransaction':
        return this.sendRawTransaction(String(p[0]));
      case 'eth_getTransactionReceipt':
        return this.getTransactionReceipt(String(p[0]));
      case 'eth_getTransactionByHash': {
        const m = this.txs.get(String(p[0]).toLowerCase());
        return m ? this.txJson(m) : null;
      }
      case 'eth_call': {
        const c = (p[0] ?? {}) as {
          from?: string;
          to?: string;
          data?: string;
          input?: string;
          value?: string;
          gas?: string;
        };
        await this.vm.stateManager.checkpoint();
        try {
          const r = await this.vm.evm.runCall({
            ...(c.from ? { caller: addr(c.from) } : {}),
            ...(c.to ? { to: addr(c.to) } : {}),
            data: fromHex(c.data ?? c.input ?? '0x'),
            value: c.value ? BigInt(c.value) : 0n,
            gasLimit: c.gas ? BigInt(c.gas) : 30_000_000n,
          });
          if (r.execResult.exceptionError)
            throw new RpcError(3, `execution reverted: ${r.execResult.exceptionError.error}`);
          return bhex(r.execResult.returnValue);
        } finally {
          await this.vm.stateManager.revert();
        }
      }
      case 'evm_mine':
        await this.mine();
        return '0x0';
      case 'evm_setBalance':
        await this.fund(String(p[0]), BigInt(String(p[1])));
        return true;
      default:
        throw new RpcError(-32601, `method ${method} is not supported by the test EVM`);
    }
  }

  private async handle(body: unknown): Promise<unknown> {
    const one = async (msg: unknown) => {
      const m = msg as { id?: unknown; method?: unknown; params?: unknown };
      const id = m?.id ?? null;
      if (!m || typeof m.method !== 'string')
        return { jsonrpc: '2.0', id, error: { code: -32600, message: 'invalid request' } };
      try {
        const result = await this.request({
          method: m.method,
          params: Array.isArray(m.params) ? m.params : [],
        });
        return { jsonrpc: '2.0', id, result };
      } catch (e) {
        const code = e instanceof RpcError ? e.code : -32603;
        return { jsonrpc: '2.0', id, error: { code, message: (e as Error).message } };
      }
    };
    return Array.isArray(body) ? Promise.all(body.map(one)) : one(body);
  }

  async listen(): Promise<string> {
    if (!this.server) {
      this.server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } }),
            );
            return;
          }
          void this.handle(body).then((out) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(out));
          });
        });
      });
      this.server.listen(0, '127.0.0.1');
      await once(this.server, 'listening');
    }
    const a = this.server.address();
    if (!a || typeof a === 'string') throw new Error('no address');
    return `http://127.0.0.1:${a.port}`;
  }

  async close(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      this.server = undefined;
    }
  }
}

// EthereumJS wants a KZG implementation before it will decode any EIP-4844 transaction. Blocks carry
// blob transactions without their blobs, and this chain never sees blobs (no network wrapper is
// accepted), so no KZG operation ever runs: each one refuses loudly if it is reached.
const noKzg = (): never => {
  throw new Error('the test EVM does not verify blobs (no KZG setup)');
};
const KZG_STUB: KZG = {
  blobToKzgCommitment: noKzg,
  computeBlobProof: noKzg,
  verifyProof: noKzg,
  verifyBlobProofBatch: noKzg,
  computeCells: noKzg,
  computeCellsAndProofs: noKzg,
  recoverCellsAndProofs: noKzg,
  verifyCellKzgProofBatch: noKzg,
};

/** Start a fresh chain (genesis block only, no accounts funded). */
export async function startEvm(opts: EvmOptions = {}): Promise<LocalEvm> {
  const chainId = opts.chainId ?? 1337;
  const common = createCustomCommon({ chainId }, Mainnet, {
    hardfork: Hardfork.Prague,
    customCrypto: { kzg: KZG_STUB },
  });
  const vm = await createVM({ common });
  const genesis = createBlock(
    {
      header: {
        gasLimit: opts.gasLimit ?? 30_000_000n,
        baseFeePerGas: opts.baseFeePerGas ?? 1_000_000_000n,
        timestamp: 1_700_000_000n,
      },
    },
    { common },
  );
  return new Chain(chainId, common, vm, genesis);
}
