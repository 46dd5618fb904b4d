// End to end, against a real node process: POST /rpc, the JSON-RPC 2.0 remote signer. Every
// method is called as a wallet or geth's external-signer client calls it, and its answer judged
// by ethers v6 (byte-equal to a Wallet holding the same key); the envelope (parse errors, invalid
// requests, unknown methods, invalid params, batches, notifications, id echoing) follows the
// JSON-RPC 2.0 specification; Keymesh refusals arrive as JSON-RPC errors with their Keymesh code.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HDNodeWallet, keccak256, Transaction, TypedDataEncoder, Wallet } from 'ethers';
import { createWalletClient, http, type Hex } from 'viem';
import { mainnet } from 'viem/chains';
import { startNode, type TestNode } from '../helpers/node.js';
import { MAIL, MAIL_TYPES } from '../fixtures/eip712-mail.js';
import { METHODS } from '../../src/api/rpc/methods.js';
import { REFUSED } from '../../src/api/rpc/chain.js';

interface RpcErr {
  code: number;
  message: string;
  data?: { code: string; status: number };
}
interface RpcRes {
  jsonrpc: '2.0';
  id: string | number | null;
  result?: unknown;
  error?: RpcErr;
}

const PRIVATE_KEY = keccak256(Buffer.from('keymesh e2e rpc key'));
const wallet = new Wallet(PRIVATE_KEY);
const TO = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

let node: TestNode;
let keyId: string;
let signerToken: string;
let otherAddress: string;
let deactivatedAddress: string;

async function rpcRaw(body: unknown, tok: string | null = signerToken) {
  return node.api<RpcRes | RpcRes[] | undefined>('POST', '/rpc', body, tok);
}
async function rpc(method: string, params?: unknown[], tok: string | null = signerToken): Promise<RpcRes> {
  const r = await rpcRaw({ jsonrpc: '2.0', id: 1, method, ...(params ? { params } : {}) }, tok);
  return r.body as RpcRes;
}
async function result(method: string, params?: unknown[]): Promise<unknown> {
  const r = await rpc(method, params);
  assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
  return r.result;
}
function assertRpcError(r: RpcRes, code: number, keymeshCode?: string) {
  assert.ok(r.error, JSON.stringify(r));
  assert.equal(r.error.code, code, JSON.stringify(r.error));
  assert.equal(typeof r.error.message, 'string');
  assert.equal(r.result, undefined);
  if (keymeshCode) assert.equal(r.error.data?.code, keymeshCode);
}

const importKey = async (name: string, privateKey: string) => {
  const r = await node.api<{ id: string; addresses: { ethereum: string } }>('POST', '/v1/keys/import', {
    name,
    algorithm: 'secp256k1',
    privateKey,
  });
  assert.equal(r.status, 201);
  return { id: r.body.id, address: r.body.addresses.ethereum };
};
const mkToken = async (scopes: string[], keyIds?: string[]) => {
  const r = await node.api<{ token: string }>('POST', '/v1/tokens', {
    name: `rpc-${randomBytes(4).toString('hex')}`,
    scopes,
    ...(keyIds ? { keyIds } : {}),
  });
  assert.equal(r.status, 201);
  return r.body.token;
};

const TX = {
  from: wallet.address,
  to: TO,
  chainId: '0x1',
  nonce: '0x3',
  gas: '0x5208',
  maxFeePerGas: '0x77359400',
  maxPriorityFeePerGas: '0x3b9aca00',
  value: '0xde0b6b3a7640000',
};
const TX_ETHERS = {
  type: 2,
  chainId: 1,
  nonce: 3,
  gasLimit: 21000,
  maxFeePerGas: 2_000_000_000n,
  maxPriorityFeePerGas: 1_000_000_000n,
  to: TO,
  value: 10n ** 18n,
};

before(async () => {
  node = await startNode();
  const k = await importKey('rpc-main', PRIVATE_KEY);
  keyId = k.id;
  const other = await importKey('rpc-other', keccak256(Buffer.from('rpc other')));
  otherAddress = other.address;
  const deact = await importKey('rpc-deactivated', keccak256(Buffer.from('rpc deactivated')));
  deactivatedAddress = deact.address;
  await node.api('POST', `/v1/keys/${deact.id}/state`, { state: 'deactivated' });
  await node.api('POST', '/v1/keys', { name: 'rpc-ed', algorithm: 'ed25519' });
  signerToken = await mkToken(['keys:sign'], [keyId, deact.id]);
});
after(async () => {
  await node.stop();
});

