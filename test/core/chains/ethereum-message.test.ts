// ethereum.message (src/core/chains/ethereum-message.ts) through the dispatcher: an EIP-191
// personal_sign signature viem and ethers both attribute to the key's address; audited as allowed;
// without keys:sign it is refused; a deactivated key is INVALID_STATE, a message that is not a
// string INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyMessage as ethersVerify, Wallet } from 'ethers';
import { verifyMessage, type Hex } from 'viem';
import type { Credential } from '../../../src/core/context.js';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, assertSigningRefusals, useOps } from '../_ops.js';

const wallet = new Wallet(hex(privateKey('eth-msg')));

let keyId: string;
const h = useOps({}, async () => {
  keyId = await h.importKey('eth-msg', wallet.privateKey);
});
const sign = (message: unknown) => (c: Credential) => h.core.signEthereumMessage(c, keyId, { message });

describe('ethereum.message', () => {
  test("a personal_sign signature viem and ethers attribute to the key's address; audited as allowed", async () => {
    const r = await sign('hello keymesh')(h.admin.as('m1'));
    const signature = r.signature as Hex;
    assert.ok(await verifyMessage({ address: wallet.address as Hex, message: 'hello keymesh', signature }));
    assert.equal(ethersVerify('hello keymesh', r.signature), wallet.address);
    assert.equal(r.signature, await wallet.signMessage('hello keymesh'));
    assert.deepEqual(h.audited('m1'), [allowed('ethereum.message', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'ethereum.message', sign('x'), keyId);
  });

  test('a deactivated key: INVALID_STATE; the policy: POLICY_DENIED; a message that is no string: INVALID_REQUEST', async () => {
    await assertSigningRefusals(h, 'ethereum.message', keyId, sign('x'));
    await assertRefused(h, 'ethereum.message', sign(42), 'INVALID_REQUEST', 'error', keyId);
  });
});
