// A real EVM accepts what the Ethereum module assembles: raw transactions of every type, signed the
// way the enclave signs (noble, RFC 6979, low-s), are validated, executed and mined by
// @ethereumjs/vm in-process (test/helpers/evm.ts), directly and through ethers' JsonRpcProvider.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { JsonRpcProvider } from 'ethers';
import {
  assembleSignedTransaction,
  ethereumAddress,
  parseTransactionRequest,
  transactionSigningHash,
} from '../../src/chains/ethereum/index.js';
import { startEvm, type LocalEvm } from '../helpers/evm.js';
import { ecdsaSign } from './_enclave.js';

const KEY = sha256(new TextEncoder().encode('keymesh evm test key'));
const FROM = ethereumAddress(secp256k1.getPublicKey(KEY, true));
const TO = '0x000000000000000000000000000000000000dEaD';
const GWEI = 1_000_000_000n;

function sign(request: Record<string, unknown>): string {
  const { tx } = parseTransactionRequest(request);
  const digest = transactionSigningHash(tx);
  return assembleSignedTransaction(tx, ecdsaSign(digest, KEY), FROM).rawTransaction;
}

async function withEvm(fn: (evm: LocalEvm) => Promise<void>) {
  const evm = await startEvm({ chainId: 1337 });
  try {
    await fn(evm);
  } finally {
    await evm.close();
  }
}

test('EVM: legacy (EIP-155), EIP-2930, EIP-1559, EIP-4844 and EIP-7702 transactions are mined', () =>
  withEvm(async (evm) => {
    await evm.fund(FROM, 10n ** 19n);
    const base = { chainId: 1337, to: TO, value: '1000' };
    const requests = [
      { ...base, type: '0x0', nonce: 0, gas: 21000, gasPrice: (10n * GWEI).toString() },
      {
        ...base,
        type: '0x1',
        nonce: 1,
        gas: 30000,
        gasPrice: (10n * GWEI).toString(),
        accessList: [{ address: TO, storageKeys: [] }],
      },
      {
        ...base,
        type: '0x2',
        nonce: 2,
        gas: 21000,
        maxFeePerGas: (20n * GWEI).toString(),
        maxPriorityFeePerGas: GWEI.toString(),
      },
      {
        ...base,
        type: '0x3',
        nonce: 3,
        gas: 21000,
        maxFeePerGas: (20n * GWEI).toString(),
        maxPriorityFeePerGas: GWEI.toString(),
        maxFeePerBlobGas: '10',
        blobVersionedHashes: ['0x01' + '11'.repeat(31)],
      },
    ];
    for (const [i, r] of requests.entries()) {
      const hash = await evm.sendRawTransaction(sign(r));
      const receipt = await evm.getTransactionReceipt(hash);
      assert.ok(receipt, `type ${r.type}: mined`);
      assert.equal(receipt.status, '0x1', `type ${r.type}: succeeded`);
      assert.equal(receipt.from.toLowerCase(), FROM.toLowerCase());
      assert.equal(BigInt(receipt.blockNumber), BigInt(i + 1));
      assert.equal(await evm.getNonce(FROM), BigInt(i + 1));
    }
    assert.equal(await evm.getBalance(TO), 4000n);

    // EIP-7702: delegate this account to a contract address (the authorization is signed by the
    // same key, over keccak256(0x05 ‖ rlp([chainId, address, nonce])), as wallets do).
    const { keccak256, toRlp, toHex, hexToBytes } = await import('viem');
    const authNonce = 5n; // the transaction itself uses nonce 4
    const authDigest = hexToBytes(keccak256(`0x05${toRlp([toHex(1337), TO, toHex(authNonce)]).slice(2)}`));
    const a = ecdsaSign(authDigest, KEY);
    const raw7702 = sign({
      type: '0x4',
      chainId: 1337,
      nonce: 4,
      gas: 100000,
      to: FROM,
      maxFeePerGas: (20n * GWEI).toString(),
      maxPriorityFeePerGas: GWEI.toString(),
      authorizationList: [
        {
          chainId: 1337,
          address: TO,
          nonce: Number(authNonce),
          yParity: a.recoveryId,
          r: '0x' + Buffer.from(a.signature.slice(0, 32)).toString('hex'),
          s: '0x' + Buffer.from(a.signature.slice(32)).toString('hex'),
        },
      ],
    });
    const r7702 = await evm.getTransactionReceipt(await evm.sendRawTransaction(raw7702));
    assert.equal(r7702?.status, '0x1');
    // The delegation designator 0xef0100 ‖ address is now the account's code.
    assert.equal(
      await evm.request({ method: 'eth_getCode', params: [FROM] }),
      '0xef0100' + TO.slice(2).toLowerCase(),
    );
  }));

test('EVM: wrong chain, reused nonce and unfunded senders are refused', () =>
  withEvm(async (evm) => {
    await evm.fund(FROM, 10n ** 18n);
    const tx = {
      type: '0x2',
      nonce: 0,
      gas: 21000,
      to: TO,
      value: '1',
      maxFeePerGas: (20n * GWEI).toString(),
      maxPriorityFeePerGas: '1',
    };
    await assert.rejects(evm.sendRawTransaction(sign({ ...tx, chainId: 1 })), /chain|invalid/i);
    const raw = sign({ ...tx, chainId: 1337 });
    await evm.sendRawTransaction(raw);
    await assert.rejects(evm.sendRawTransaction(raw), /already known/);
    await assert.rejects(evm.sendRawTransaction(sign({ ...tx, chainId: 1337, value: '2' })), /nonce/);
    await assert.rejects(
      evm.sendRawTransaction(sign({ ...tx, chainId: 1337, nonce: 1, value: (10n ** 19n).toString() })),
      /balance|funds|upfront/i,
    );
  }));

test('EVM: ethers JsonRpcProvider over HTTP sees balances, broadcasts and waits for receipts', () =>
  withEvm(async (evm) => {
    const url = await evm.listen();
    const provider = new JsonRpcProvider(url, 1337, { staticNetwork: true });
    try {
      await evm.fund(FROM, 10n ** 18n);
      assert.equal(await provider.getBalance(FROM), 10n ** 18n);
      assert.equal(await provider.getTransactionCount(FROM), 0);
      const fee = await provider.getFeeData();
      assert.ok(fee.maxFeePerGas && fee.maxFeePerGas > 0n);
      const raw = sign({
        chainId: 1337,
        nonce: 0,
        gas: 21000,
        to: TO,
        value: '12345',
        maxFeePerGas: fee.maxFeePerGas.toString(),
        maxPriorityFeePerGas: fee.maxPriorityFeePerGas!.toString(),
      });
      const sent = await provider.broadcastTransaction(raw);
      const receipt = await sent.wait();
      assert.equal(receipt?.status, 1);
      assert.equal(receipt?.from, FROM);
      assert.equal(await provider.getBalance(TO), 12345n);
      const fetched = await provider.getTransaction(sent.hash);
      assert.equal(fetched?.nonce, 0);
      // (ethers caches identical requests for 250 ms, so ask for block 1 by number, not 'latest')
      assert.equal(receipt?.blockNumber, 1);
      assert.equal((await provider.getBlock(1))?.transactions[0], sent.hash);
    } finally {
      provider.destroy();
    }
  }));