describe('methods', () => {
  test('eth_accounts and account_list: the active secp256k1 keys this token may use', async () => {
    assert.deepEqual(await result('eth_accounts'), [wallet.address]);
    assert.deepEqual(await result('account_list', []), [wallet.address]);
    // The admin token may use every key: every active secp256k1 key, no Ed25519 or deactivated one.
    const all = (await rpc('eth_accounts', [], node.adminToken)).result as string[];
    assert.deepEqual(new Set(all), new Set([wallet.address, otherAddress]));
    assert.ok(!all.includes(deactivatedAddress));
  });

  test('account_version: the clef external API version', async () => {
    assert.equal(await result('account_version', []), '6.1.0');
  });

  test('eth_signTransaction: the raw transaction, byte-equal to ethers', async () => {
    const raw = await result('eth_signTransaction', [TX]);
    assert.equal(raw, await wallet.signTransaction(TX_ETHERS));
    // from in any case, and ethers' own request shape (lowercase hex, type given)
    const raw2 = await result('eth_signTransaction', [
      { ...TX, from: wallet.address.toLowerCase(), type: '0x2' },
    ]);
    assert.equal(raw2, raw);
  });

  test('account_signTransaction: {raw, tx} as geth --signer reads it', async () => {
    const r = (await result('account_signTransaction', [TX])) as { raw: string; tx: Record<string, unknown> };
    const expected = await wallet.signTransaction(TX_ETHERS);
    assert.equal(r.raw, expected);
    const t = Transaction.from(expected);
    assert.deepEqual(r.tx, {
      type: '0x2',
      chainId: '0x1',
      nonce: '0x3',
      to: TO.toLowerCase(),
      gas: '0x5208',
      gasPrice: null,
      maxPriorityFeePerGas: '0x3b9aca00',
      maxFeePerGas: '0x77359400',
      value: '0xde0b6b3a7640000',
      input: '0x',
      accessList: [],
      v: '0x' + t.signature!.yParity.toString(16),
      r: '0x' + BigInt(t.signature!.r).toString(16),
      s: '0x' + BigInt(t.signature!.s).toString(16),
      yParity: '0x' + t.signature!.yParity.toString(16),
      hash: t.hash,
    });
    // A legacy transaction: v is EIP-155's, no yParity; the optional method selector is accepted.
    const legacy = {
      from: wallet.address,
      to: TO,
      chainId: 1,
      nonce: 0,
      gas: 21000,
      gasPrice: '1',
      value: '0',
    };
    const l = (await result('account_signTransaction', [legacy, 'transfer(address,uint256)'])) as {
      raw: string;
      tx: Record<string, unknown>;
    };
    assert.equal(
      l.raw,
      await wallet.signTransaction({
        type: 0,
        chainId: 1,
        nonce: 0,
        gasLimit: 21000,
        gasPrice: 1n,
        to: TO,
        value: 0n,
      }),
    );
    assert.ok(l.tx.v === '0x25' || l.tx.v === '0x26');
    assert.equal(l.tx.yParity, undefined);
  });

  test('eth_sign and personal_sign: EIP-191, byte-equal to ethers signMessage', async () => {
    const hello = '0x' + Buffer.from('hello keymesh').toString('hex');
    const expected = await wallet.signMessage('hello keymesh');
    assert.equal(await result('eth_sign', [wallet.address, hello]), expected);
    assert.equal(await result('personal_sign', [hello, wallet.address]), expected);
    assert.equal(await result('personal_sign', [hello, wallet.address.toLowerCase(), '']), expected);
    assert.equal(
      await result('personal_sign', ['plain text', wallet.address]),
      await wallet.signMessage('plain text'),
    );
  });

  test('eth_signTypedData_v4 and account_signTypedData: EIP-712, byte-equal to ethers', async () => {
    const expected = await wallet.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message);
    assert.equal(await result('eth_signTypedData_v4', [wallet.address, MAIL]), expected);
    assert.equal(await result('eth_signTypedData_v4', [wallet.address, JSON.stringify(MAIL)]), expected);
    // ethers' JsonRpcSigner sends TypedDataEncoder.getPayload as JSON text.
    const payload = JSON.stringify(TypedDataEncoder.getPayload(MAIL.domain, MAIL_TYPES, MAIL.message));
    assert.equal(await result('eth_signTypedData_v4', [wallet.address.toLowerCase(), payload]), expected);
    assert.equal(await result('account_signTypedData', [wallet.address, MAIL]), expected);
  });

  test('account_signData: text/plain (EIP-191) and data/typed (EIP-712); other types refused', async () => {
    const hex = '0x' + Buffer.from('clef says hi').toString('hex');
    assert.equal(
      await result('account_signData', ['text/plain', wallet.address, hex]),
      await wallet.signMessage('clef says hi'),
    );
    assert.equal(
      await result('account_signData', ['text/plain; charset=utf-8', wallet.address, hex]),
      await wallet.signMessage('clef says hi'),
    );
    const expected = await wallet.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message);
    assert.equal(await result('account_signData', ['data/typed', wallet.address, MAIL]), expected);
    const hexJson = '0x' + Buffer.from(JSON.stringify(MAIL)).toString('hex');
    assert.equal(await result('account_signData', ['data/typed', wallet.address, hexJson]), expected);
    assertRpcError(
      await rpc('account_signData', ['application/x-clique-header', wallet.address, '0x']),
      -32602,
      'UNSUPPORTED',
    );
    assertRpcError(await rpc('account_signData', [7, wallet.address, '0x']), -32602);
  });

  test('viem: a wallet client with a JSON-RPC account signs through /rpc, byte-equal to ethers', async () => {
    // viem's plain http() transport: it asks the signer for eth_chainId, then eth_signTransaction.
    const client = createWalletClient({
      chain: mainnet,
      transport: http(`${node.url}/rpc`, {
        fetchOptions: { headers: { authorization: `Bearer ${signerToken}` } },
        retryCount: 0,
      }),
    });
    assert.deepEqual(await client.getAddresses(), [wallet.address]);
    const account = wallet.address as Hex;
    assert.equal(
      await client.signMessage({ account, message: 'viem says hi' }),
      await wallet.signMessage('viem says hi'),
    );
    assert.equal(
      await client.signTypedData({
        account,
        domain: { ...MAIL.domain, verifyingContract: MAIL.domain.verifyingContract as Hex },
        types: MAIL_TYPES,
        primaryType: 'Mail',
        message: MAIL.message,
      }),
      await wallet.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message),
    );
    const raw = await client.signTransaction({
      account,
      to: TO,
      nonce: 3,
      gas: 21000n,
      maxFeePerGas: 2_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      value: 10n ** 18n,
    });
    assert.equal(raw, await wallet.signTransaction(TX_ETHERS));
  });

  test("an HD root's derived account signs at its path through every signing method", async () => {
    const phrase = 'legal winner thank year wave sausage worth useful legal winner thank yellow';
    const path = "m/44'/60'/0'/0/2";
    const hd = HDNodeWallet.fromPhrase(phrase, undefined, path);
    const root = await node.api<{ id: string }>('POST', '/v1/keys/import', {
      name: 'rpc-hd',
      algorithm: 'secp256k1',
      mnemonic: phrase,
    });
    assert.equal(root.status, 201);
    const tok = await mkToken(['keys:sign', 'keys:read'], [root.body.id]);
    assert.deepEqual((await rpc('eth_accounts', [], tok)).result, [], 'no account before a derivation');
    const d = await node.api<{ addresses: { ethereum: string } }>(
      'GET',
      `/v1/keys/${root.body.id}/derive?path=${encodeURIComponent(path)}`,
      undefined,
      tok,
    );
    assert.equal(d.body.addresses.ethereum, hd.address);
    assert.deepEqual((await rpc('eth_accounts', [], tok)).result, [hd.address]);
    const ok = async (method: string, params: unknown[]) => {
      const r = await rpc(method, params, tok);
      assert.equal(r.error, undefined, `${method}: ${JSON.stringify(r.error)}`);
      return r.result;
    };
    const tx = { ...TX, from: hd.address };
    assert.equal(await ok('eth_signTransaction', [tx]), await hd.signTransaction(TX_ETHERS));
    assert.equal(
      ((await ok('account_signTransaction', [tx])) as { raw: string }).raw,
      await hd.signTransaction(TX_ETHERS),
    );
    assert.equal(await ok('personal_sign', ['0x6869', hd.address]), await hd.signMessage('hi'));
    assert.equal(await ok('eth_sign', [hd.address, '0x6869']), await hd.signMessage('hi'));
    const typed = await hd.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message);
    assert.equal(await ok('eth_signTypedData_v4', [hd.address, MAIL]), typed);
    assert.equal(await ok('account_signTypedData', [hd.address, MAIL]), typed);
    assert.equal(await ok('account_signData', ['data/typed', hd.address, MAIL]), typed);
  });

  test('every RPC signature is in the audit log as the same operation REST performs', async () => {
    await result('eth_signTransaction', [{ ...TX, nonce: '0x4d2' }]);
    const audit = await node.api<{
      entries: { action: string; keyId?: string; details?: Record<string, unknown> }[];
    }>('GET', '/v1/audit?limit=1000');
    const e = audit.body.entries.filter(
      (x) => x.action === 'ethereum.transaction' && x.details?.nonce === 1234,
    );
    assert.equal(e.length, 1);
    assert.equal(e[0]!.keyId, keyId);
  });
});

