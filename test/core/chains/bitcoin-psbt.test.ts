// bitcoin.psbt (src/core/chains/bitcoin-psbt.ts) through the dispatcher: the signed PSBT passes
// bitcoinjs-lib's judge (every signature valid, finalized, extracted); audited as allowed; without
// keys:sign it is refused; a policy's denial is POLICY_DENIED, a deactivated key INVALID_STATE, a
// PSBT that is not base64 INVALID_REQUEST.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as bitcoin from 'bitcoinjs-lib';
import type { Verdict } from '../../../src/core/pipeline/signing.js';
import { judge, txid, witnessInput } from '../../helpers/psbt.js';
import { hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, openOps, type OpHarness } from '../_ops.js';

const net = bitcoin.networks.regtest;
const PRIV = privateKey('btc');
const wpkh = bitcoin.payments.p2wpkh({ pubkey: secp256k1.getPublicKey(PRIV, true), network: net });

function psbt(): string {
  const p = new bitcoin.Psbt({ network: net });
  p.addInput(witnessInput(txid(3), 0, wpkh, 100_000n));
  p.addOutput({ address: wpkh.address!, value: 99_000n });
  return p.toBase64();
}

let h: OpHarness;
let keyId: string;
let verdict: Verdict = { decision: 'allow' };
before(async () => {
  h = await openOps({ policy: { judge: () => verdict } });
  keyId = (
    await h.core.importKey(h.admin.as('i0'), { name: 'btc', algorithm: 'secp256k1', privateKey: hex(PRIV) })
  ).id;
});
after(() => h.close());

describe('bitcoin.psbt', () => {
  test('a P2WPKH spend: bitcoinjs-lib validates, finalizes and extracts it; audited as allowed', async () => {
    const r = await h.core.signBitcoinPsbt(h.admin.as('b1'), keyId, { psbt: psbt(), network: 'regtest' });
    assert.deepEqual(r.signedInputs, [0]);
    const tx = judge(bitcoin.Psbt.fromBase64(r.psbt, { network: net }));
    assert.equal(tx.outs[0]!.value, 99_000n);
    assert.deepEqual(h.audited('b1'), [allowed('bitcoin.psbt', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(
      h,
      'bitcoin.psbt',
      (c) => h.core.signBitcoinPsbt(c, keyId, { psbt: psbt(), network: 'regtest' }),
      keyId,
    );
  });

  test("the policy's denial: POLICY_DENIED; not base64: INVALID_REQUEST; a deactivated key: INVALID_STATE", async () => {
    verdict = { decision: 'deny', reason: 'no' };
    await assertRefused(
      h,
      'bitcoin.psbt',
      (c) => h.core.signBitcoinPsbt(c, keyId, { psbt: psbt(), network: 'regtest' }),
      'POLICY_DENIED',
      'denied',
      keyId,
    );
    verdict = { decision: 'allow' };
    await assertRefused(
      h,
      'bitcoin.psbt',
      (c) => h.core.signBitcoinPsbt(c, keyId, { psbt: '%%%', network: 'regtest' }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
    await h.core.setKeyState(h.admin.as('s1'), keyId, 'deactivated');
    await assertRefused(
      h,
      'bitcoin.psbt',
      (c) => h.core.signBitcoinPsbt(c, keyId, { psbt: psbt(), network: 'regtest' }),
      'INVALID_STATE',
      'denied',
      keyId,
    );
  });
});
