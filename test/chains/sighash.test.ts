// The cached BIP143/BIP341 digests against @scure/btc-signer's own (uncached) preimage functions,
// for random transactions and every sighash type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Transaction } from '@scure/btc-signer/transaction.js';
import { OutScript } from '@scure/btc-signer/payment.js';
import { SighashCache } from '../../src/chains/bitcoin/sighash.js';
import { schnorr } from '@noble/curves/secp256k1.js';
import { hex, prng } from './_assert.js';

/** btc-signer's legacy preimage is private in its types, public at run time. */
const legacyOf = (tx: Transaction) =>
  tx as unknown as { preimageLegacy(i: number, script: Uint8Array, t: number): Uint8Array };

test('SighashCache equals btc-signer preimageWitnessV0/V1 and preimageLegacy for random transactions and all sighash types', () => {
  const rnd = prng(341);
  const num = (n: number) => rnd(4).reduce((a, b) => a * 256 + b, 0) % n;
  for (let round = 0; round < 40; round++) {
    const tx = new Transaction({
      version: 1 + num(2),
      lockTime: num(600_000_000),
      allowUnknownOutputs: true,
    });
    const nIn = 1 + num(6);
    const nOut = 1 + num(6);
    const prevouts = Array.from({ length: nIn }, (_, i) => ({
      script:
        i % 2
          ? OutScript.encode({ type: 'tr', pubkey: schnorr.getPublicKey(rnd(32)) })
          : OutScript.encode({ type: 'wpkh', hash: rnd(20) }),
      amount: BigInt(1 + num(2_000_000_000)),
    }));
    for (let i = 0; i < nIn; i++) {
      tx.addInput({
        txid: rnd(32),
        index: num(10),
        sequence: num(2) ? 0xffffffff : num(0xfffffffe),
        witnessUtxo: prevouts[i]!,
      });
    }
    for (let i = 0; i < nOut; i++)
      tx.addOutput({
        script: OutScript.encode({ type: 'wpkh', hash: rnd(20) }),
        amount: BigInt(num(1_000_000)),
      });
    const inputs = Array.from({ length: nIn }, (_, i) => {
      const inp = tx.getInput(i);
      return { txid: inp.txid!, index: inp.index!, sequence: inp.sequence! };
    });
    const outputs = Array.from({ length: nOut }, (_, i) => ({
      script: tx.getOutput(i).script!,
      amount: tx.getOutput(i).amount!,
    }));
    const cache = new SighashCache(tx.version, tx.lockTime, inputs, outputs, prevouts);
    const scripts = prevouts.map((p) => p.script);
    const amounts = prevouts.map((p) => p.amount);
    for (let i = 0; i < nIn; i++) {
      const scriptCode = OutScript.encode({ type: 'pkh', hash: rnd(20) });
      for (const t of [0x01, 0x02, 0x03, 0x81, 0x82, 0x83]) {
        if ((t & 3) === 3 && i >= nOut) continue;
        assert.equal(
          hex(cache.witnessV0(i, scriptCode, amounts[i]!, t)),
          hex(tx.preimageWitnessV0(i, scriptCode, t, amounts[i]!)),
        );
        // Legacy (P2PKH) over the same transaction: the scriptCode is the previous output's script.
        assert.equal(hex(cache.legacy(i, scriptCode, t)), hex(legacyOf(tx).preimageLegacy(i, scriptCode, t)));
      }
      for (const t of [0x00, 0x01, 0x02, 0x03, 0x81, 0x82, 0x83]) {
        if ((t & 3) === 3 && i >= nOut) continue;
        assert.equal(hex(cache.taprootKeyPath(i, t)), hex(tx.preimageWitnessV1(i, scripts, t, amounts)));
      }
    }
  }
});
