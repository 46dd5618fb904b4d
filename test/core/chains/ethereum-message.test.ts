// ethereum.message (src/core/chains/ethereum-message.ts) through the dispatcher: an EIP-191
// personal_sign signature viem and ethers both attribute to the key's address; audited as allowed;
// without keys:sign it is refused; a deactivated key is INVALID_STATE, a message that is not a
// string INVALID_REQUEST.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyMessage as ethersVerify, Wallet } from 'ethers';
import { verifyMessage, type Hex } from 'viem';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, openOps, type OpHarness } from '../_ops.js';

const PRIV = privateKey('eth-msg');
const wallet = new Wallet(hex(PRIV));

let h: OpHarness;
let keyId: string;
before(async () => {
  h = await openOps();
  keyId = (
    await h.core.importKey(h.admin.as('i0'), {
      name: 'eth-msg',
      algorithm: 'secp256k1',
      privateKey: hex(PRIV),
    })
  ).id;
});
after(() => h.close());

describe('ethereum.message', () => {
  test("a personal_sign signature viem and ethers attribute to the key's address; audited as allowed", async () => {
    const r = await h.core.signEthereumMessage(h.admin.as('m1'), keyId, { message: 'hello keymesh' });
    assert.ok(
      await verifyMessage({
        address: wallet.address as Hex,
        message: 'hello keymesh',
        signature: r.signature as Hex,
      }),
    );
    assert.equal(ethersVerify('hello keymesh', r.signature), wallet.address);
    assert.equal(r.signature, await wallet.signMessage('hello keymesh'));
    assert.deepEqual(h.audited('m1'), [allowed('ethereum.message', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(
      h,
      'ethereum.message',
      (c) => h.core.signEthereumMessage(c, keyId, { message: 'x' }),
      keyId,
    );
  });

  test('a deactivated key: INVALID_STATE; a message that is no string: INVALID_REQUEST', async () => {
    await assertRefused(
      h,
      'ethereum.message',
      (c) => h.core.signEthereumMessage(c, keyId, { message: 42 }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
    const k = await h.core.createKey(h.admin.as('c1'), { name: 'eth-msg-off', algorithm: 'secp256k1' });
    await h.core.setKeyState(h.admin.as('s1'), k.id, 'deactivated');
    await assertRefused(
      h,
      'ethereum.message',
      (c) => h.core.signEthereumMessage(c, k.id, { message: 'x' }),
      'INVALID_STATE',
      'denied',
      k.id,
    );
  });
});
