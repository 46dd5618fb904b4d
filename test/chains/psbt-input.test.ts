// Hostile PSBTs: every refusal is INVALID_REQUEST naming the problem (and the input), garbage and
// mutated PSBTs only ever give KeymeshErrors, and the size bounds hold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as bitcoin from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { HDKey } from '@scure/bip32';
import { createBase58check } from '@scure/base';
import { Transaction } from '@scure/btc-signer/transaction.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KeymeshError } from '../../src/errors.js';
import { bitcoinAddresses, parseBitcoinNetwork, planPsbtSigning } from '../../src/chains/bitcoin/index.js';
import { assertKeymeshError, prng } from './_assert.js';
import { p2shP2wpkh, trInput, txid, witnessInput } from '../helpers/psbt.js';

bitcoin.initEccLib(ecc);
const net = bitcoin.networks.bitcoin;
const priv = sha256(new TextEncoder().encode('psbt input tests'));
const pub = secp256k1.getPublicKey(priv, true);
const wpkh = bitcoin.payments.p2wpkh({ pubkey: pub, network: net });
const tr = bitcoin.payments.p2tr({ internalPubkey: pub.slice(1), network: net });

function basePsbt(): bitcoin.Psbt {
  const psbt = new bitcoin.Psbt({ network: net });
  psbt.addInput(witnessInput(txid(1), 0, wpkh, 10_000n));
  psbt.addInput(trInput(txid(2), 0, tr, 10_000n, pub.slice(1)));
  psbt.addOutput({ address: wpkh.address!, value: 19_000n });
  return psbt;
}
const plan =
  (p: unknown, network: 'bitcoin' | 'testnet' | 'regtest' = 'bitcoin') =>
  () =>
    planPsbtSigning(p, network, { publicKey: pub });

test('psbt: encoding and size', () => {
  assertKeymeshError(plan(undefined), /psbt must be a base64 string/);
  assertKeymeshError(plan(42), /psbt must be a base64 string/);
  assertKeymeshError(plan(''), /standard base64/);
  assertKeymeshError(plan('cHNidP8'), /standard base64/); // unpadded
  assertKeymeshError(plan('cHNi dP8A'), /standard base64/);
  assertKeymeshError(plan('cHNidP8-AAAA'), /standard base64/); // base64url
  assertKeymeshError(plan(Buffer.from('not a psbt at all').toString('base64')), /magic bytes/);
  assertKeymeshError(plan(Buffer.from('psbt\xff', 'latin1').toString('base64')), /not a valid BIP174 PSBT/);
  assertKeymeshError(plan('A'.repeat(1024 * 1024 + 4)), /longer than 1048576/);
  const good = basePsbt().toBase64();
  assert.equal(planPsbtSigning(good, 'bitcoin', { publicKey: pub }).requests.length, 2);
  assertKeymeshError(plan(good.slice(0, -8) + 'AAAAAAA='), /not a valid BIP174 PSBT/);
  assertKeymeshError(() => planPsbtSigning(good, 'bitcoin', {}), /public key or a master fingerprint/);
  assertKeymeshError(
    () => planPsbtSigning(good, 'bitcoin', { publicKey: new Uint8Array(33) }),
    /signer public key/,
  );
});

test('psbt: an input without UTXO data is refused, naming it', () => {
  const psbt = basePsbt();
  psbt.addInput({ hash: txid(3), index: 1 });
  assertKeymeshError(
    plan(psbt.toBase64()),
    /psbt input 2 has no UTXO data \(witnessUtxo or nonWitnessUtxo\)/,
  );
});

test('psbt: scripts that do not match their outputs are refused on inputs we would sign', () => {
  const sh = p2shP2wpkh(pub, net);
  const other = bitcoin.payments.p2wpkh({
    pubkey: secp256k1.getPublicKey(sha256(Uint8Array.of(2)), true),
    network: net,
  });
  const p = new bitcoin.Psbt({ network: net });
  p.addInput(witnessInput(txid(1), 0, sh, 10_000n));
  p.addOutput({ address: wpkh.address!, value: 9_000n });
  // bitcoinjs-lib checks scripts as they are added, so the mismatched one is set through btc-signer.
  const t = Transaction.fromPSBT(Buffer.from(p.toBase64(), 'base64'), { disableScriptCheck: true });
  t.updateInput(0, { redeemScript: other.output! });
  assertKeymeshError(
    plan(Buffer.from(t.toPSBT()).toString('base64')),
    /input 0 has a redeemScript that does not match its output/,
  );

  const ms = bitcoin.payments.p2ms({ m: 1, pubkeys: [pub], network: net });
  const ms2 = bitcoin.payments.p2ms({ m: 1, pubkeys: [pub, pub], network: net });
  const wsh = bitcoin.payments.p2wsh({ redeem: ms, network: net });
  const q = new bitcoin.Psbt({ network: net });
  q.addInput(witnessInput(txid(1), 0, wsh, 10_000n));
  q.addOutput({ address: wpkh.address!, value: 9_000n });
  const u = Transaction.fromPSBT(Buffer.from(q.toBase64(), 'base64'), { disableScriptCheck: true });
  u.updateInput(0, { witnessScript: ms2.output! });
  assertKeymeshError(
    plan(Buffer.from(u.toPSBT()).toString('base64')),
    /input 0 has a witnessScript that does not match its output/,
  );
});

