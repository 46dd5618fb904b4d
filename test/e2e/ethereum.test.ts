// End to end, against a real node process: Ethereum signing over REST and through ethers'
// JsonRpcSigner on /rpc. ethers v6 Wallet is the independent judge (byte-equal raw transactions,
// personal-message and typed-data signatures for the same imported key and input); the EIP-155
// and EIP-712 specifications' own examples are reproduced; an in-process EVM (@ethereumjs/vm)
// mines what a funded Keymesh key signs. Bad input is a documented 400, never a 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  FetchRequest,
  HDNodeWallet,
  JsonRpcProvider,
  keccak256,
  Signature,
  Transaction,
  TypedDataEncoder,
  verifyMessage,
  verifyTypedData,
  VoidSigner,
  Wallet,
} from 'ethers';
import { startEvm, type LocalEvm } from '../helpers/evm.js';
import { startNode, type TestNode } from '../helpers/node.js';
import { MAIL, MAIL_TYPES } from '../fixtures/eip712-mail.js';

type Err = { error: { code: string; message: string } };
type Signed = { rawTransaction: string; hash: string; from: string };

const PRIVATE_KEY = keccak256(Buffer.from('keymesh e2e ethereum key'));
const wallet = new Wallet(PRIVATE_KEY);
const TO = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';
const GWEI = 1_000_000_000n;
const AUTH_SIG = Signature.from({ r: '0x' + '11'.repeat(32), s: '0x' + '22'.repeat(32), yParity: 1 });

let node: TestNode;
let evm: LocalEvm;
let keyId: string;

