// End to end, against a real node process: PSBT signing over REST. PSBTs are built with
// bitcoinjs-lib for an imported Keymesh secp256k1 key (P2WPKH, P2SH-P2WPKH, P2TR key path with the
// BIP86 tweak, and a 2-of-2 P2WSH multisig with a co-signer outside Keymesh); Keymesh signs what
// it can on regtest; bitcoinjs-lib, the independent judge, validates every signature against its
// own sighash, finalizes the inputs and extracts the transaction. Bad input is a documented 400.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import * as bitcoin from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { startNode, type TestNode } from '../helpers/node.js';
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
const ECPair = ECPairFactory(ecc);
const net = bitcoin.networks.regtest;

type Err = { error: { code: string; message: string } };
type Signed = { psbt: string; signedInputs: number[] };

const PRIV = createHash('sha256').update('keymesh e2e bitcoin key').digest();
const pair = ECPair.fromPrivateKey(PRIV, { network: net });
const pub = Uint8Array.from(pair.publicKey);

let node: TestNode;
let keyId: string;

function assertError(r: { status: number; body: unknown }, status: number, code?: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const e = (r.body as Err).error;
  assert.match(e?.code ?? '', /^[A-Z_]+$/, JSON.stringify(r.body));
  assert.ok(e.message.length > 0);
  if (code) assert.equal(e.code, code, e.message);
}

const signPsbt = (id: string, body: unknown, tok?: string | null) =>
  node.api<Signed>('POST', `/v1/keys/${id}/bitcoin/psbt`, body, tok);

const wpkh = bitcoin.payments.p2wpkh({ pubkey: pub, network: net });

/** One input paying to this key's P2WPKH, with the UTXO data a signer needs. */
function simplePsbt(): bitcoin.Psbt {
  const p = new bitcoin.Psbt({ network: net });
  p.addInput(witnessInput(txid(1), 0, wpkh, 100_000n));
  p.addOutput({ address: wpkh.address!, value: 99_000n });
  return p;
}

before(async () => {
  node = await startNode();
  const r = await node.api<{ id: string }>('POST', '/v1/keys/import', {
    name: 'btc-judge',
    algorithm: 'secp256k1',
    privateKey: '0x' + PRIV.toString('hex'),
  });
  assert.equal(r.status, 201);
  keyId = r.body.id;
});
after(async () => {
  await node.stop();
});

