// Published Bitcoin vectors:
// - BIP84 and BIP86 "Test vectors" (bitcoin/bips bip-0084.mediawiki, bip-0086.mediawiki): keys and
//   addresses of the "abandon … about" mnemonic.
// - BIP340 test-vectors.csv (bitcoin/bips bip-0340/test-vectors.csv; rows 0–14 at commit
//   7e8b5dfc304c0e3cd646b54bc49e23fad692d11e, rows 15–18 "added 2022-12" from the current file):
//   every row, through @noble/curves' schnorr, the implementation the enclave signs with.
// - BIP341 wallet-test-vectors.json, keyPathSpending (bitcoin/bips bip-0341, as copied into
//   bitcoin/bitcoin src/test/data/bip341_wallet_vectors.json): tweaked keys and the sighash of every
//   input, computed by our PSBT planning code, and the expected witness for the BIP86 input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { Transaction } from '@scure/btc-signer/transaction.js';
import { base64 } from '@scure/base';
import { encodeXpub } from '../../src/hd/bip32.js';
import { mnemonicToSeed } from '../hd/oracles/bip39.js';
import { deriveSecp256k1, encodeXprv } from '../hd/oracles/bip32.js';
import {
  applyPsbtSignatures,
  bitcoinAddresses,
  p2trAddress,
  p2wpkhAddress,
  planPsbtSigning,
  taprootOutputKey,
  xOnly,
} from '../../src/chains/bitcoin/index.js';
import { hex, unhex } from './_assert.js';
import { BIP340 } from '../fixtures/bip340.js';

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

test('BIP84: the first receiving, second receiving and first change addresses of "abandon … about"', () => {
  const seed = mnemonicToSeed(ABANDON);
  const rows: [string, string, string][] = [
    [
      "m/84'/0'/0'/0/0",
      '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
      'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
    ],
    [
      "m/84'/0'/0'/0/1",
      '03e775fd51f0dfb8cd865d9ff1cca2a158cf651fe997fdc9fee9c1d3b5e995ea77',
      'bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g',
    ],
    [
      "m/84'/0'/0'/1/0",
      '03025324888e429ab8e3dbaf1f7802648b9cd01e9b418485c5fa4c1b9b5700e1a6',
      'bc1q8c6fshw2dlwun7ekn9qwf37cu2rn755upcp6el',
    ],
  ];
  for (const [path, pub, address] of rows) {
    const node = deriveSecp256k1(seed, path);
    assert.equal(hex(node.publicKey), pub);
    assert.equal(p2wpkhAddress(node.publicKey, 'bitcoin'), address);
  }
});

test('BIP86: root keys, account xpub, internal/output keys and addresses of "abandon … about"', () => {
  const seed = mnemonicToSeed(ABANDON);
  const root = deriveSecp256k1(seed, 'm');
  assert.equal(
    encodeXprv(root),
    'xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu',
  );
  assert.equal(
    encodeXpub(deriveSecp256k1(seed, "m/86'/0'/0'")),
    'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ',
  );
  const rows: [string, string, string, string][] = [
    [
      "m/86'/0'/0'/0/0",
      'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
      'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c',
      'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
    ],
    [
      "m/86'/0'/0'/0/1",
      '83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145',
      'a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb',
      'bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh',
    ],
    [
      "m/86'/0'/0'/1/0",
      '399f1b2f4393f29a18c937859c5dd8a77350103157eb880f02e8c08214277cef',
      '882d74e5d0572d5a816cef0041a96b6c1de832f6f9676d9605c44d5e9a97d3dc',
      'bc1p3qkhfews2uk44qtvauqyr2ttdsw7svhkl9nkm9s9c3x4ax5h60wqwruhk7',
    ],
  ];
  for (const [path, internal, output, address] of rows) {
    const node = deriveSecp256k1(seed, path);
    assert.equal(hex(xOnly(node.publicKey)), internal);
    assert.equal(hex(taprootOutputKey(node.publicKey).outputKey), output);
    assert.equal(p2trAddress(node.publicKey, 'bitcoin'), address);
  }
  // The same keys on the test networks use their HRPs.
  const pub = deriveSecp256k1(seed, "m/86'/0'/0'/0/0").publicKey;
  assert.match(bitcoinAddresses(pub, 'testnet').p2tr, /^tb1p/);
  assert.match(bitcoinAddresses(pub, 'regtest').p2tr, /^bcrt1p/);
  assert.match(bitcoinAddresses(pub, 'regtest').p2wpkh, /^bcrt1q/);
});