async function importKey(name: string, privateKey: string): Promise<{ id: string; address: string }> {
  const r = await node.api<{ id: string; addresses: { ethereum: string } }>('POST', '/v1/keys/import', {
    name,
    algorithm: 'secp256k1',
    privateKey,
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { id: r.body.id, address: r.body.addresses.ethereum };
}

async function token(scopes: string[], keyIds?: string[]): Promise<string> {
  const r = await node.api<{ token: string }>('POST', '/v1/tokens', {
    name: `t-${randomBytes(4).toString('hex')}`,
    scopes,
    ...(keyIds ? { keyIds } : {}),
  });
  assert.equal(r.status, 201);
  return r.body.token;
}

const signTx = (id: string, transaction: unknown, tok?: string | null) =>
  node.api<Signed>('POST', `/v1/keys/${id}/ethereum/transaction`, { transaction }, tok);

function assertError(r: { status: number; body: unknown }, status: number, code?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as Err).error;
  assert.match(e?.code ?? '', /^[A-Z_]+$/, JSON.stringify(r.body));
  assert.ok(e.message.length > 0);
  if (code) assert.equal(e.code, code, e.message);
}

before(async () => {
  [node, evm] = await Promise.all([startNode(), startEvm({ chainId: 1337 })]);
  const k = await importKey('eth-judge', PRIVATE_KEY);
  keyId = k.id;
  assert.equal(k.address, wallet.address);
});
after(async () => {
  await Promise.all([node.stop(), evm.close()]);
});

interface Case {
  name: string;
  request: Record<string, unknown>;
  ethers: Record<string, unknown>;
}

const CASES: Case[] = [
  {
    name: 'legacy with EIP-155, hex quantities',
    request: {
      type: '0x0',
      chainId: '0x1',
      nonce: '0x7',
      gas: '0x5208',
      gasPrice: '0x4a817c800',
      to: TO,
      value: '0xde0b6b3a7640000',
      data: '0x',
    },
    ethers: {
      type: 0,
      chainId: 1,
      nonce: 7,
      gasLimit: 21000,
      gasPrice: 20n * GWEI,
      to: TO,
      value: 10n ** 18n,
    },
  },
  {
    name: 'legacy contract creation, type inferred, decimal strings',
    request: { chainId: '137', nonce: '0', gas: '1000000', gasPrice: '30000000000', data: '0x6080604052' },
    ethers: {
      type: 0,
      chainId: 137,
      nonce: 0,
      gasLimit: 1_000_000,
      gasPrice: 30n * GWEI,
      data: '0x6080604052',
    },
  },
  {
    name: 'EIP-2930 with an access list',
    request: {
      type: '0x1',
      chainId: 5,
      nonce: 3,
      gas: 60000,
      gasPrice: '1000000000',
      to: TO,
      value: '1',
      input: '0xa9059cbb',
      accessList: [{ address: TO, storageKeys: ['0x' + '00'.repeat(31) + '01'] }],
    },
    ethers: {
      type: 1,
      chainId: 5,
      nonce: 3,
      gasLimit: 60000,
      gasPrice: GWEI,
      to: TO,
      value: 1n,
      data: '0xa9059cbb',
      accessList: [{ address: TO, storageKeys: ['0x' + '00'.repeat(31) + '01'] }],
    },
  },
  {
    name: 'EIP-1559 with calldata, from given in lowercase',
    request: {
      type: '0x2',
      chainId: '0x1',
      nonce: '0x2a',
      gas: '0x186a0',
      maxFeePerGas: '0x77359400',
      maxPriorityFeePerGas: '0x3b9aca00',
      to: TO,
      value: '0x0',
      data: '0xa9059cbb' + '00'.repeat(31) + '64',
      from: wallet.address.toLowerCase(),
    },
    ethers: {
      type: 2,
      chainId: 1,
      nonce: 42,
      gasLimit: 100000,
      maxFeePerGas: 2n * GWEI,
      maxPriorityFeePerGas: GWEI,
      to: TO,
      value: 0n,
      data: '0xa9059cbb' + '00'.repeat(31) + '64',
    },
  },
  {
    name: 'EIP-1559 inferred, JSON numbers, huge value',
    request: {
      chainId: 2 ** 40,
      nonce: 9,
      gas: 21000,
      maxFeePerGas: '100',
      maxPriorityFeePerGas: 0,
      to: TO.toLowerCase(),
      value: '123456789012345678901234567890',
    },
    ethers: {
      type: 2,
      chainId: 2 ** 40,
      nonce: 9,
      gasLimit: 21000,
      maxFeePerGas: 100n,
      maxPriorityFeePerGas: 0n,
      to: TO,
      value: 123456789012345678901234567890n,
    },
  },
  {
    name: 'EIP-4844 (blob versioned hashes)',
    request: {
      type: '0x3',
      chainId: 1,
      nonce: 4,
      gas: 21000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      maxFeePerBlobGas: '100',
      to: TO,
      blobVersionedHashes: ['0x01' + 'aa'.repeat(31)],
    },
    ethers: {
      type: 3,
      chainId: 1,
      nonce: 4,
      gasLimit: 21000,
      maxFeePerGas: 30n * GWEI,
      maxPriorityFeePerGas: GWEI,
      maxFeePerBlobGas: 100n,
      to: TO,
      blobVersionedHashes: ['0x01' + 'aa'.repeat(31)],
    },
  },
  {
    name: 'EIP-7702 (signed authorization list)',
    request: {
      type: '0x4',
      chainId: 1,
      nonce: 5,
      gas: 80000,
      maxFeePerGas: '30000000000',
      maxPriorityFeePerGas: '1000000000',
      to: wallet.address,
      authorizationList: [
        { chainId: '0x0', address: TO, nonce: '0x6', yParity: '0x1', r: AUTH_SIG.r, s: AUTH_SIG.s },
      ],
    },
    ethers: {
      type: 4,
      chainId: 1,
      nonce: 5,
      gasLimit: 80000,
      maxFeePerGas: 30n * GWEI,
      maxPriorityFeePerGas: GWEI,
      to: wallet.address,
      authorizationList: [{ chainId: 0, address: TO, nonce: 6, signature: AUTH_SIG }],
    },
  },
];

describe('byte-equal to ethers Wallet for the same key and input', () => {
  test('transactions: legacy (EIP-155), EIP-2930, EIP-1559, EIP-4844, EIP-7702', async () => {
    for (const c of CASES) {
      const r = await signTx(keyId, c.request);
      assert.equal(r.status, 200, `${c.name}: ${JSON.stringify(r.body)}`);
      const theirs = await wallet.signTransaction(c.ethers);
      assert.equal(r.body.rawTransaction, theirs, c.name);
      const decoded = Transaction.from(theirs);
      assert.equal(r.body.hash, decoded.hash, c.name);
      assert.equal(r.body.from, wallet.address, c.name);
    }
  });

  test("EIP-155's example transaction, signed by the node", async () => {
    // EIP-155 "Example": private key 0x4646...46, nonce 9, 20 gwei, 21000 gas, 1 ether to 0x3535...35.
    const k = await importKey('eip155-example', '0x' + '46'.repeat(32));
    const r = await signTx(k.id, {
      chainId: 1,
      nonce: 9,
      gasPrice: '20000000000',
      gas: '21000',
      to: '0x3535353535353535353535353535353535353535',
      value: '1000000000000000000',
      data: '0x',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(
      r.body.rawTransaction,
      '0xf86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83',
    );
  });

  test('personal messages (EIP-191): text, Unicode, hex bytes, empty', async () => {
    const cases: [string, string | Uint8Array][] = [
      ['Hello, Keymesh!', 'Hello, Keymesh!'],
      ['héllo 🌍 — ünïcode', 'héllo 🌍 — ünïcode'],
      ['', ''],
      ['0xdeadbeef', Uint8Array.from([0xde, 0xad, 0xbe, 0xef])],
      ['x'.repeat(10_000), 'x'.repeat(10_000)],
    ];
    for (const [message, ethersInput] of cases) {
      const r = await node.api<{ signature: string }>('POST', `/v1/keys/${keyId}/ethereum/message`, {
        message,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.signature, await wallet.signMessage(ethersInput), message.slice(0, 20));
      assert.match(r.body.signature, /^0x[0-9a-f]{128}(1b|1c)$/);
      assert.equal(verifyMessage(ethersInput, r.body.signature), wallet.address);
    }
  });

  test("typed data (EIP-712): the Mail example, and EIP-712's own signature for the 'cow' key", async () => {
    for (const typedData of [MAIL, JSON.stringify(MAIL)]) {
      const r = await node.api<{ signature: string }>('POST', `/v1/keys/${keyId}/ethereum/typed-data`, {
        typedData,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.signature, await wallet.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message));
      assert.equal(verifyTypedData(MAIL.domain, MAIL_TYPES, MAIL.message, r.body.signature), wallet.address);
    }
    // EIP-712's example: signer keccak256("cow"), v 28, r 0x4355c47d…, s 0x07299936….
    const cow = await importKey('eip712-cow', keccak256(Buffer.from('cow')));
    assert.equal(cow.address, '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826');
    const r = await node.api<{ signature: string }>('POST', `/v1/keys/${cow.id}/ethereum/typed-data`, {
      typedData: MAIL,
    });
    assert.equal(
      r.body.signature,
      '0x4355c47d63924e8a72e509b65029052eb6c299d53a04e167c5775fd466751c9d' +
        '07299936d304c153f6443dfa05f40ff007d72911b6f72307f996231605b91562' +
        '1c',
    );
    assert.equal(
      TypedDataEncoder.hash(MAIL.domain, MAIL_TYPES, MAIL.message),
      '0xbe609aee343fb3c4b28e1df9e632fca64fcfaede20f02e86244efddf30957bd2',
    );
  });
});

describe('a real chain accepts what Keymesh signs', () => {
  test('a funded Keymesh key: legacy, EIP-2930, EIP-1559, EIP-4844 and EIP-7702 transactions are mined', async () => {
    const k = await importKey('evm-sender', keccak256(Buffer.from('keymesh evm sender')));
    await evm.fund(k.address, 10n ** 19n);
    const sink = '0x000000000000000000000000000000000000dEaD';
    const base = { chainId: 1337, to: sink, value: '1000', from: k.address };
    const fees = { maxFeePerGas: (20n * GWEI).toString(), maxPriorityFeePerGas: GWEI.toString() };
    const requests: Record<string, unknown>[] = [
      { ...base, type: '0x0', nonce: 0, gas: 21000, gasPrice: (10n * GWEI).toString() },
      { ...base, type: '0x1', nonce: 1, gas: 30000, gasPrice: (10n * GWEI).toString(), accessList: [] },
      { ...base, type: '0x2', nonce: 2, gas: 21000, ...fees },
      {
        ...base,
        type: '0x3',
        nonce: 3,
        gas: 21000,
        ...fees,
        maxFeePerBlobGas: '10',
        blobVersionedHashes: ['0x01' + '11'.repeat(31)],
      },
    ];
    for (const [i, req] of requests.entries()) {
      const r = await signTx(k.id, req);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const hash = await evm.sendRawTransaction(r.body.rawTransaction);
      assert.equal(hash, r.body.hash);
      const receipt = await evm.getTransactionReceipt(hash);
      assert.equal(receipt?.status, '0x1', `type ${String(req.type)} mined and succeeded`);
      assert.equal(receipt.from.toLowerCase(), k.address.toLowerCase());
      assert.equal(await evm.getNonce(k.address), BigInt(i + 1));
    }
    assert.equal(await evm.getBalance(sink), 4000n);

    // EIP-7702: the authorization is keccak256(0x05 ‖ rlp([chainId, address, nonce])), signed by the
    // same Keymesh key through the raw-digest endpoint; the transaction carrying it through ours.
    const { toRlp, toHex } = await import('viem');
    const authDigest = keccak256('0x05' + toRlp([toHex(1337), sink, toHex(5)]).slice(2));
    const a = await node.api<{ signature: string; recoveryId: number }>('POST', `/v1/keys/${k.id}/sign`, {
      digest: authDigest,
    });
    assert.equal(a.status, 200);
    const r = await signTx(k.id, {
      type: '0x4',
      chainId: 1337,
      nonce: 4,
      gas: 100000,
      to: k.address,
      ...fees,
      authorizationList: [
        {
          chainId: 1337,
          address: sink,
          nonce: 5,
          yParity: a.body.recoveryId,
          r: a.body.signature.slice(0, 66),
          s: '0x' + a.body.signature.slice(66),
        },
      ],
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const receipt = await evm.getTransactionReceipt(await evm.sendRawTransaction(r.body.rawTransaction));
    assert.equal(receipt?.status, '0x1');
    assert.equal(
      await evm.request({ method: 'eth_getCode', params: [k.address] }),
      '0xef0100' + sink.slice(2).toLowerCase(),
    );
  });

  test("ethers' JsonRpcSigner on Keymesh's /rpc signs; the EVM mines what it signed", async () => {
    const k = await importKey('rpc-sender', keccak256(Buffer.from('keymesh json-rpc sender')));
    const local = new Wallet(keccak256(Buffer.from('keymesh json-rpc sender')));
    await evm.fund(k.address, 10n ** 18n);
    const signerToken = await token(['keys:sign'], [k.id]);
    // The wallet backend's view: a chain node for reads and broadcasts, Keymesh as its signer.
    // (cacheTimeout -1: ethers would otherwise answer the next nonce from a 250 ms cache)
    const chain = new JsonRpcProvider(await evm.listen(), 1337, { staticNetwork: true, cacheTimeout: -1 });
    const req = new FetchRequest(`${node.url}/rpc`);
    req.setHeader('authorization', `Bearer ${signerToken}`);
    const keymesh = new JsonRpcProvider(req, 1337, { staticNetwork: true });
    try {
      assert.deepEqual(await keymesh.listAccounts().then((l) => l.map((s) => s.address)), [k.address]);
      const signer = await keymesh.getSigner(k.address);
      const sink = '0x000000000000000000000000000000000000bEEF';
      for (const request of [
        { to: sink, value: 777n },
        { to: sink, value: 1n, type: 0 },
        { to: sink, value: 2n, type: 1, accessList: [] },
      ]) {
        const populated = await new VoidSigner(k.address, chain).populateTransaction(request);
        const raw = await signer.signTransaction(populated);
        assert.equal(raw, await local.signTransaction(populated), 'ethers Wallet signs the same bytes');
        const receipt = await (await chain.broadcastTransaction(raw)).wait();
        assert.equal(receipt?.status, 1);
        assert.equal(receipt?.from, k.address);
      }
      assert.equal(await chain.getBalance(sink), 780n);
      // Messages and typed data through the same signer.
      assert.equal(await signer.signMessage('gm'), await local.signMessage('gm'));
      assert.equal(
        await signer.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message),
        await local.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message),
      );
    } finally {
      chain.destroy();
      keymesh.destroy();
    }
  });
});

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

describe('HD roots: signing at a path', () => {
  let rootId: string;
  before(async () => {
    const r = await node.api<{ id: string; hd: boolean }>('POST', '/v1/keys/import', {
      name: 'eth-hd-root',
      algorithm: 'secp256k1',
      mnemonic: ABANDON,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.hd, true);
    rootId = r.body.id;
  });

  test('transactions, messages and typed data at a path are byte-equal to ethers HDNodeWallet', async () => {
    const tx = CASES.find((c) => c.name.startsWith('EIP-1559 with calldata'))!;
    const { from: _from, ...request } = tx.request;
    for (const path of ["m/44'/60'/0'/0/0", "m/44'/60'/0'/0/7", 'm/0/1', 'm/44h/60h/1h/0/0']) {
      const hd = HDNodeWallet.fromPhrase(ABANDON, undefined, path.replace(/h/g, "'"));
      const t = await node.api<Signed>('POST', `/v1/keys/${rootId}/ethereum/transaction`, {
        transaction: { ...request, from: hd.address },
        path,
      });
      assert.equal(t.status, 200, `${path}: ${JSON.stringify(t.body)}`);
      assert.equal(t.body.rawTransaction, await hd.signTransaction(tx.ethers), path);
      assert.equal(t.body.from, hd.address);
      const m = await node.api<{ signature: string }>('POST', `/v1/keys/${rootId}/ethereum/message`, {
        message: 'at a path',
        path,
      });
      assert.equal(m.body.signature, await hd.signMessage('at a path'), path);
      const d = await node.api<{ signature: string }>('POST', `/v1/keys/${rootId}/ethereum/typed-data`, {
        typedData: MAIL,
        path,
      });
      assert.equal(d.body.signature, await hd.signTypedData(MAIL.domain, MAIL_TYPES, MAIL.message), path);
    }
  });

  test('a from that is not the child at the path is refused before anything is audited or signed', async () => {
    const allowed = async () =>
      (
        await node.api<{ entries: { action: string; keyId?: string; outcome: string }[] }>(
          'GET',
          '/v1/audit?limit=1000',
        )
      ).body.entries.filter(
        (e) => e.keyId === rootId && e.action === 'ethereum.transaction' && e.outcome === 'allowed',
      ).length;
    const before = await allowed();
    const other = HDNodeWallet.fromPhrase(ABANDON, undefined, "m/44'/60'/0'/0/1").address;
    const r = await node.api<Err>('POST', `/v1/keys/${rootId}/ethereum/transaction`, {
      transaction: { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: TO, from: other },
      path: "m/44'/60'/0'/0/0",
    });
    assertError(r, 400, 'INVALID_REQUEST');
    assert.match(r.body.error.message, /from/);
    assert.equal(await allowed(), before);
    // An HD root without a path has no key to sign with.
    assertError(
      await node.api('POST', `/v1/keys/${rootId}/ethereum/message`, { message: 'x' }),
      400,
      'INVALID_REQUEST',
    );
  });

  test("a funded HD child's transactions are mined", async () => {
    const path = "m/44'/60'/0'/0/3";
    const child = HDNodeWallet.fromPhrase(ABANDON, undefined, path).address;
    await evm.fund(child, 10n ** 18n);
    const fees = { maxFeePerGas: (20n * GWEI).toString(), maxPriorityFeePerGas: GWEI.toString() };
    for (const nonce of [0, 1]) {
      const r = await node.api<Signed>('POST', `/v1/keys/${rootId}/ethereum/transaction`, {
        transaction: { chainId: 1337, nonce, gas: 21000, to: TO, value: '5', ...fees },
        path,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.from, child);
      const receipt = await evm.getTransactionReceipt(await evm.sendRawTransaction(r.body.rawTransaction));
      assert.equal(receipt?.status, '0x1');
    }
    assert.equal(await evm.getNonce(child), 2n);
  });
});

describe('refusals', () => {
  test('a transaction without chainId is refused (400), so no signature can be replayed elsewhere', async () => {
    const r = await signTx(keyId, { nonce: 0, gas: 21000, gasPrice: '1', to: TO });
    assertError(r, 400, 'INVALID_REQUEST');
    assert.match((r.body as unknown as Err).error.message, /chainId/);
    assertError(await signTx(keyId, { chainId: null, nonce: 0, gas: 21000, gasPrice: '1', to: TO }), 400);
    assertError(await signTx(keyId, { chainId: 0, nonce: 0, gas: 21000, gasPrice: '1', to: TO }), 400);
  });

  test('malformed transactions and bad numbers name the field (400)', async () => {
    const ok = { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: TO };
    const bad: [unknown, RegExp?][] = [
      [null],
      ['0xf86c'],
      [[ok]],
      [42],
      [{}],
      [{ ...ok, nonce: undefined }, /nonce/],
      [{ ...ok, gas: undefined }, /gas/],
      [{ ...ok, gasPrice: undefined }, /gasPrice|maxFeePerGas/],
      [{ ...ok, nonce: -1 }, /nonce/],
      [{ ...ok, nonce: 1.5 }, /nonce/],
      [{ ...ok, nonce: '1e3' }, /nonce/],
      [{ ...ok, nonce: '0xZZ' }, /nonce/],
      [{ ...ok, nonce: 2 ** 60 }, /nonce/],
      [{ ...ok, value: '-1' }, /value/],
      [{ ...ok, value: '0x1' + '0'.repeat(64) }, /value/],
      [{ ...ok, value: '9'.repeat(100) }, /value/],
      [{ ...ok, value: true }, /value/],
      [{ ...ok, gas: '0x1' + '0'.repeat(16) }, /gas/],
      [{ ...ok, to: '0x1234' }, /to/],
      [{ ...ok, to: TO.replace('8ba1', '8BA1') }, /checksum/],
      [{ ...ok, data: '0xabc' }, /data/],
      [{ ...ok, data: 'hello' }, /data/],
      [{ ...ok, type: '0x9' }, /type/],
      [{ ...ok, type: 'eip9999' }, /type/],
      [{ ...ok, maxFeePerGas: '1' }, /gasPrice|maxFee/],
      [{ ...ok, gasPrice: undefined, maxFeePerGas: '1', maxPriorityFeePerGas: '2' }, /maxPriorityFeePerGas/],
      [{ ...ok, accessList: [{ address: 'nope' }] }, /accessList/],
      [{ ...ok, unknownField: 1 }, /unknownField|unknown/],
      [{ ...ok, from: '0x000000000000000000000000000000000000dEaD' }, /from/],
      [{ ...ok, data: '0x12', input: '0x34' }, /disagree/],
    ];
    for (const [transaction, re] of bad) {
      const r = await signTx(keyId, transaction);
      assertError(r, 400);
      if (re) assert.match((r.body as unknown as Err).error.message, re, JSON.stringify(transaction));
    }
  });

  test('bad messages and typed data (400)', async () => {
    const msg = (body: unknown) => node.api('POST', `/v1/keys/${keyId}/ethereum/message`, body);
    for (const body of [
      {},
      { message: 1 },
      { message: null },
      { message: ['a'] },
      { message: 'x', extra: 1 },
    ])
      assertError(await msg(body), 400);
    assertError(await msg({ message: 'a'.repeat(129 * 1024) }), 400);
    assertError(await msg({ message: '\ud800' }), 400);
    const td = (typedData: unknown) =>
      node.api('POST', `/v1/keys/${keyId}/ethereum/typed-data`, { typedData });
    const bad: unknown[] = [
      null,
      42,
      'not json',
      '{"types":',
      {},
      { ...MAIL, primaryType: 'Nope' },
      { ...MAIL, types: { ...MAIL.types, Mail: [{ name: 'x', type: 'Unknown' }] } },
      { ...MAIL, message: { ...MAIL.message, contents: 5 } },
      { ...MAIL, message: { ...MAIL.message, extra: 'field' } },
      { ...MAIL, message: { from: MAIL.message.from } },
      { ...MAIL, message: { ...MAIL.message, to: { name: 'Bob', wallet: '0x1' } } },
      { ...MAIL, domain: { ...MAIL.domain, chainId: -1 } },
      { ...MAIL, domain: { ...MAIL.domain, unknown: 1 } },
      { ...MAIL, types: { ...MAIL.types, Mail: 'x' } },
      { ...MAIL, extra: 1 },
    ];
    for (const t of bad) assertError(await td(t), 400);
  });

  test('path: malformed is 400; on a single (non-HD) key it is refused (400)', async () => {
    const ok = { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: TO };
    for (const path of ['m/x', "44'/60'", 'm//0', 'm/2147483648', 7, ''])
      assertError(
        await node.api('POST', `/v1/keys/${keyId}/ethereum/transaction`, { transaction: ok, path }),
        400,
      );
    const r = await node.api('POST', `/v1/keys/${keyId}/ethereum/message`, {
      message: 'x',
      path: "m/44'/60'/0'/0/0",
    });
    assertError(r, 400);
  });

  test('404 unknown key, 409 deactivated key, 400 for a key that is not secp256k1', async () => {
    const ok = { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: TO };
    assertError(await signTx('0190d9a4-0000-7000-8000-000000000000', ok), 404, 'NOT_FOUND');
    assertError(await signTx('not-an-id', ok), 404, 'NOT_FOUND');
    const k = await importKey('eth-deactivated', keccak256(Buffer.from('deactivated')));
    await node.api('POST', `/v1/keys/${k.id}/state`, { state: 'deactivated' });
    assertError(await signTx(k.id, ok), 409, 'INVALID_STATE');
    assertError(await node.api('POST', `/v1/keys/${k.id}/ethereum/message`, { message: 'x' }), 409);
    assertError(await node.api('POST', `/v1/keys/${k.id}/ethereum/typed-data`, { typedData: MAIL }), 409);
    const ed = await node.api<{ id: string }>('POST', '/v1/keys', { name: 'eth-ed', algorithm: 'ed25519' });
    assertError(await signTx(ed.body.id, ok), 400, 'UNSUPPORTED');
  });

  test('401 without a token, 403 without keys:sign or for another key', async () => {
    const ok = { chainId: 1, nonce: 0, gas: 21000, gasPrice: '1', to: TO };
    assertError(await signTx(keyId, ok, null), 401, 'UNAUTHENTICATED');
    assertError(await signTx(keyId, ok, 'km_nope'), 401);
    assertError(await signTx(keyId, ok, await token(['keys:read'])), 403, 'FORBIDDEN');
    const other = await importKey('eth-other', keccak256(Buffer.from('other')));
    const narrow = await token(['keys:sign'], [other.id]);
    assertError(await signTx(keyId, ok, narrow), 403, 'FORBIDDEN');
    assertError(await node.api('POST', `/v1/keys/${keyId}/ethereum/message`, { message: 'x' }, narrow), 403);
    assert.equal((await signTx(other.id, ok, narrow)).status, 200);
    // Authentication comes before validation: a bad body without a token is 401, not 400.
    assertError(await signTx(keyId, 'garbage', null), 401);
  });

  test('garbage thrown at every Ethereum endpoint is never a 500', async () => {
    const values: unknown[] = [
      null,
      true,
      -1,
      1e308,
      '',
      '0x',
      'ä'.repeat(100),
      [],
      {},
      [[[]]],
      { __proto__: { x: 1 } },
      { constructor: { prototype: {} } },
      '0x' + 'f'.repeat(200),
    ];
    const bodies: unknown[] = ['{', '[]', 'null', '"x"', '1'];
    for (const v of values) {
      bodies.push(
        { transaction: v },
        { message: v },
        { typedData: v },
        { transaction: { chainId: 1, nonce: v } },
      );
      bodies.push({ transaction: { chainId: 1, nonce: 0, gas: 1, gasPrice: 1, accessList: v } });
      bodies.push({
        transaction: {
          chainId: 1,
          nonce: 0,
          gas: 1,
          maxFeePerGas: 1,
          maxPriorityFeePerGas: 1,
          authorizationList: v,
        },
      });
      bodies.push(
        { typedData: { ...MAIL, types: v } },
        { typedData: { ...MAIL, message: v } },
        { typedData: { ...MAIL, domain: v } },
      );
      bodies.push({ message: 'x', path: v });
    }
    for (const route of ['transaction', 'message', 'typed-data'])
      for (const b of bodies) {
        const r = await node.api('POST', `/v1/keys/${keyId}/ethereum/${route}`, b);
        assert.ok(r.status < 500, `${route} ${JSON.stringify(b).slice(0, 120)} → ${r.status}`);
        if (r.status !== 200) assertError(r, r.status);
      }
  });

  test('the audit log has the decoded transaction, and no calldata or key material', async () => {
    const data = '0xa9059cbb' + 'cd'.repeat(64);
    const r = await signTx(keyId, {
      chainId: 10,
      nonce: 77,
      gas: 90000,
      gasPrice: '5',
      to: TO,
      value: '31337',
      data,
    });
    assert.equal(r.status, 200);
    const audit = await node.api<{
      entries: { action: string; keyId?: string; outcome: string; details?: Record<string, unknown> }[];
    }>('GET', '/v1/audit?limit=1000');
    const e = audit.body.entries.filter(
      (x) => x.action === 'ethereum.transaction' && x.details?.nonce === 77,
    );
    assert.equal(e.length, 1);
    assert.equal(e[0]!.outcome, 'allowed');
    assert.equal(e[0]!.keyId, keyId);
    assert.deepEqual(
      {
        chainId: e[0]!.details!.chainId,
        to: e[0]!.details!.to,
        value: e[0]!.details!.value,
        type: e[0]!.details!.type,
      },
      { chainId: 10, to: TO, value: '31337', type: 'legacy' },
    );
    assert.equal(e[0]!.details!.selector, '0xa9059cbb');
    const text = JSON.stringify(audit.body);
    assert.ok(!text.includes('cd'.repeat(64)), 'calldata is not in the audit log');
    assert.ok(!text.includes(PRIVATE_KEY.slice(2)), 'the private key is not in the audit log');
  });
});