describe('Keymesh signs, bitcoinjs-lib validates, finalizes and extracts', () => {
  test('P2WPKH, P2SH-P2WPKH and P2TR key path (BIP86) inputs of one key, matched by script', async () => {
    const shwpkh = p2shP2wpkh(pub, net);
    const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(pub), network: net });
    const stranger = bitcoin.payments.p2wpkh({ pubkey: ECPair.makeRandom().publicKey, network: net });
    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput(witnessInput(txid(1), 0, wpkh, 100_000n));
    psbt.addInput(shWpkhInput(txid(2), 1, shwpkh, 50_000n));
    psbt.addInput(trInput(txid(3), 2, tr, 80_000n, xonly(pub)));
    // Someone else's input: left for them.
    psbt.addInput(witnessInput(txid(4), 0, stranger, 1_000n));
    psbt.addOutput({ address: tr.address!, value: 229_000n });

    const r = await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'regtest' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.signedInputs, [0, 1, 2]);
    const signed = bitcoin.Psbt.fromBase64(r.body.psbt, { network: net });
    assert.equal(
      signed.data.inputs[2]!.tapKeySig?.length,
      64,
      'SIGHASH_DEFAULT: a bare 64-byte BIP340 signature',
    );
    assert.equal(signed.data.inputs[3]!.partialSig, undefined);
    // Judge the inputs that are ours (the stranger's cannot be finalized without its owner).
    for (const i of [0, 1, 2])
      assert.equal(signed.validateSignaturesOfInput(i, validator), true, `input ${i}`);
    for (const i of [0, 1, 2]) signed.finalizeInput(i);

    // And a PSBT that is all ours extracts to a complete transaction.
    const mine = new bitcoin.Psbt({ network: net });
    mine.addInput(witnessInput(txid(5), 0, wpkh, 10_000n));
    mine.addInput(shWpkhInput(txid(6), 0, shwpkh, 20_000n));
    mine.addInput(trInput(txid(7), 0, tr, 30_000n, xonly(pub)));
    mine.addOutput({ address: wpkh.address!, value: 59_000n });
    const r2 = await signPsbt(keyId, { psbt: mine.toBase64(), network: 'regtest' });
    assert.deepEqual(r2.body.signedInputs, [0, 1, 2]);
    const tx = judge(bitcoin.Psbt.fromBase64(r2.body.psbt, { network: net }));
    assert.equal(tx.ins.length, 3);
    assert.equal(tx.ins[2]!.witness.length, 1, 'taproot key path: the signature alone');
    assert.equal(tx.ins[0]!.witness.length, 2, 'P2WPKH: signature and public key');
    // Signing the signed PSBT again adds nothing.
    const again = await signPsbt(keyId, { psbt: r2.body.psbt, network: 'regtest' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.signedInputs, []);
  });

  test('taproot with SIGHASH_ALL and segwit with SIGHASH_SINGLE|ANYONECANPAY are honoured', async () => {
    const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(pub), network: net });
    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput({
      hash: txid(8),
      index: 0,
      witnessUtxo: { script: tr.output!, value: 40_000n },
      tapInternalKey: xonly(pub),
      sighashType: bitcoin.Transaction.SIGHASH_ALL,
    });
    psbt.addInput({
      hash: txid(9),
      index: 0,
      witnessUtxo: { script: wpkh.output!, value: 40_000n },
      sighashType: bitcoin.Transaction.SIGHASH_SINGLE | bitcoin.Transaction.SIGHASH_ANYONECANPAY,
    });
    psbt.addOutput({ address: wpkh.address!, value: 39_000n });
    psbt.addOutput({ address: tr.address!, value: 39_000n });
    const r = await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'regtest' });
    assert.deepEqual(r.body.signedInputs, [0, 1]);
    const signed = bitcoin.Psbt.fromBase64(r.body.psbt, { network: net });
    assert.equal(signed.data.inputs[0]!.tapKeySig?.length, 65);
    judge(signed);
  });

  test('2-of-2 P2WSH: Keymesh adds its partial signature, a bitcoinjs co-signer the other', async () => {
    const cosigner = ECPair.fromPrivateKey(createHash('sha256').update('co-signer').digest(), {
      network: net,
    });
    const ms = bitcoin.payments.p2ms({
      m: 2,
      pubkeys: [pub, Uint8Array.from(cosigner.publicKey)],
      network: net,
    });
    const wsh = bitcoin.payments.p2wsh({ redeem: ms, network: net });
    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput({
      hash: txid(10),
      index: 1,
      witnessUtxo: { script: wsh.output!, value: 500_000n },
      witnessScript: ms.output!,
    });
    psbt.addOutput({ address: wpkh.address!, value: 499_000n });

    const r = await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'regtest' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.signedInputs, [0]);
    const signed = bitcoin.Psbt.fromBase64(r.body.psbt, { network: net });
    assert.equal(signed.data.inputs[0]!.partialSig?.length, 1);
    assert.deepEqual(Uint8Array.from(signed.data.inputs[0]!.partialSig![0]!.pubkey), pub);
    signed.signInput(0, cosigner);
    const tx = judge(signed);
    assert.equal(tx.ins[0]!.witness.length, 4, 'OP_0 dummy, two signatures, the witness script');
  });
});

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

