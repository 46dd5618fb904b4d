// ethereum.accounts and ethereum.account (src/core/keys/accounts.ts, with the plain keys' part in
// src/core/chains/ethereum-accounts.ts) through the dispatcher: the addresses are the ones ethers
// computes for the imported key and for the HD root's derived child; both are reads (nothing
// audited on success, nor an unknown address); without keys:sign they are refused; a caller
// without a valid token is UNAUTHENTICATED (counted in aggregate, not written one by one).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HDNodeWallet, Mnemonic, verifyMessage, Wallet } from 'ethers';
import { ethAddressIndexKey } from '../../../src/store/layout.js';
import { ABANDON, ETH0, hex, privateKey } from '../_fixtures.js';
import { assertForbidden, assertRefused, refuses, useOps } from '../_ops.js';

const wallet = new Wallet(hex(privateKey('accounts')));
const child = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ABANDON), ETH0);

let plainId: string;
let rootId: string;
const h = useOps({}, async () => {
  plainId = await h.importKey('acc-plain', wallet.privateKey);
  rootId = (
    await h.core.importKey(h.admin.as('i1'), { name: 'acc-root', algorithm: 'secp256k1', mnemonic: ABANDON })
  ).id;
  await h.core.deriveKey(h.admin.as('d1'), rootId, ETH0);
});

const anonymous = (requestId: string) => ({ principal: { kind: 'anonymous' as const }, requestId });

describe('ethereum.accounts', () => {
  test("the plain key's and the derived child's addresses, as ethers computes them; a read writes nothing", async () => {
    const accounts = await h.core.ethereumAccounts(h.admin.as('a1'));
    assert.deepEqual(accounts, [
      { address: wallet.address, keyId: plainId },
      { address: child.address, keyId: rootId, path: ETH0 },
    ]);
    assert.deepEqual(h.audited('a1'), []);
    const narrowed = await h.token(['keys:sign'], [rootId]);
    assert.deepEqual(await h.core.ethereumAccounts(narrowed.as('a2')), [
      { address: child.address, keyId: rootId, path: ETH0 },
    ]);
  });

  test('without keys:sign: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'ethereum.accounts', (c) => h.core.ethereumAccounts(c));
  });

  test('no token: UNAUTHENTICATED, counted in aggregate rather than written for the request', async () => {
    await refuses('ethereum.accounts', h.core.ethereumAccounts(anonymous('a3')), 'UNAUTHENTICATED');
    assert.deepEqual(h.audited('a3'), []);
  });
});

describe('ethereum.account', () => {
  test('an address resolves to its key, and a derived one to its root and path; a read writes nothing', async () => {
    assert.deepEqual(await h.core.ethereumAccount(h.admin.as('r1'), wallet.address), { keyId: plainId });
    assert.deepEqual(await h.core.ethereumAccount(h.admin.as('r2'), child.address.toLowerCase()), {
      keyId: rootId,
      path: ETH0,
    });
    assert.deepEqual(h.audited('r1'), []);
  });

  test('without keys:sign: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'ethereum.account', (c) => h.core.ethereumAccount(c, wallet.address));
  });

  test('not an address: INVALID_REQUEST; an address no key has: NOT_FOUND (a read: not audited)', async () => {
    await assertRefused(
      h,
      'ethereum.account',
      (c) => h.core.ethereumAccount(c, '0x1234'),
      'INVALID_REQUEST',
      'error',
    );
    const stranger = Wallet.createRandom().address;
    await assertRefused(
      h,
      'ethereum.account',
      (c) => h.core.ethereumAccount(c, stranger),
      'NOT_FOUND',
      'none',
    );
  });
});

describe('an address index edited in the store', () => {
  test('cannot make another child of the same root sign in the address’s name', async () => {
    const other = "m/44'/60'/0'/0/1";
    await h.core.deriveKey(h.admin.as('d2'), rootId, other);
    // Someone with write access to the store points the first child's address at the second path.
    const store = h.core.deps.store;
    const indexKey = ethAddressIndexKey(child.address, rootId);
    const e = await store.get(indexKey);
    assert.ok(e, 'the derived address is indexed');
    await store.txn(
      [],
      [{ type: 'put', key: indexKey, value: JSON.stringify({ keyId: rootId, path: other }) }],
    );
    const resolved = await h.core.ethereumAccount(h.admin.as('t1'), child.address);
    assert.deepEqual(resolved, { keyId: rootId, path: other });
    // Signing in that address's name (JSON-RPC passes it as `from`) is refused, not done by the
    // second child; without `from` the second child signs as itself, as its path asks.
    const message = '0x' + Buffer.from('in whose name?').toString('hex');
    await refuses(
      'ethereum.message',
      h.core.signEthereumMessage(h.admin.as('t2'), rootId, { message, path: other, from: child.address }),
      'INVALID_REQUEST',
    );
    await refuses(
      'ethereum.typed-data',
      h.core.signEthereumTypedData(h.admin.as('t3'), rootId, {
        typedData: { types: { EIP712Domain: [] }, primaryType: 'EIP712Domain', domain: {}, message: {} },
        path: other,
        from: child.address,
      }),
      'INVALID_REQUEST',
    );
    const own = await h.core.signEthereumMessage(h.admin.as('t4'), rootId, {
      message,
      path: ETH0,
      from: child.address,
    });
    assert.equal(verifyMessage(Buffer.from('in whose name?'), own.signature), child.address);
    // A malformed index entry is no account.
    await store.txn([], [{ type: 'put', key: indexKey, value: '{"path": 7}' }]);
    await assertRefused(
      h,
      'ethereum.account',
      (c) => h.core.ethereumAccount(c, child.address),
      'NOT_FOUND',
      'none',
    );
  });
});