test('psbt: outputs above inputs, and input/output counts', () => {
  const psbt = basePsbt();
  psbt.addOutput({ address: wpkh.address!, value: 2_000n });
  assertKeymeshError(plan(psbt.toBase64()), /outputs spend more than its inputs/);
  // Built with btc-signer: bitcoinjs-lib's addInput is quadratic, too slow for 1001 inputs.
  const many = new Transaction();
  for (let i = 0; i < 1001; i++)
    many.addInput({ txid: txid(i % 250), index: i, witnessUtxo: { script: wpkh.output!, amount: 1_000n } });
  many.addOutput({ script: wpkh.output!, amount: 1_000n });
  assertKeymeshError(plan(Buffer.from(many.toPSBT()).toString('base64')), /more than 1000 inputs/);
});

test('psbt: sighash types are checked on the inputs we would sign', () => {
  // bitcoinjs-lib refuses to write some of these types, so btc-signer sets them.
  const bad = (t: number, withTaproot: boolean) => {
    const p = new bitcoin.Psbt({ network: net });
    if (withTaproot) p.addInput(trInput(txid(1), 0, tr, 10_000n, pub.slice(1)));
    else p.addInput(witnessInput(txid(1), 0, wpkh, 10_000n));
    p.addOutput({ address: wpkh.address!, value: 9_000n });
    const tx = Transaction.fromPSBT(Buffer.from(p.toBase64(), 'base64'));
    tx.updateInput(0, { sighashType: t });
    return Buffer.from(tx.toPSBT()).toString('base64');
  };
  assertKeymeshError(
    plan(bad(0x00, false)),
    /input 0 asks for sighash type 0, which is not valid for segwit v0/,
  );
  assertKeymeshError(plan(bad(0x04, false)), /sighash type 4/);
  assertKeymeshError(plan(bad(0x84, true)), /sighash type 132, which is not valid for taproot/);
  // SIGHASH_SINGLE needs the output of the same index.
  const single = new bitcoin.Psbt({ network: net });
  single.addInput(witnessInput(txid(1), 0, wpkh, 10_000n));
  single.addInput({
    hash: txid(2),
    index: 0,
    witnessUtxo: { script: wpkh.output!, value: 10_000n },
    sighashType: 0x03,
  });
  single.addOutput({ address: wpkh.address!, value: 19_000n });
  assertKeymeshError(plan(single.toBase64()), /input 1 asks for SIGHASH_SINGLE but there is no output 1/);
  // The same input, when it is not ours, is not our business.
  const other = secp256k1.getPublicKey(sha256(Uint8Array.of(1)), true);
  assert.equal(planPsbtSigning(single.toBase64(), 'bitcoin', { publicKey: other }).requests.length, 0);
});

