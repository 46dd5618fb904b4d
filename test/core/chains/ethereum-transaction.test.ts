// ethereum.transaction (src/core/chains/ethereum-transaction.ts) through the dispatcher: the raw
// transaction is the one ethers' Wallet signs with the same key (RFC 6979), and viem recovers the
// key's address from it; audited as allowed; without keys:sign it is refused; a policy's denial is
// POLICY_DENIED (audited as denied, nothing signed) and a deactivated key INVALID_STATE.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { parseTransaction, recoverTransactionAddress, type Hex } from 'viem';
import type { Verdict } from '../../../src/core/pipeline/signing.js';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, openOps, type OpHarness } from '../_ops.js';

const PRIV = privateKey('eth-tx');
const wallet = new Wallet(hex(PRIV));
const TO = '0x000000000000000000000000000000000000dEaD';
const TX = { chainId: 1, nonce: 7, gas: 21000, gasPrice: '1000000000', to: TO, value: '12345' };

let h: OpHarness;
let keyId: string;
let verdict: Verdict = { decision: 'allow' };
before(async () => {
  h = await openOps({ policy: { judge: () => verdict } });
  keyId = (
    await h.core.importKey(h.admin.as('i0'), {
      name: 'eth-tx',
      algorithm: 'secp256k1',
      privateKey: hex(PRIV),
    })
  ).id;
});
after(() => h.close());

describe('ethereum.transaction', () => {
  test("ethers' raw transaction for the same key; viem recovers the key's address; audited as allowed", async () => {
    const r = await h.core.signEthereumTransaction(h.admin.as('t1'), keyId, { transaction: TX });
    const expected = await wallet.signTransaction({
      type: 0,
      chainId: 1,
      nonce: 7,
      gasLimit: 21000,
      gasPrice: 1_000_000_000n,
      to: TO,
      value: 12345n,
    });
    assert.equal(r.rawTransaction, expected);
    assert.equal(r.from, wallet.address);
    assert.equal(
      await recoverTransactionAddress({ serializedTransaction: r.rawTransaction as never }),
      wallet.address,
    );
    const parsed = parseTransaction(r.rawTransaction as Hex);
    assert.equal(parsed.value, 12345n);
    assert.equal(parsed.to, TO.toLowerCase());
    assert.deepEqual(h.audited('t1'), [allowed('ethereum.transaction', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(
      h,
      'ethereum.transaction',
      (c) => h.core.signEthereumTransaction(c, keyId, { transaction: TX }),
      keyId,
    );
  });

  test("the policy's denial: POLICY_DENIED, nothing signed; a deactivated key: INVALID_STATE; a bad transaction: INVALID_REQUEST", async () => {
    const before = h.calls.sign;
    verdict = { decision: 'deny', reason: 'no' };
    await assertRefused(
      h,
      'ethereum.transaction',
      (c) => h.core.signEthereumTransaction(c, keyId, { transaction: TX }),
      'POLICY_DENIED',
      'denied',
      keyId,
    );
    verdict = { decision: 'allow' };
    assert.equal(h.calls.sign, before);
    await assertRefused(
      h,
      'ethereum.transaction',
      (c) => h.core.signEthereumTransaction(c, keyId, { transaction: { ...TX, from: TO } }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
    const k = await h.core.createKey(h.admin.as('c1'), { name: 'eth-tx-off', algorithm: 'secp256k1' });
    await h.core.setKeyState(h.admin.as('s1'), k.id, 'deactivated');
    await assertRefused(
      h,
      'ethereum.transaction',
      (c) => h.core.signEthereumTransaction(c, k.id, { transaction: TX }),
      'INVALID_STATE',
      'denied',
      k.id,
    );
  });
});
