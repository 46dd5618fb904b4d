// End to end, against real node processes: wallet clients use /rpc as their signer with nothing
// but their plain HTTP transport (issue 7, point 19). viem's createWalletClient + http() and
// ethers' JsonRpcProvider (network detected by eth_chainId, no staticNetwork) + getSigner sign a
// complete transaction; each signed transaction is judged by ethers (the sender it recovers is the
// key's address, the chain id is the one asked for). The chain the signer reports comes from the
// URL (?chainId=N), else the node's --chain-id, else 1; chain-state and broadcasting methods are
// refused with a reason (4200), and a bad chainId in the URL is 400.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FetchRequest, JsonRpcProvider, keccak256, Transaction, Wallet } from 'ethers';
import { createWalletClient, http, type Hex } from 'viem';
import { mainnet, polygon, sepolia } from 'viem/chains';
import { runCli, startNode, tempDir, type TestNode } from '../helpers/node.js';
import { METHODS } from '../../src/api/rpc/methods.js';
import { REFUSED } from '../../src/api/rpc/chain.js';

interface RpcRes {
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code: string; status: number } };
}

const wallet = new Wallet(keccak256(Buffer.from('keymesh e2e rpc wallets key')));
const TO = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

let node: TestNode; // started with --chain-id 137
let token: string;

before(async () => {
  node = await startNode({ args: ['--chain-id', '137'] });
  const k = await node.api<{ id: string }>('POST', '/v1/keys/import', {
    name: 'wallets',
    algorithm: 'secp256k1',
    privateKey: wallet.privateKey,
  });
  assert.equal(k.status, 201);
  const t = await node.api<{ token: string }>('POST', '/v1/tokens', {
    name: 'wallets',
    scopes: ['keys:sign'],
    keyIds: [k.body.id],
  });
  token = t.body.token;
});
after(async () => {
  await node?.stop();
});

async function rpc(method: string, params: unknown[] = [], query = '') {
  const r = await node.api<RpcRes>('POST', `/rpc${query}`, { jsonrpc: '2.0', id: 1, method, params }, token);
  return r;
}

/** Records the JSON-RPC methods a client sends (single calls and batches). */
function recorder() {
  const methods: string[] = [];
  const note = (body: unknown) => {
    const text = typeof body === 'string' ? body : Buffer.from(body as Uint8Array).toString('utf8');
    const msg = JSON.parse(text) as { method: string } | { method: string }[];
    for (const m of Array.isArray(msg) ? msg : [msg]) methods.push(m.method);
  };
  return { methods, note };
}

describe('the chain the signer reports', () => {
  test('eth_chainId and net_version: the URL chain, else --chain-id', async () => {
    const c = await rpc('eth_chainId');
    assert.equal(c.status, 200);
    assert.equal(c.body.result, '0x89');
    assert.equal((await rpc('net_version')).body.result, '137');
    assert.equal((await rpc('eth_chainId', [], '?chainId=11155111')).body.result, '0xaa36a7');
    assert.equal((await rpc('net_version', [], '?chainId=11155111')).body.result, '11155111');
    const max = String(Number.MAX_SAFE_INTEGER);
    assert.equal((await rpc('net_version', [], `?chainId=${max}`)).body.result, max);
    assert.equal((await rpc('eth_chainId', ['extra'])).body.error?.code, -32602);
  });

  test('a chainId in the URL that is not a positive safe integer: 400, -32602, not echoed', async () => {
    for (const q of [
      '?chainId=0',
      '?chainId=-1',
      '?chainId=1.5',
      '?chainId=0x5',
      '?chainId=abc',
      '?chainId=',
      '?chainId=01',
      '?chainId=9007199254740992',
      '?chainId=1&chainId=2',
      '?chainid=5',
      '?other=1',
    ]) {
      const r = await rpc('eth_chainId', [], q);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error?.code, -32602, q);
      assert.equal(r.body.error?.data?.code, 'INVALID_REQUEST');
      assert.ok(!r.body.error!.message.includes('abc') && !r.body.error!.message.includes('other'));
    }
  });

  test('the default chain is 1; --chain-id is refused at start unless a positive safe integer', async () => {
    const plain = await startNode();
    try {
      const r = await plain.api<RpcRes>('POST', '/rpc', { jsonrpc: '2.0', id: 1, method: 'eth_chainId' });
      assert.equal(r.body.result, '0x1');
    } finally {
      await plain.stop();
    }
    for (const bad of ['0', '-3', 'x', '1e3', '9007199254740992']) {
      const r = await runCli(
        ['start', '--dev', '--data-dir', tempDir(), '--http', '127.0.0.1:0', `--chain-id=${bad}`],
        { timeoutMs: 20_000 },
      );
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /--chain-id must be a whole number/);
    }
  });
});