describe('HD roots: inputs found by master fingerprint and derivation path', () => {
  const master = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON));
  const at = (path: string) => Uint8Array.from(master.derive(path).publicKey!);
  let root: { id: string; fingerprint: string };
  before(async () => {
    const r = await node.api<{ id: string; fingerprint: string }>('POST', '/v1/keys/import', {
      name: 'btc-hd-root',
      algorithm: 'secp256k1',
      mnemonic: ABANDON,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    root = r.body;
    assert.equal(Number.parseInt(root.fingerprint.slice(2), 16), master.fingerprint);
  });

  test('P2SH-P2WPKH, P2WPKH, P2TR and a 2-of-2 P2WSH on regtest; bitcoinjs-lib judges', async () => {
    const fp = Buffer.from(root.fingerprint.slice(2), 'hex');
    const P49 = "m/49'/1'/0'/0/0";
    const P84 = "m/84'/1'/0'/1/3";
    const P86 = "m/86'/1'/0'/0/0";
    const P48 = "m/48'/1'/0'/2'/0/0";
    const cosigner = ECPair.fromPrivateKey(createHash('sha256').update('hd co-signer').digest(), {
      network: net,
    });
    const sh = p2shP2wpkh(at(P49), net);
    const w = bitcoin.payments.p2wpkh({ pubkey: at(P84), network: net });
    const tr = bitcoin.payments.p2tr({ internalPubkey: xonly(at(P86)), network: net });
    const ms = bitcoin.payments.p2ms({
      m: 2,
      pubkeys: [Uint8Array.from(cosigner.publicKey), at(P48)],
      network: net,
    });
    const wsh = bitcoin.payments.p2wsh({ redeem: ms, network: net });
    const der = (pubkey: Uint8Array, path: string) => [{ masterFingerprint: fp, pubkey, path }];

    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput({
      hash: txid(20),
      index: 0,
      witnessUtxo: { script: sh.output!, value: 10_000n },
      redeemScript: sh.redeem!.output!,
      bip32Derivation: der(at(P49), P49),
    });
    psbt.addInput({
      hash: txid(21),
      index: 0,
      witnessUtxo: { script: w.output!, value: 20_000n },
      bip32Derivation: der(at(P84), P84),
    });
    psbt.addInput({
      hash: txid(22),
      index: 0,
      witnessUtxo: { script: tr.output!, value: 30_000n },
      tapInternalKey: xonly(at(P86)),
      tapBip32Derivation: [{ masterFingerprint: fp, pubkey: xonly(at(P86)), path: P86, leafHashes: [] }],
    });
    psbt.addInput({
      hash: txid(23),
      index: 0,
      witnessUtxo: { script: wsh.output!, value: 40_000n },
      witnessScript: ms.output!,
      bip32Derivation: [
        ...der(at(P48), P48),
        {
          masterFingerprint: Buffer.from('deadbeef', 'hex'),
          pubkey: Uint8Array.from(cosigner.publicKey),
          path: "m/48'/1'/0'/2'/0/0",
        },
      ],
    });
    psbt.addOutput({ address: w.address!, value: 99_000n });

    const r = await signPsbt(root.id, { psbt: psbt.toBase64(), network: 'regtest' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.signedInputs, [0, 1, 2, 3]);
    const signed = bitcoin.Psbt.fromBase64(r.body.psbt, { network: net });
    signed.signInput(3, cosigner);
    const tx = judge(signed);
    assert.equal(tx.ins.length, 4);
  });

  test('a derivation record whose key is not the one at its path is 400 naming the input, before signing', async () => {
    const fp = Buffer.from(root.fingerprint.slice(2), 'hex');
    const w = bitcoin.payments.p2wpkh({ pubkey: at("m/84'/1'/0'/0/0"), network: net });
    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput(witnessInput(txid(24), 0, w, 20_000n));
    psbt.addInput({
      hash: txid(25),
      index: 0,
      witnessUtxo: { script: w.output!, value: 20_000n },
      bip32Derivation: [{ masterFingerprint: fp, pubkey: at("m/84'/1'/0'/0/0"), path: "m/84'/1'/0'/0/5" }],
    });
    psbt.addOutput({ address: w.address!, value: 39_000n });
    const allowed = async () =>
      (
        await node.api<{ entries: { action: string; keyId?: string; outcome: string }[] }>(
          'GET',
          '/v1/audit?limit=1000',
        )
      ).body.entries.filter(
        (e) => e.keyId === root.id && e.action === 'bitcoin.psbt' && e.outcome === 'allowed',
      ).length;
    const before = await allowed();
    const r = await signPsbt(root.id, { psbt: psbt.toBase64(), network: 'regtest' });
    assertError(r, 400, 'INVALID_REQUEST');
    assert.match((r.body as unknown as Err).error.message, /input 1/);
    assert.equal(await allowed(), before, 'refused before it is audited as allowed or signed');
  });

  test('a path on a single key, and a malformed path, are 400', async () => {
    const body = { psbt: simplePsbt().toBase64(), network: 'regtest' };
    assertError(await signPsbt(keyId, { ...body, path: "m/84'/1'/0'/0/0" }), 400, 'INVALID_REQUEST');
    assertError(await signPsbt(root.id, { ...body, path: 'm/x' }), 400, 'INVALID_REQUEST');
  });
});

describe('refusals', () => {
  test('an unparseable PSBT is 400 and the message repeats none of it', async () => {
    const junk = [
      'not base64!!',
      Buffer.from('psbt').toString('base64'),
      Buffer.from([0x70, 0x73, 0x62, 0x74, 0xff]).toString('base64'),
      Buffer.concat([Buffer.from([0x70, 0x73, 0x62, 0x74, 0xff]), randomBytes(64)]).toString('base64'),
      randomBytes(300).toString('base64'),
      simplePsbt().toBase64().slice(0, 60),
      '',
    ];
    for (const psbt of junk) {
      const r = await signPsbt(keyId, { psbt, network: 'regtest' });
      assertError(r, 400, 'INVALID_REQUEST');
      const m = (r.body as unknown as Err).error.message;
      if (psbt.length > 8) assert.ok(!m.includes(psbt.slice(0, 16)), m);
      assert.ok(!m.includes(PRIV.toString('hex')));
    }
  });

  test('an input without UTXO data is 400 naming the input', async () => {
    const psbt = simplePsbt();
    psbt.addInput({ hash: txid(11), index: 3 });
    const r = await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'regtest' });
    assertError(r, 400, 'INVALID_REQUEST');
    assert.match((r.body as unknown as Err).error.message, /input 1/);
  });

  test('wrong or unknown network is 400', async () => {
    for (const network of ['litecoin', 'mainnet', '', 5, null])
      assertError(await signPsbt(keyId, { psbt: simplePsbt().toBase64(), network }), 400);
    assertError(await signPsbt(keyId, { psbt: simplePsbt().toBase64() }), 400);
    // A mainnet derivation path (coin type 0') in a PSBT signed for regtest.
    const psbt = new bitcoin.Psbt({ network: net });
    psbt.addInput({
      hash: txid(12),
      index: 0,
      witnessUtxo: { script: wpkh.output!, value: 100_000n },
      bip32Derivation: [
        { masterFingerprint: Buffer.from('01020304', 'hex'), path: "m/84'/0'/0'/0/0", pubkey: pub },
      ],
    });
    psbt.addOutput({ address: wpkh.address!, value: 99_000n });
    const r = await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'regtest' });
    assertError(r, 400);
    assert.match((r.body as unknown as Err).error.message, /input 0.*mainnet/);
    // The same PSBT for mainnet is fine.
    assert.equal((await signPsbt(keyId, { psbt: psbt.toBase64(), network: 'bitcoin' })).status, 200);
  });

  test('outputs above the inputs, and a bad sighash, are 400', async () => {
    const over = new bitcoin.Psbt({ network: net });
    over.addInput(witnessInput(txid(13), 0, wpkh, 1_000n));
    over.addOutput({ address: wpkh.address!, value: 2_000n });
    assertError(await signPsbt(keyId, { psbt: over.toBase64(), network: 'regtest' }), 400);
    const bad = simplePsbt();
    bad.updateInput(0, { sighashType: 0x42 });
    assertError(await signPsbt(keyId, { psbt: bad.toBase64(), network: 'regtest' }), 400);
  });

  test('404 unknown key, 409 deactivated key, 400 for an Ed25519 key', async () => {
    const body = { psbt: simplePsbt().toBase64(), network: 'regtest' };
    assertError(await signPsbt('0190d9a4-0000-7000-8000-000000000000', body), 404, 'NOT_FOUND');
    const k = await node.api<{ id: string }>('POST', '/v1/keys', {
      name: 'btc-deact',
      algorithm: 'secp256k1',
    });
    await node.api('POST', `/v1/keys/${k.body.id}/state`, { state: 'deactivated' });
    assertError(await signPsbt(k.body.id, body), 409, 'INVALID_STATE');
    const ed = await node.api<{ id: string }>('POST', '/v1/keys', { name: 'btc-ed', algorithm: 'ed25519' });
    assertError(await signPsbt(ed.body.id, body), 400, 'UNSUPPORTED');
  });

  test('401 without a token, 403 without keys:sign or for another key', async () => {
    const body = { psbt: simplePsbt().toBase64(), network: 'regtest' };
    assertError(await signPsbt(keyId, body, null), 401, 'UNAUTHENTICATED');
    const mk = async (scopes: string[], keyIds?: string[]) =>
      (
        await node.api<{ token: string }>('POST', '/v1/tokens', {
          name: `bt-${randomBytes(4).toString('hex')}`,
          scopes,
          ...(keyIds ? { keyIds } : {}),
        })
      ).body.token;
    assertError(await signPsbt(keyId, body, await mk(['keys:read'])), 403, 'FORBIDDEN');
    const other = await node.api<{ id: string }>('POST', '/v1/keys', {
      name: 'btc-other',
      algorithm: 'secp256k1',
    });
    assertError(await signPsbt(keyId, body, await mk(['keys:sign'], [other.body.id])), 403, 'FORBIDDEN');
    assert.equal((await signPsbt(keyId, body, await mk(['keys:sign'], [keyId]))).status, 200);
  });

  test('garbage thrown at the PSBT endpoint is never a 500', async () => {
    const values: unknown[] = [
      null,
      true,
      0,
      -1,
      1e308,
      '',
      '====',
      'cHNidP8=',
      [],
      {},
      'ä'.repeat(50),
      '0x00',
    ];
    const good = simplePsbt().toBase64();
    const bodies: unknown[] = ['{', '[]', 'null', '"x"', '1', {}];
    for (const v of values)
      bodies.push(
        { psbt: v, network: 'regtest' },
        { psbt: good, network: v },
        { psbt: good, network: 'regtest', path: v },
      );
    // Every single-byte corruption of a real PSBT, over its first 120 bytes.
    const bytes = Buffer.from(good, 'base64');
    for (let i = 0; i < Math.min(120, bytes.length); i++) {
      const c = Buffer.from(bytes);
      c[i] = c[i]! ^ 0xff;
      bodies.push({ psbt: c.toString('base64'), network: 'regtest' });
    }
    for (const b of bodies) {
      const r = await signPsbt(keyId, b);
      assert.ok(r.status < 500, `${JSON.stringify(b).slice(0, 100)} → ${r.status} ${JSON.stringify(r.body)}`);
      if (r.status !== 200) assertError(r, r.status);
    }
  });

  test('the audit log records the network, the fee and where the money goes', async () => {
    const r = await signPsbt(keyId, { psbt: simplePsbt().toBase64(), network: 'regtest' });
    assert.equal(r.status, 200);
    const audit = await node.api<{
      entries: { action: string; keyId?: string; details?: Record<string, unknown> }[];
    }>('GET', '/v1/audit?limit=1000');
    const e = audit.body.entries.filter((x) => x.action === 'bitcoin.psbt').at(-1)!;
    assert.equal(e.keyId, keyId);
    assert.equal(e.details!.network, 'regtest');
    assert.equal(e.details!.fee, '1000');
    assert.equal(e.details!.payTo, `${wpkh.address}=99000`);
    assert.ok(!JSON.stringify(audit.body).includes(PRIV.toString('hex')));
  });
});