describe('errors', () => {
  test('-32700 parse error for a body that is not JSON, or empty', async () => {
    for (const body of ['{"jsonrpc": "2.0", "method": "eth_accounts", "id": 1', '', 'nope', '[1,']) {
      const r = await rpcRaw(body);
      assert.equal(r.status, 200);
      assertRpcError(r.body as RpcRes, -32700);
      assert.equal((r.body as RpcRes).id, null);
    }
  });

  test('-32600 invalid request: not an object, wrong version, no method, bad id or params', async () => {
    const cases: [unknown, unknown][] = [
      [1, null],
      ['"x"', null],
      [null, null],
      [{ id: 1, method: 'eth_accounts' }, 1],
      [{ jsonrpc: '1.0', id: 2, method: 'eth_accounts' }, 2],
      [{ jsonrpc: '2.0', id: 3 }, 3],
      [{ jsonrpc: '2.0', id: 4, method: 5 }, 4],
      [{ jsonrpc: '2.0', id: { a: 1 }, method: 'eth_accounts' }, null],
      [{ jsonrpc: '2.0', id: [1], method: 'eth_accounts' }, null],
      [{ jsonrpc: '2.0', id: true, method: 'eth_accounts' }, null],
      [{ jsonrpc: '2.0', id: 5, method: 'eth_accounts', params: 'x' }, 5],
    ];
    for (const [body, id] of cases) {
      const r = (await rpcRaw(body)).body as RpcRes;
      assertRpcError(r, -32600);
      assert.equal(r.id, id, JSON.stringify(body));
    }
  });

  test('-32601 for an unknown method, including inherited property names; the name is not echoed', async () => {
    for (const m of ['eth_fooBar', 'toString', '__proto__', 'constructor', '', 'x'.repeat(5000)]) {
      const r = await rpc(m, []);
      assertRpcError(r, -32601);
      if (m.length > 0) assert.ok(!r.error!.message.includes(m), 'no echo');
    }
  });

  test('-32602 invalid params: arity, shapes, addresses, transactions, typed data', async () => {
    const cases: [string, unknown[]][] = [
      ['eth_accounts', [1]],
      ['eth_signTransaction', []],
      ['eth_signTransaction', ['0x00']],
      ['eth_signTransaction', [{ ...TX, from: undefined }]],
      ['eth_signTransaction', [{ ...TX, from: '0x1234' }]],
      ['eth_signTransaction', [{ ...TX, chainId: undefined }]],
      ['eth_signTransaction', [{ ...TX, nonce: '-1' }]],
      ['eth_signTransaction', [{ ...TX, value: 'lots' }]],
      ['eth_signTransaction', [TX, 'extra']],
      ['account_signTransaction', [TX, 5]],
      ['eth_sign', [wallet.address]],
      ['eth_sign', ['not-an-address', '0x00']],
      ['eth_sign', [wallet.address, 5]],
      ['personal_sign', [wallet.address]],
      ['personal_sign', ['0x00', wallet.address.replace('0x', '0X')]],
      ['eth_signTypedData_v4', [wallet.address, 'not json']],
      ['eth_signTypedData_v4', [wallet.address, { ...MAIL, primaryType: 'Nope' }]],
      ['eth_signTypedData_v4', [wallet.address]],
      ['account_signData', ['text/plain', wallet.address]],
    ];
    for (const [method, params] of cases) {
      const r = await rpc(method, params);
      assertRpcError(r, -32602);
      assert.ok(r.error!.message.length > 0, `${method} ${JSON.stringify(params)}`);
    }
    // By-name params are not how these methods are called.
    assertRpcError(
      (await rpcRaw({ jsonrpc: '2.0', id: 9, method: 'eth_accounts', params: { a: 1 } })).body as RpcRes,
      -32602,
    );
  });

  test('an unknown from, or one of a key the token may not use: resource not found (-32001)', async () => {
    for (const from of ['0x000000000000000000000000000000000000dEaD', otherAddress]) {
      assertRpcError(await rpc('eth_signTransaction', [{ ...TX, from }]), -32001, 'NOT_FOUND');
      assertRpcError(await rpc('personal_sign', ['0x00', from]), -32001, 'NOT_FOUND');
    }
  });

  test('a deactivated key: resource unavailable (-32002, INVALID_STATE, as REST answers 409)', async () => {
    const r = await rpc('personal_sign', ['0x00', deactivatedAddress]);
    assertRpcError(r, -32002, 'INVALID_STATE');
    assert.equal(r.error!.data!.status, 409);
  });

  test('every method in the tables needs a token with keys:sign, checked before the method is looked up', async () => {
    const readOnly = await mkToken(['keys:read']);
    const names = [...METHODS.keys(), ...REFUSED.keys(), 'eth_noSuchMethod'];
    assert.ok(names.includes('account_version') && names.includes('eth_chainId'));
    for (const method of names) {
      for (const tok of [null, 'km_unknown', '']) {
        const r = await rpcRaw({ jsonrpc: '2.0', id: 'gate', method, params: [] }, tok);
        assert.equal(r.status, 401, `${method} without a valid token: ${JSON.stringify(r.body)}`);
        assertRpcError(r.body as RpcRes, 4100, 'UNAUTHENTICATED');
        assert.equal((r.body as RpcRes).id, 'gate');
      }
      const f = await rpc(method, [], readOnly);
      assertRpcError(f, 4100, 'FORBIDDEN');
      assert.equal(f.error!.data!.status, 403);
    }
    // A batch without a token: every call refused under its own id, notifications silently.
    const batch = await rpcRaw(
      [...METHODS.keys()].flatMap((method, i) => [
        { jsonrpc: '2.0', id: i, method, params: [] },
        { jsonrpc: '2.0', method, params: [] },
      ]),
      null,
    );
    assert.equal(batch.status, 401);
    const out = batch.body as RpcRes[];
    assert.equal(out.length, METHODS.size);
    for (const r of out) assertRpcError(r, 4100, 'UNAUTHENTICATED');
    const note = await rpcRaw({ jsonrpc: '2.0', method: 'account_version' }, null);
    assert.equal(note.status, 401);
    assert.equal(note.body, undefined);
  });

  test('unauthenticated: HTTP 401 with JSON-RPC errors; forbidden: 4100 with FORBIDDEN', async () => {
    for (const tok of [null, 'km_unknown']) {
      const r = await rpcRaw({ jsonrpc: '2.0', id: 7, method: 'eth_accounts' }, tok);
      assert.equal(r.status, 401);
      assertRpcError(r.body as RpcRes, 4100, 'UNAUTHENTICATED');
      assert.equal((r.body as RpcRes).id, 7);
      const s = await rpcRaw(
        { jsonrpc: '2.0', id: 8, method: 'personal_sign', params: ['0x00', wallet.address] },
        tok,
      );
      assert.equal(s.status, 401);
    }
    const readOnly = await mkToken(['keys:read']);
    const f = await rpc('eth_accounts', [], readOnly);
    assertRpcError(f, 4100, 'FORBIDDEN');
    assert.equal(f.error!.data!.status, 403);
  });

  test('bodies over the size limit: 413 with a JSON-RPC error', async () => {
    const r = await rpcRaw(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'x', params: ['a'.repeat(1100 * 1024)] }),
    );
    assert.equal(r.status, 413);
    assertRpcError(r.body as RpcRes, -32005, 'PAYLOAD_TOO_LARGE');
  });
});

