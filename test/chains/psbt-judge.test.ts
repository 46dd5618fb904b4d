// bitcoinjs-lib as an independent judge of PSBT signing: PSBTs are built with bitcoinjs-lib, planned
// and completed by our module with enclave-style signatures (noble), then bitcoinjs-lib validates
// every signature against its own sighash computation, finalizes the inputs and extracts the
// transaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { HDKey } from '@scure/bip32';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { mnemonicToSeed } from '../hd/oracles/bip39.js';
import { parsePath } from '../../src/hd/path.js';
import {
  applyPsbtSignatures,
  planPsbtSigning,
  publicKeyMatches,
  type BitcoinNetwork,
  type PsbtSignature,
  type PsbtSigner,
  type PsbtSigningPlan,
} from '../../src/chains/bitcoin/index.js';
import { ecdsaSign, schnorrTaprootSign } from './_enclave.js';
import { assertKeymeshError } from './_assert.js';
import {
  judge,
  p2shP2wpkh,
  shWpkhInput,
  trInput,
  txid,
  validator,
  witnessInput,
  xonly,
} from '../helpers/psbt.js';

bitcoin.initEccLib(ecc);

const NETS: Record<BitcoinNetwork, bitcoin.Network> = {
  bitcoin: bitcoin.networks.bitcoin,
  testnet: bitcoin.networks.testnet,
  regtest: bitcoin.networks.regtest,
};

const keyOf = (label: string) => sha256(new TextEncoder().encode(label));
const pubOf = (priv: Uint8Array) => secp256k1.getPublicKey(priv, true);

/** Sign a plan the way the enclave would: single key `priv`, or derive each request's path from `seed`. */
function enclaveSign(plan: PsbtSigningPlan, key: { priv?: Uint8Array; seed?: Uint8Array }): PsbtSignature[] {
  return plan.requests.map((req) => {
    let priv = key.priv!;
    if (req.path !== undefined) {
      const child = HDKey.fromMasterSeed(key.seed!).derive(req.path);
      priv = child.privateKey!;
      assert.ok(publicKeyMatches(req, child.publicKey!), `request for ${req.path} names the derived key`);
    }
    return req.scheme === 'ecdsa' ? ecdsaSign(req.digest, priv) : schnorrTaprootSign(req.digest, priv);
  });
}

function signWith(
  psbt: bitcoin.Psbt,
  network: BitcoinNetwork,
  signer: PsbtSigner,
  key: { priv?: Uint8Array; seed?: Uint8Array },
) {
  const plan = planPsbtSigning(psbt.toBase64(), network, signer);
  const out = applyPsbtSignatures(plan, enclaveSign(plan, key));
  return { plan, out, psbt: bitcoin.Psbt.fromBase64(out.psbt, { network: NETS[network] }) };
}

