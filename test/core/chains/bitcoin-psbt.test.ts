// bitcoin.psbt (src/core/chains/bitcoin-psbt.ts) through the dispatcher: the signed PSBT passes
// bitcoinjs-lib's judge (every signature valid, finalized, extracted); audited as allowed; without
// keys:sign it is refused; a policy's denial is POLICY_DENIED, a deactivated key INVALID_STATE, a
// PSBT that is not base64 INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as bitcoin from 'bitcoinjs-lib';
import type { Credential } from '../../../src/core/context.js';
import { judge, txid, witnessInput } from '../../helpers/psbt.js';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, assertSigningRefusals, useOps } from '../_ops.js';

const net = bitcoin.networks.regtest;
const PRIV = privateKey('btc');
const wpkh = bitcoin.payments.p2wpkh({ pubkey: secp256k1.getPublicKey(PRIV, true), network: net });

/** One input paying this key's P2WPKH, with the UTXO a signer needs. */
function psbt(): string {
  const p = new bitcoin.Psbt({ network: net });
  p.addInput(witnessInput(txid(3), 0, wpkh, 100_000n));
  p.addOutput({ address: wpkh.address!, value: 99_000n });
  return p.toBase64();
}

let keyId: string;
const h = useOps({}, async () => {
  keyId = await h.importKey('btc', hex(PRIV));
});
const sign =
  (base64 = psbt()) =>
  (c: Credential) =>
    h.core.signBitcoinPsbt(c, keyId, { psbt: base64, network: 'regtest' });

describe('bitcoin.psbt', () => {
  test('a P2WPKH spend: bitcoinjs-lib validates, finalizes and extracts it; audited as allowed', async () => {
    const r = await sign()(h.admin.as('b1'));
    assert.deepEqual(r.signedInputs, [0]);
    const tx = judge(bitcoin.Psbt.fromBase64(r.psbt, { network: net }));
    assert.equal(tx.outs[0]!.value, 99_000n);
    assert.deepEqual(h.audited('b1'), [allowed('bitcoin.psbt', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'bitcoin.psbt', sign(), keyId);
  });

  test("the policy's denial: POLICY_DENIED; a deactivated key: INVALID_STATE; not base64: INVALID_REQUEST", async () => {
    await assertSigningRefusals(h, 'bitcoin.psbt', keyId, sign());
    await assertRefused(h, 'bitcoin.psbt', sign('%%%'), 'INVALID_REQUEST', 'error', keyId);
  });
});