test('BIP340: all 19 rows of test-vectors.csv with @noble/curves schnorr (sign where a key is given, verify all)', () => {
  assert.equal(BIP340.length, 19);
  for (const [i, sk, pk, aux, msg, sig, ok] of BIP340) {
    const m = unhex(msg);
    if (sk) {
      assert.equal(hex(schnorr.getPublicKey(unhex(sk))).toUpperCase(), pk, `row ${i} public key`);
      assert.equal(hex(schnorr.sign(m, unhex(sk), unhex(aux))).toUpperCase(), sig, `row ${i} signature`);
    }
    let valid: boolean;
    try {
      valid = schnorr.verify(unhex(sig), m, unhex(pk));
    } catch {
      valid = false;
    }
    assert.equal(valid, ok, `row ${i} verification`);
  }
});

// BIP341 wallet-test-vectors.json, keyPathSpending[0].
const KP = {
  rawUnsignedTx:
    '02000000097de20cbff686da83a54981d2b9bab3586f4ca7e48f57f5b55963115f3b334e9c010000000000000000d7b7cab57b1393ace2d064f4d4a2cb8af6def61273e127517d44759b6dafdd990000000000fffffffff8e1f583384333689228c5d28eac13366be082dc57441760d957275419a418420000000000fffffffff0689180aa63b30cb162a73c6d2a38b7eeda2a83ece74310fda0843ad604853b0100000000feffffffaa5202bdf6d8ccd2ee0f0202afbbb7461d9264a25e5bfd3c5a52ee1239e0ba6c0000000000feffffff956149bdc66faa968eb2be2d2faa29718acbfe3941215893a2a3446d32acd050000000000000000000e664b9773b88c09c32cb70a2a3e4da0ced63b7ba3b22f848531bbb1d5d5f4c94010000000000000000e9aa6b8e6c9de67619e6a3924ae25696bb7b694bb677a632a74ef7eadfd4eabf0000000000ffffffffa778eb6a263dc090464cd125c466b5a99667720b1c110468831d058aa1b82af10100000000ffffffff0200ca9a3b000000001976a91406afd46bcdfd22ef94ac122aa11f241244a37ecc88ac807840cb0000000020ac9a87f5594be208f8532db38cff670c450ed2fea8fcdefcc9a663f78bab962b0065cd1d',
  utxosSpent: [
    ['512053a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343', 420000000],
    ['5120147c9c57132f6e7ecddba9800bb0c4449251c92a1e60371ee77557b6620f3ea3', 462000000],
    ['76a914751e76e8199196d454941c45d1b3a323f1433bd688ac', 294000000],
    ['5120e4d810fd50586274face62b8a807eb9719cef49c04177cc6b76a9a4251d5450e', 504000000],
    ['512091b64d5324723a985170e4dc5a0f84c041804f2cd12660fa5dec09fc21783605', 630000000],
    ['00147dd65592d0ab2fe0d0257d571abf032cd9db93dc', 378000000],
    ['512075169f4001aa68f15bbed28b218df1d0a62cbbcf1188c6665110c293c907b831', 672000000],
    ['5120712447206d7a5238acc7ff53fbe94a3b64539ad291c7cdbc490b7577e4b17df5', 546000000],
    ['512077e30a5522dd9f894c3f8b8bd4c4b2cf82ca7da8a3ea6a239655c39c050ab220', 588000000],
  ] as [string, number][],
  // txinIndex, internalPrivkey, merkleRoot, hashType; internalPubkey, tweakedPrivkey, sigHash; witness
  inputSpending: [
    [
      0,
      '6b973d88838f27366ed61c9ad6367663045cb456e28335c109e30717ae0c6baa',
      null,
      3,
      'd6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d',
      '2405b971772ad26915c8dcdf10f238753a9b837e5f8e6a86fd7c0cce5b7296d9',
      '2514a6272f85cfa0f45eb907fcb0d121b808ed37c6ea160a5a9046ed5526d555',
      'ed7c1647cb97379e76892be0cacff57ec4a7102aa24296ca39af7541246d8ff14d38958d4cc1e2e478e4d4a764bbfd835b16d4e314b72937b29833060b87276c03',
    ],
    [
      1,
      '1e4da49f6aaf4e5cd175fe08a32bb5cb4863d963921255f33d3bc31e1343907f',
      '5b75adecf53548f3ec6ad7d78383bf84cc57b55a3127c72b9a2481752dd88b21',
      131,
      '187791b6f712a8ea41c8ecdd0ee77fab3e85263b37e1ec18a3651926b3a6cf27',
      'ea260c3b10e60f6de018455cd0278f2f5b7e454be1999572789e6a9565d26080',
      '325a644af47e8a5a2591cda0ab0723978537318f10e6a63d4eed783b96a71a4d',
      '052aedffc554b41f52b521071793a6b88d6dbca9dba94cf34c83696de0c1ec35ca9c5ed4ab28059bd606a4f3a657eec0bb96661d42921b5f50a95ad33675b54f83',
    ],
    [
      3,
      'd3c7af07da2d54f7a7735d3d0fc4f0a73164db638b2f2f7c43f711f6d4aa7e64',
      'c525714a7f49c28aedbbba78c005931a81c234b2f6c99a73e4d06082adc8bf2b',
      1,
      '93478e9488f956df2396be2ce6c5cced75f900dfa18e7dabd2428aae78451820',
      '97323385e57015b75b0339a549c56a948eb961555973f0951f555ae6039ef00d',
      'bf013ea93474aa67815b1b6cc441d23b64fa310911d991e713cd34c7f5d46669',
      'ff45f742a876139946a149ab4d9185574b98dc919d2eb6754f8abaa59d18b025637a3aa043b91817739554f4ed2026cf8022dbd83e351ce1fabc272841d2510a01',
    ],
    [
      4,
      'f36bb07a11e469ce941d16b63b11b9b9120a84d9d87cff2c84a8d4affb438f4e',
      'ccbd66c6f7e8fdab47b3a486f59d28262be857f30d4773f2d5ea47f7761ce0e2',
      0,
      'e0dfe2300b0dd746a3f8674dfd4525623639042569d829c7f0eed9602d263e6f',
      'a8e7aa924f0d58854185a490e6c41f6efb7b675c0f3331b7f14b549400b4d501',
      '4f900a0bae3f1446fd48490c2958b5a023228f01661cda3496a11da502a7f7ef',
      'b4010dd48a617db09926f729e79c33ae0b4e94b79f04a1ae93ede6315eb3669de185a17d2b0ac9ee09fd4c64b678a0b61a0a86fa888a273c8511be83bfd6810f',
    ],
    [
      6,
      '415cfe9c15d9cea27d8104d5517c06e9de48e2f986b695e4f5ffebf230e725d8',
      '2f6b2c5397b6d68ca18e09a3f05161668ffe93a988582d55c6f07bd5b3329def',
      2,
      '55adf4e8967fbd2e29f20ac896e60c3b0f1d5b0efa9d34941b5958c7b0a0312d',
      '241c14f2639d0d7139282aa6abde28dd8a067baa9d633e4e7230287ec2d02901',
      '15f25c298eb5cdc7eb1d638dd2d45c97c4c59dcaec6679cfc16ad84f30876b85',
      'a3785919a2ce3c4ce26f298c3d51619bc474ae24014bcdd31328cd8cfbab2eff3395fa0a16fe5f486d12f22a9cedded5ae74feb4bbe5351346508c5405bcfee002',
    ],
    [
      7,
      'c7b0e81f0a9a0b0499e112279d718cca98e79a12e2f137c72ae5b213aad0d103',
      '6c2dc106ab816b73f9d07e3cd1ef2c8c1256f519748e0813e4edd2405d277bef',
      130,
      'ee4fe085983462a184015d1f782d6a5f8b9c2b60130aff050ce221ecf3786592',
      '65b6000cd2bfa6b7cf736767a8955760e62b6649058cbc970b7c0871d786346b',
      'cd292de50313804dabe4685e83f923d2969577191a3e1d2882220dca88cbeb10',
      'ea0c6ba90763c2d3a296ad82ba45881abb4f426b3f87af162dd24d5109edc1cdd11915095ba47c3a9963dc1e6c432939872bc49212fe34c632cd3ab9fed429c482',
    ],
    [
      8,
      '77863416be0d0665e517e1c375fd6f75839544eca553675ef7fdf4949518ebaa',
      'ab179431c28d3b68fb798957faf5497d69c883c6fb1e1cd9f81483d87bac90cc',
      129,
      'f9f400803e683727b14f463836e1e78e1c64417638aa066919291a225f0e8dd8',
      'ec18ce6af99f43815db543f47b8af5ff5df3b2cb7315c955aa4a86e8143d2bf5',
      'cccb739eca6c13a8a89e6e5cd317ffe55669bbda23f2fd37b0f18755e008edd2',
      'bbc9584a11074e83bc8c6759ec55401f0ae7b03ef290c3139814f545b58a9f8127258000874f44bc46db7646322107d4d86aec8e73b8719a61fff761d75b5dd981',
    ],
  ] as [number, string, string | null, number, string, string, string, string][],
};