test('single key: P2WPKH, P2SH-P2WPKH, P2TR (BIP86) and P2PKH inputs, validated and finalized by bitcoinjs-lib', () => {
  const network: BitcoinNetwork = 'regtest';
  const net = NETS[network];
  const priv = keyOf('psbt single key');
  const pub = pubOf(priv);
  const wpkh = bitcoin.payments.p2wpkh({ pubkey: pub, network: net });
  const shwpkh = p2shP2wpkh(pub, net);
  const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(pub), network: net });
  const pkh = bitcoin.payments.p2pkh({ pubkey: pub, network: net });
  // The legacy input's full previous transaction.
  const prev = new bitcoin.Transaction();
  prev.addInput(txid(9), 0);
  prev.addOutput(pkh.output!, 70_000n);

  const psbt = new bitcoin.Psbt({ network: net });
  psbt.addInput(witnessInput(txid(1), 0, wpkh, 100_000n));
  psbt.addInput(shWpkhInput(txid(2), 1, shwpkh, 50_000n));
  psbt.addInput(trInput(txid(3), 2, tr, 80_000n, xonly(pub)));
  psbt.addInput({ hash: prev.getHash(), index: 0, nonWitnessUtxo: prev.toBuffer() });
  psbt.addOutput({ address: wpkh.address!, value: 290_000n });
  psbt.addOutput({ address: tr.address!, value: 9_000n });

  const { plan, out, psbt: signed } = signWith(psbt, network, { publicKey: pub }, { priv });
  assert.deepEqual(
    plan.requests.map((r) => [r.index, r.kind, r.scheme, r.sighashType]),
    [
      [0, 'p2wpkh', 'ecdsa', 1],
      [1, 'p2sh-p2wpkh', 'ecdsa', 1],
      [2, 'p2tr', 'schnorr-taproot', 0],
      [3, 'p2pkh', 'ecdsa', 1],
    ],
  );
  assert.deepEqual(out.signedInputs, [0, 1, 2, 3]);
  assert.equal(plan.summary.fee, 1_000n);
  assert.equal(plan.summary.outputs[0]!.address, wpkh.address);
  assert.equal(plan.summary.inputs[2]!.address, tr.address);
  const tx = judge(signed);
  assert.equal(tx.ins.length, 4);
  assert.equal(tx.ins[2]!.witness.length, 1); // key path: the signature alone
  // Signing again finds nothing left to sign.
  const again = planPsbtSigning(out.psbt, network, { publicKey: pub });
  assert.equal(again.requests.length, 0);
});

test('taproot and segwit v0 with every sighash type, validated by bitcoinjs-lib', () => {
  const network: BitcoinNetwork = 'testnet';
  const net = NETS[network];
  const priv = keyOf('psbt sighash key');
  const pub = pubOf(priv);
  const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(pub), network: net });
  const wpkh = bitcoin.payments.p2wpkh({ pubkey: pub, network: net });
  const types = [0x01, 0x02, 0x03, 0x81, 0x82, 0x83];
  const psbt = new bitcoin.Psbt({ network: net });
  types.forEach((t, i) => {
    psbt.addInput({
      hash: txid(10 + i),
      index: i,
      witnessUtxo: { script: tr.output!, value: 10_000n },
      tapInternalKey: xonly(pub),
      sighashType: t,
    });
    psbt.addInput({
      hash: txid(30 + i),
      index: i,
      witnessUtxo: { script: wpkh.output!, value: 10_000n },
      sighashType: t,
    });
  });
  for (let i = 0; i < 12; i++) psbt.addOutput({ address: wpkh.address!, value: 9_900n });
  const { plan, psbt: signed } = signWith(psbt, network, { publicKey: pub }, { priv });
  assert.equal(plan.requests.length, 12);
  assert.deepEqual(
    plan.requests.map((r) => r.sighashType),
    types.flatMap((t) => [t, t]),
  );
  judge(signed);
});

test('2-of-2 P2WSH multisig: each key adds its partial signature, then bitcoinjs-lib finalizes', () => {
  const network: BitcoinNetwork = 'bitcoin';
  const net = NETS[network];
  const [privA, privB] = [keyOf('cosigner A'), keyOf('cosigner B')];
  const [pubA, pubB] = [pubOf(privA), pubOf(privB)];
  const ms = bitcoin.payments.p2ms({ m: 2, pubkeys: [pubA, pubB], network: net });
  const wsh = bitcoin.payments.p2wsh({ redeem: ms, network: net });
  const psbt = new bitcoin.Psbt({ network: net });
  psbt.addInput({
    hash: txid(5),
    index: 0,
    witnessUtxo: { script: wsh.output!, value: 200_000n },
    witnessScript: ms.output!,
  });
  psbt.addInput({
    hash: txid(6),
    index: 3,
    witnessUtxo: { script: wsh.output!, value: 100_000n },
    witnessScript: ms.output!,
  });
  psbt.addOutput({ address: wsh.address!, value: 299_000n });

  const a = signWith(psbt, network, { publicKey: pubA }, { priv: privA });
  assert.deepEqual(a.out.signedInputs, [0, 1]);
  assert.equal(a.plan.requests[0]!.kind, 'p2wsh');
  assert.equal(a.psbt.data.inputs[0]!.partialSig!.length, 1);
  // Not yet complete: bitcoinjs-lib cannot finalize with one of two signatures.
  assert.throws(() => a.psbt.clone().finalizeAllInputs());
  // A's key has signed: planning for A again finds nothing; B signs its half.
  assert.equal(planPsbtSigning(a.out.psbt, network, { publicKey: pubA }).requests.length, 0);
  const b = signWith(a.psbt, network, { publicKey: pubB }, { priv: privB });
  assert.deepEqual(b.out.signedInputs, [0, 1]);
  assert.equal(b.psbt.data.inputs[0]!.partialSig!.length, 2);
  const tx = judge(b.psbt);
  assert.equal(tx.ins[0]!.witness.length, 4); // OP_0 dummy, two signatures, witness script
});