describe('batches and notifications', () => {
  test('a batch answers each call by id, skips notifications, and reports each error on its own', async () => {
    const r = await rpcRaw([
      { jsonrpc: '2.0', id: 'a', method: 'eth_accounts' },
      { jsonrpc: '2.0', method: 'eth_accounts' },
      { jsonrpc: '2.0', id: 2, method: 'personal_sign', params: ['0x01', wallet.address] },
      { jsonrpc: '2.0', id: null, method: 'nope' },
      1,
      { jsonrpc: '2.0', id: 3, method: 'eth_signTransaction', params: [{ ...TX, chainId: undefined }] },
      { jsonrpc: '2.0', method: 'nope' },
    ]);
    assert.equal(r.status, 200);
    const out = r.body as RpcRes[];
    assert.ok(Array.isArray(out));
    assert.equal(out.length, 5);
    const byId = new Map(out.filter((x) => x.id !== null).map((x) => [x.id, x]));
    assert.deepEqual(byId.get('a')!.result, [wallet.address]);
    assert.equal(byId.get(2)!.result, await wallet.signMessage(Uint8Array.of(1)));
    assertRpcError(byId.get(3)!, -32602);
    const nulls = out.filter((x) => x.id === null);
    assert.deepEqual(
      nulls.map((x) => x.error!.code).sort((a, b) => a - b),
      [-32601, -32600],
    );
  });

  test('a batch of only notifications, or a single notification, gets no content', async () => {
    const r = await rpcRaw([
      { jsonrpc: '2.0', method: 'eth_accounts' },
      { jsonrpc: '2.0', method: 'personal_sign', params: ['0x02', wallet.address] },
    ]);
    assert.equal(r.status, 204);
    assert.equal(r.body, undefined);
    const one = await rpcRaw({ jsonrpc: '2.0', method: 'eth_accounts' });
    assert.equal(one.status, 204);
  });

  test('an empty batch is one invalid request; a batch over 100 calls is refused whole', async () => {
    assertRpcError((await rpcRaw([])).body as RpcRes, -32600);
    const big = Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'eth_accounts' }));
    const r = await rpcRaw(big);
    assert.ok(!Array.isArray(r.body));
    assertRpcError(r.body as RpcRes, -32600);
    const ok = await rpcRaw(big.slice(0, 100));
    assert.equal((ok.body as RpcRes[]).length, 100);
    assert.deepEqual(
      (ok.body as RpcRes[]).map((x) => x.id).sort((a, b) => Number(a) - Number(b)),
      big.slice(0, 100).map((x) => x.id),
    );
  });

  test('ids are echoed as given: strings, numbers, null', async () => {
    for (const id of ['abc', 0, -5, 1.5, 'ünï', null, 2 ** 53]) {
      const r = (await rpcRaw({ jsonrpc: '2.0', id, method: 'account_version' })).body as RpcRes;
      assert.equal(r.id, id);
      assert.equal(r.result, '6.1.0');
    }
  });

  test('garbage in params is never an internal error', async () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      '0x',
      'ä',
      [],
      {},
      [[]],
      { from: null },
      '0x' + 'ff'.repeat(40),
    ];
    const methods = [
      'eth_signTransaction',
      'account_signTransaction',
      'eth_sign',
      'personal_sign',
      'eth_signTypedData_v4',
      'account_signTypedData',
      'account_signData',
    ];
    for (const method of methods)
      for (const a of values)
        for (const params of [
          [a],
          [a, a],
          [wallet.address, a],
          [a, wallet.address],
          ['text/plain', wallet.address, a],
          [{ ...TX, value: a }],
        ]) {
          const r = await rpc(method, params);
          if (r.error)
            assert.notEqual(r.error.code, -32603, `${method} ${JSON.stringify(params)}: ${r.error.message}`);
        }
  });
});