test('psbt: keys and paths of another network', () => {
  const root = HDKey.fromMasterSeed(new Uint8Array(32).fill(3));
  const fp = Uint8Array.from(Buffer.from(root.fingerprint.toString(16).padStart(8, '0'), 'hex'));
  const withXpub = (versions: { private: number; public: number }, path: string) => {
    const p = basePsbt();
    const acct = HDKey.fromMasterSeed(new Uint8Array(32).fill(3), versions).derive(path);
    p.updateGlobal({
      globalXpub: [
        { extendedPubkey: decodeBase58Check(acct.publicExtendedKey), masterFingerprint: fp, path },
      ],
    });
    return p.toBase64();
  };
  const tpubs = { private: 0x04358394, public: 0x043587cf };
  const xpubs = { private: 0x0488ade4, public: 0x0488b21e };
  assertKeymeshError(
    plan(withXpub(tpubs, "m/84'/1'/0'")),
    /global extended public key for a test network, not bitcoin/,
  );
  assertKeymeshError(
    plan(withXpub(xpubs, "m/84'/0'/0'"), 'testnet'),
    /global extended public key for mainnet, not testnet/,
  );
  assert.equal(
    planPsbtSigning(withXpub(xpubs, "m/84'/0'/0'"), 'bitcoin', { publicKey: pub }).requests.length,
    2,
  );

  const withPath = (path: string, onOutput = false) => {
    const p = basePsbt();
    const d = [{ masterFingerprint: fp, pubkey: pub, path }];
    if (onOutput) p.updateOutput(0, { bip32Derivation: d });
    else p.updateInput(0, { bip32Derivation: d });
    return p.toBase64();
  };
  assertKeymeshError(
    plan(withPath("m/84'/1'/0'/0/0")),
    /input 0 has m\/84'\/1'\/0'\/0\/0, a test network path, not bitcoin/,
  );
  assertKeymeshError(plan(withPath("m/44'/0'/0'/0/0"), 'regtest'), /a mainnet path, not regtest/);
  assertKeymeshError(plan(withPath("m/44'/60'/0'/0/0")), /coin type is not Bitcoin's/);
  assertKeymeshError(plan(withPath("m/86'/1'/0'/1/0", true)), /output 0 has m\/86'\/1'/);
  // Paths outside the BIP44 family say nothing about the network.
  assert.equal(planPsbtSigning(withPath('m/0/1'), 'bitcoin', { publicKey: pub }).requests.length, 2);
});

const decodeBase58Check = (s: string): Uint8Array => createBase58check(sha256).decode(s);

test('network names and addresses', () => {
  assert.equal(parseBitcoinNetwork('regtest'), 'regtest');
  for (const bad of ['mainnet', 'Bitcoin', '', 1, null, 'signet '])
    assertKeymeshError(() => parseBitcoinNetwork(bad), /network must be one of/);
  assertKeymeshError(() => bitcoinAddresses(new Uint8Array(33), 'bitcoin'), /33-byte compressed|not a point/);
  assertKeymeshError(
    () => bitcoinAddresses(secp256k1.getPublicKey(priv, false), 'bitcoin'),
    /33-byte compressed/,
  );
  // bitcoinjs-lib agrees on every network.
  for (const [n, bn] of [
    ['bitcoin', bitcoin.networks.bitcoin],
    ['testnet', bitcoin.networks.testnet],
    ['regtest', bitcoin.networks.regtest],
  ] as const) {
    const a = bitcoinAddresses(pub, n);
    assert.equal(a.p2wpkh, bitcoin.payments.p2wpkh({ pubkey: pub, network: bn }).address);
    assert.equal(a.p2tr, bitcoin.payments.p2tr({ internalPubkey: pub.slice(1), network: bn }).address);
  }
});

test('fuzz: random bytes and mutated PSBTs give only KeymeshErrors', () => {
  const rnd = prng(0xb17c0);
  const good = Buffer.from(basePsbt().toBase64(), 'base64');
  const tryPlan = (bytes: Uint8Array | string) => {
    const s = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('base64');
    try {
      planPsbtSigning(s, 'bitcoin', { publicKey: pub, masterFingerprint: 0x01020304 });
    } catch (e) {
      assert.ok(e instanceof KeymeshError, `threw ${String(e)}`);
      assert.equal(e.code, 'INVALID_REQUEST');
    }
  };
  for (let i = 0; i < 1500; i++) {
    // Random bytes behind the magic.
    tryPlan(Uint8Array.of(0x70, 0x73, 0x62, 0x74, 0xff, ...rnd(i % 200)));
    // A valid PSBT with a few bytes flipped, cut short, or extended.
    const m = Uint8Array.from(good);
    const flips = 1 + (rnd(1)[0]! % 4);
    for (let f = 0; f < flips; f++)
      m[5 + (rnd(2).reduce((a, b) => a * 256 + b, 0) % (m.length - 5))] = rnd(1)[0]!;
    tryPlan(m);
    tryPlan(m.subarray(0, 5 + (rnd(2).reduce((a, b) => a * 256 + b, 0) % (m.length - 5))));
    tryPlan(Buffer.from(rnd(1 + (i % 64))).toString('latin1'));
  }
});

test('1000 taproot inputs plan in reasonable time', () => {
  const p = new bitcoin.Psbt({ network: net });
  for (let i = 0; i < 1000; i++)
    p.addInput({
      hash: txid(i % 256),
      index: i,
      witnessUtxo: { script: tr.output!, value: 1_000n },
      tapInternalKey: pub.slice(1),
    });
  p.addOutput({ address: wpkh.address!, value: 900_000n });
  const t0 = performance.now();
  const out = planPsbtSigning(p.toBase64(), 'bitcoin', { publicKey: pub });
  const ms = performance.now() - t0;
  assert.equal(out.requests.length, 1000);
  assert.ok(ms < 20_000, `planning took ${ms} ms`);
  console.log(`planned 1000 taproot inputs in ${ms.toFixed(0)} ms`);
});