test('HD root: inputs found by master fingerprint and path (bip32Derivation / tapBip32Derivation)', () => {
  const network: BitcoinNetwork = 'testnet';
  const net = NETS[network];
  const seed = mnemonicToSeed(
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  );
  const root = HDKey.fromMasterSeed(seed);
  const fp = root.fingerprint;
  const fpBytes = Uint8Array.from(Buffer.from(fp.toString(16).padStart(8, '0'), 'hex'));
  const at = (path: string) => root.derive(path).publicKey!;
  const P84 = "m/84'/1'/0'/0/3";
  const P49 = "m/49'/1'/0'/1/0";
  const P86 = "m/86'/1'/0'/0/7";
  const P48 = "m/48'/1'/0'/2'/0/0";
  const wpkh = bitcoin.payments.p2wpkh({ pubkey: at(P84), network: net });
  const shwpkh = p2shP2wpkh(at(P49), net);
  const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(at(P86)), network: net });
  const cosigner = pubOf(keyOf('external cosigner'));
  const ms = bitcoin.payments.p2ms({ m: 2, pubkeys: [at(P48), cosigner].sort(Buffer.compare), network: net });
  const wsh = bitcoin.payments.p2wsh({ redeem: ms, network: net });
  const foreign = bitcoin.payments.p2wpkh({ pubkey: pubOf(keyOf('somebody else')), network: net });

  const psbt = new bitcoin.Psbt({ network: net });
  const der = (pubkey: Uint8Array, path: string) => [{ masterFingerprint: fpBytes, pubkey, path }];
  psbt.addInput({
    hash: txid(1),
    index: 0,
    witnessUtxo: { script: wpkh.output!, value: 40_000n },
    bip32Derivation: der(at(P84), P84),
  });
  psbt.addInput({
    hash: txid(2),
    index: 0,
    witnessUtxo: { script: shwpkh.output!, value: 40_000n },
    redeemScript: shwpkh.redeem!.output!,
    bip32Derivation: der(at(P49), P49),
  });
  psbt.addInput({
    hash: txid(3),
    index: 0,
    witnessUtxo: { script: tr.output!, value: 40_000n },
    tapInternalKey: xonly(at(P86)),
    tapBip32Derivation: [{ masterFingerprint: fpBytes, pubkey: xonly(at(P86)), path: P86, leafHashes: [] }],
  });
  psbt.addInput({
    hash: txid(4),
    index: 0,
    witnessUtxo: { script: wsh.output!, value: 40_000n },
    witnessScript: ms.output!,
    bip32Derivation: [
      ...der(at(P48), P48),
      { masterFingerprint: Uint8Array.of(1, 2, 3, 4), pubkey: cosigner, path: "m/48'/1'/0'/2'/0/0" },
    ],
  });
  psbt.addInput(witnessInput(txid(5), 0, foreign, 40_000n));
  psbt.addOutput({ address: wpkh.address!, value: 199_000n });

  const { plan, out, psbt: signed } = signWith(psbt, network, { masterFingerprint: fp }, { seed });
  assert.deepEqual(
    plan.requests.map((r) => [r.index, r.path]),
    [
      [0, P84],
      [1, P49],
      [2, P86],
      [3, P48],
    ],
  );
  assert.deepEqual(out.signedInputs, [0, 1, 2, 3]);
  for (const i of [0, 1, 2]) assert.equal(signed.validateSignaturesOfInput(i, validator), true);
  assert.equal(signed.validateSignaturesOfInput(3, validator), true);
  assert.equal(signed.data.inputs[3]!.partialSig!.length, 1); // the cosigner's half is theirs
  assert.equal(signed.data.inputs[4]!.partialSig, undefined); // not ours: untouched
  for (const i of [0, 1, 2]) signed.finalizeInput(i);

  // The same PSBT on the wrong network: its paths use coin type 1'.
  assertKeymeshError(
    () => planPsbtSigning(psbt.toBase64(), 'bitcoin', { masterFingerprint: fp }),
    /input 0 has m\/84'\/1'\/0'\/0\/3, a test network path, not bitcoin/,
  );

  // A derivation record that lies about the key: the signature made at that path does not match.
  const liar = new bitcoin.Psbt({ network: net });
  liar.addInput({
    hash: txid(1),
    index: 0,
    witnessUtxo: { script: wpkh.output!, value: 40_000n },
    bip32Derivation: der(at(P84), "m/84'/1'/0'/0/4"),
  });
  liar.addOutput({ address: wpkh.address!, value: 39_000n });
  const lplan = planPsbtSigning(liar.toBase64(), network, { masterFingerprint: fp });
  assert.equal(lplan.requests.length, 1);
  const lsig = lplan.requests.map((r) => ecdsaSign(r.digest, root.derive(r.path!).privateKey!));
  assertKeymeshError(
    () => applyPsbtSignatures(lplan, lsig),
    /input 0: the key at m\/84'\/1'\/0'\/0\/4 is not the public key/,
  );
  assert.equal(publicKeyMatches(lplan.requests[0]!, root.derive("m/84'/1'/0'/0/4").publicKey!), false);
  assert.deepEqual(parsePath(lplan.requests[0]!.path!).length, 5);
});

