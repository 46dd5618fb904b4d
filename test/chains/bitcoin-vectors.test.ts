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
import { mnemonicToSeed } from '../../src/hd/bip39.js';
import { deriveSecp256k1, encodeXprv, encodeXpub } from '../../src/hd/bip32.js';
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

// index, secret key, public key, aux_rand, message, signature, verification result, comment
const BIP340: [number, string, string, string, string, string, boolean][] = [
  [
    0,
    '0000000000000000000000000000000000000000000000000000000000000003',
    'F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000',
    'E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA821525F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0',
    true,
  ],
  [
    1,
    'B7E151628AED2A6ABF7158809CF4F3C762E7160F38B4DA56A784D9045190CFEF',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '0000000000000000000000000000000000000000000000000000000000000001',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE33418906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A',
    true,
  ],
  [
    2,
    'C90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B14E5C9',
    'DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8',
    'C87AA53824B4D7AE2EB035A2B5BBBCCC080E76CDC6D1692C4B0B62D798E6D906',
    '7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C',
    '5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1BAB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7',
    true,
  ],
  [
    3,
    '0B432B2677937381AEF05BB02A66ECD012773062CF3FA2549E44F58ED2401710',
    '25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517',
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',
    '7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3',
    true,
  ],
  [
    4,
    '',
    'D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9',
    '',
    '4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703',
    '00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C6376AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4',
    true,
  ],
  [
    5,
    '',
    'EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E17776969E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B',
    false,
  ],
  [
    6,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    'FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A14602975563CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2',
    false,
  ],
  [
    7,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD',
    false,
  ],
  [
    8,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6',
    false,
  ],
  [
    9,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '0000000000000000000000000000000000000000000000000000000000000000123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051',
    false,
  ],
  [
    10,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '00000000000000000000000000000000000000000000000000000000000000017615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197',
    false,
  ],
  [
    11,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B',
    false,
  ],
  [
    12,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B',
    false,
  ],
  [
    13,
    '',
    'DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141',
    false,
  ],
  [
    14,
    '',
    'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30',
    '',
    '243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89',
    '6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E17776969E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B',
    false,
  ],
  [
    15,
    '0340034003400340034003400340034003400340034003400340034003400340',
    '778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '',
    '71535DB165ECD9FBBC046E5FFAEA61186BB6AD436732FCCC25291A55895464CF6069CE26BF03466228F19A3A62DB8A649F2D560FAC652827D1AF0574E427AB63',
    true,
  ],
  [
    16,
    '0340034003400340034003400340034003400340034003400340034003400340',
    '778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '11',
    '08A20A0AFEF64124649232E0693C583AB1B9934AE63B4C3511F3AE1134C6A303EA3173BFEA6683BD101FA5AA5DBC1996FE7CACFC5A577D33EC14564CEC2BACBF',
    true,
  ],
  [
    17,
    '0340034003400340034003400340034003400340034003400340034003400340',
    '778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '0102030405060708090A0B0C0D0E0F1011',
    '5130F39A4059B43BC7CAC09A19ECE52B5D8699D1A71E3C52DA9AFDB6B50AC370C4A482B77BF960F8681540E25B6771ECE1E5A37FD80E5A51897C5566A97EA5A5',
    true,
  ],
  [
    18,
    '0340034003400340034003400340034003400340034003400340034003400340',
    '778CAA53B4393AC467774D09497A87224BF9FAB6F6E68B23086497324D6FD117',
    '0000000000000000000000000000000000000000000000000000000000000000',
    '99'.repeat(100),
    '403B12B0D8555A344175EA7EC746566303321E5DBFA8BE6F091635163ECA79A8585ED3E3170807E7C03B720FC54C7B23897FCBA0E9D0B4A06894CFD249F22367',
    true,
  ],
];

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