describe('what a signer cannot do', () => {
  test('chain-state methods: 4200, Keymesh is a signer and has no chain state', async () => {
    for (const m of ['eth_getTransactionCount', 'eth_estimateGas', 'eth_gasPrice', 'eth_blockNumber']) {
      assert.ok(REFUSED.has(m));
      const r = await rpc(m, [wallet.address, 'latest']);
      assert.equal(r.status, 200);
      assert.equal(r.body.error?.code, 4200, m);
      assert.equal(r.body.error?.data?.code, 'UNSUPPORTED');
      assert.match(r.body.error!.message, /signer and has no chain state/);
    }
  });

  test('eth_sendTransaction and eth_sendRawTransaction: 4200, Keymesh signs and the caller broadcasts', async () => {
    for (const m of ['eth_sendTransaction', 'eth_sendRawTransaction']) {
      const r = await rpc(m, [{ from: wallet.address, to: TO }]);
      assert.equal(r.body.error?.code, 4200, m);
      assert.match(r.body.error!.message, /Keymesh signs and the caller broadcasts/);
      assert.match(r.body.error!.message, /eth_signTransaction/);
    }
  });

  test('no method is both answered and refused', () => {
    for (const m of REFUSED.keys()) assert.ok(!METHODS.has(m), m);
  });
});

describe('wallet clients with their plain HTTP transport', () => {
  const tx = {
    to: TO,
    nonce: 7,
    gas: 21000n,
    maxFeePerGas: 30_000_000_000n,
    maxPriorityFeePerGas: 1_000_000_000n,
    value: 12345n,
  } as const;

  for (const [chain, query] of [
    [polygon, ''],
    [sepolia, '?chainId=11155111'],
    [mainnet, '?chainId=1'],
  ] as const) {
    test(`viem: createWalletClient + http() signs for ${chain.name} (${query || '--chain-id'})`, async () => {
      const seen = recorder();
      const client = createWalletClient({
        chain,
        transport: http(`${node.url}/rpc${query}`, {
          fetchOptions: { headers: { authorization: `Bearer ${token}` } },
          fetchFn: (input, init) => {
            seen.note(init?.body);
            return fetch(input, init);
          },
          retryCount: 0,
        }),
      });
      const raw = await client.signTransaction({ account: wallet.address as Hex, ...tx });
      const signed = Transaction.from(raw);
      assert.equal(signed.from, wallet.address);
      assert.equal(signed.chainId, BigInt(chain.id));
      assert.equal(signed.nonce, 7);
      assert.equal(signed.to, TO);
      assert.equal(
        raw,
        await wallet.signTransaction({
          type: 2,
          chainId: chain.id,
          nonce: 7,
          gasLimit: 21000,
          maxFeePerGas: tx.maxFeePerGas,
          maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
          to: TO,
          value: tx.value,
        }),
      );
      // Everything viem asked of the signer is answered by it.
      for (const m of seen.methods) assert.ok(METHODS.has(m), `viem sent ${m}`);
      assert.ok(seen.methods.includes('eth_chainId'));
    });
  }

  test('viem: a client for another chain than the signer reports refuses to sign (chain mismatch)', async () => {
    const client = createWalletClient({
      chain: mainnet,
      transport: http(`${node.url}/rpc`, {
        fetchOptions: { headers: { authorization: `Bearer ${token}` } },
        retryCount: 0,
      }),
    });
    await assert.rejects(client.signTransaction({ account: wallet.address as Hex, ...tx }), /chain/i);
  });

  for (const query of ['', '?chainId=11155111']) {
    test(`ethers: JsonRpcProvider detects the network and getSigner signs (${query || '--chain-id'})`, async () => {
      const seen = recorder();
      const req = new FetchRequest(`${node.url}/rpc${query}`);
      req.setHeader('authorization', `Bearer ${token}`);
      req.preflightFunc = async (r) => {
        if (r.body) seen.note(r.body);
        return r;
      };
      const want = query ? 11155111n : 137n;
      // No network given and no staticNetwork: ethers asks eth_chainId.
      const provider = new JsonRpcProvider(req);
      try {
        assert.equal((await provider.getNetwork()).chainId, want);
        const signer = await provider.getSigner(wallet.address);
        const raw = await signer.signTransaction({
          type: 2,
          chainId: want,
          nonce: 7,
          gasLimit: 21000n,
          maxFeePerGas: tx.maxFeePerGas,
          maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
          to: TO,
          value: tx.value,
        });
        const signed = Transaction.from(raw);
        assert.equal(signed.from, wallet.address);
        assert.equal(signed.chainId, want);
        assert.equal(signed.nonce, 7);
      } finally {
        provider.destroy();
      }
      for (const m of seen.methods) assert.ok(METHODS.has(m), `ethers sent ${m}`);
      assert.ok(seen.methods.includes('eth_chainId') && seen.methods.includes('eth_accounts'));
    });
  }
});
