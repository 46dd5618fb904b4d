// ethereum.transaction (src/core/chains/ethereum-transaction.ts) through the dispatcher: the raw
// transaction is the one ethers' Wallet signs with the same key (RFC 6979), and viem recovers the
// key's address from it; audited as allowed; without keys:sign it is refused; a policy's denial is
// POLICY_DENIED (audited as denied, nothing signed) and a deactivated key INVALID_STATE.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { parseTransaction, recoverTransactionAddress, type TransactionSerializedLegacy } from 'viem';
import type { Credential } from '../../../src/core/context.js';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, assertSigningRefusals, useOps } from '../_ops.js';

const wallet = new Wallet(hex(privateKey('eth-tx')));
const TO = '0x000000000000000000000000000000000000dEaD';
const TX = { chainId: 1, nonce: 7, gas: 21000, gasPrice: '1000000000', to: TO, value: '12345' };

let keyId: string;
const h = useOps({}, async () => {
  keyId = await h.importKey('eth-tx', wallet.privateKey);
});
const sign = (transaction: unknown) => (c: Credential) =>
  h.core.signEthereumTransaction(c, keyId, { transaction });

describe('ethereum.transaction', () => {
  test("ethers' raw transaction for the same key; viem recovers the key's address; audited as allowed", async () => {
    const r = await sign(TX)(h.admin.as('t1'));
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
    // A legacy (type 0) transaction, as asked for.
    const raw = r.rawTransaction as TransactionSerializedLegacy;
    assert.equal(await recoverTransactionAddress({ serializedTransaction: raw }), wallet.address);
    const parsed = parseTransaction(raw);
    assert.equal(parsed.value, 12345n);
    assert.equal(parsed.to, TO.toLowerCase());
    assert.deepEqual(h.audited('t1'), [allowed('ethereum.transaction', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'ethereum.transaction', sign(TX), keyId);
  });

  test("the policy's denial: POLICY_DENIED; a deactivated key: INVALID_STATE; another from: INVALID_REQUEST", async () => {
    await assertSigningRefusals(h, 'ethereum.transaction', keyId, sign(TX));
    await assertRefused(
      h,
      'ethereum.transaction',
      sign({ ...TX, from: TO }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
  });
});