/** The vector's unsigned transaction as a PSBT, with every input's UTXO and its taproot fields. */
function vectorPsbt(): string {
  const tx = Transaction.fromRaw(unhex(KP.rawUnsignedTx), {
    allowUnknownOutputs: true,
    allowUnknownVersion: true,
    disableScriptCheck: true, // output 1 is 32 random bytes, as the vector intends
  });
  KP.utxosSpent.forEach(([script, amount], i) => {
    tx.updateInput(i, { witnessUtxo: { script: unhex(script), amount: BigInt(amount) } });
  });
  for (const [i, , root, hashType, internal] of KP.inputSpending) {
    tx.updateInput(i, {
      tapInternalKey: unhex(internal),
      ...(root ? { tapMerkleRoot: unhex(root) } : {}),
      ...(hashType !== 0 ? { sighashType: hashType } : {}),
    });
  }
  return base64.encode(tx.toPSBT(0));
}

test('BIP341 keyPathSpending: tweaked keys and every input sighash, through planPsbtSigning', () => {
  const psbt = vectorPsbt();
  for (const [i, priv, root, hashType, internal, tweakedPriv, sigHash, witness] of KP.inputSpending) {
    const pub = secp256k1.getPublicKey(unhex(priv), true);
    assert.equal(hex(xOnly(pub)), internal, `input ${i} internal key`);
    // Our tweak of the internal key is the public key of the vector's tweaked private key, and the
    // output key of the UTXO being spent.
    const { outputKey } = taprootOutputKey(pub, root ? unhex(root) : undefined);
    assert.equal(hex(outputKey), hex(schnorr.getPublicKey(unhex(tweakedPriv))), `input ${i} tweaked key`);
    assert.equal('5120' + hex(outputKey), KP.utxosSpent[i]![0], `input ${i} scriptPubKey`);

    const plan = planPsbtSigning(psbt, 'bitcoin', { publicKey: pub }, { scriptTreeKeyPath: true });
    assert.equal(plan.requests.length, 1, `input ${i}: one request`);
    const req = plan.requests[0]!;
    assert.equal(req.index, i);
    assert.equal(req.scheme, 'schnorr-taproot');
    assert.equal(req.sighashType, hashType);
    assert.equal(hex(req.digest), sigHash, `input ${i} sigHash`);
    assert.equal(root === null, req.merkleRoot === undefined);

    // Signed as the vector did (BIP340 with 32 zero bytes of aux_rand), the PSBT carries the
    // expected witness element as tapKeySig.
    const sig = schnorr.sign(req.digest, unhex(tweakedPriv), new Uint8Array(32));
    const out = applyPsbtSignatures(plan, [{ signature: sig }]);
    assert.deepEqual(out.signedInputs, [i]);
    const signed = Transaction.fromPSBT(base64.decode(out.psbt), {
      allowUnknownOutputs: true,
      allowUnknownVersion: true,
    });
    assert.equal(hex(signed.getInput(i).tapKeySig!), witness, `input ${i} witness`);

    // Without the option, only the BIP86 input (no script tree) is planned.
    const bip86 = planPsbtSigning(psbt, 'bitcoin', { publicKey: pub });
    assert.equal(bip86.requests.length, root === null ? 1 : 0);
  }
});
