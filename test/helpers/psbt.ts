// Building and judging PSBTs with bitcoinjs-lib, the independent judge of Keymesh's PSBT signing:
// the signature validator bitcoinjs-lib is given, `judge` (every signature valid, every input
// finalized, the transaction extracted), and the inputs the tests spend to one key's scripts.
import assert from 'node:assert/strict';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';

bitcoin.initEccLib(ecc);

/** The x-only (BIP340) form of a 33-byte compressed public key. */
export const xonly = (pub: Uint8Array) => pub.slice(1, 33);

/** A made-up previous transaction id: 32 bytes of `n`. */
export const txid = (n: number) => new Uint8Array(32).fill(n);

/** bitcoinjs' signature validator: Schnorr for x-only keys, ECDSA otherwise. */
export const validator = (pubkey: Uint8Array, msghash: Uint8Array, signature: Uint8Array): boolean =>
  pubkey.length === 32
    ? ecc.verifySchnorr(msghash, pubkey, signature)
    : ecc.verify(msghash, pubkey, signature);

/** bitcoinjs-lib's verdict: every signature valid, every input finalized, the transaction extracted. */
export function judge(psbt: bitcoin.Psbt): bitcoin.Transaction {
  assert.equal(
    psbt.validateSignaturesOfAllInputs(validator),
    true,
    'bitcoinjs-lib validates every signature',
  );
  psbt.finalizeAllInputs();
  return psbt.extractTransaction();
}

/** P2SH-wrapped P2WPKH of `pubkey`. */
export const p2shP2wpkh = (pubkey: Uint8Array, network: bitcoin.Network) =>
  bitcoin.payments.p2sh({ redeem: bitcoin.payments.p2wpkh({ pubkey, network }), network });

type Payment = bitcoin.payments.Payment;

/** An input spending a segwit output `payment` (P2WPKH, P2WSH...) with its witnessUtxo. */
export const witnessInput = (hash: Uint8Array, index: number, payment: Payment, value: bigint) => ({
  hash,
  index,
  witnessUtxo: { script: payment.output!, value },
});

/** An input spending a P2SH-P2WPKH output, with its redeemScript. */
export const shWpkhInput = (hash: Uint8Array, index: number, payment: Payment, value: bigint) => ({
  ...witnessInput(hash, index, payment, value),
  redeemScript: payment.redeem!.output!,
});

/** An input spending a P2TR key-path output of `internalKey` (x-only). */
export const trInput = (
  hash: Uint8Array,
  index: number,
  payment: Payment,
  value: bigint,
  internalKey: Uint8Array,
) => ({ ...witnessInput(hash, index, payment, value), tapInternalKey: internalKey });