test('policy hooks: a request left unsigned stays unsigned', () => {
  const network: BitcoinNetwork = 'regtest';
  const net = NETS[network];
  const priv = keyOf('partial');
  const wpkh = bitcoin.payments.p2wpkh({ pubkey: pubOf(priv), network: net });
  const psbt = new bitcoin.Psbt({ network: net });
  psbt.addInput(witnessInput(txid(1), 0, wpkh, 10_000n));
  psbt.addInput(witnessInput(txid(2), 0, wpkh, 10_000n));
  psbt.addOutput({ address: wpkh.address!, value: 19_000n });
  const plan = planPsbtSigning(psbt.toBase64(), network, { publicKey: pubOf(priv) });
  const sigs = enclaveSign(plan, { priv });
  const out = applyPsbtSignatures(plan, [undefined, sigs[1]]);
  assert.deepEqual(out.signedInputs, [1]);
  const back = bitcoin.Psbt.fromBase64(out.psbt, { network: net });
  assert.equal(back.data.inputs[0]!.partialSig, undefined);
  assert.equal(back.validateSignaturesOfInput(1, validator), true);
  assertKeymeshError(
    () => applyPsbtSignatures(plan, sigs.slice(1)),
    /one result per signing request/,
    'INTERNAL',
  );
  // A bad signature from the enclave is the enclave's failure.
  const bad = { signature: new Uint8Array(64).fill(1), recoveryId: 0 };
  assertKeymeshError(() => applyPsbtSignatures(plan, [bad, undefined]), undefined, 'ENCLAVE_FAILURE');
});
