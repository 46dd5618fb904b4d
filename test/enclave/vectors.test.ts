// Published known-answer vectors through the enclave's signers, copied in as data:
//
// - P-256: RFC 6979 appendix A.2.5, SHA-256, messages "sample" and "test".
// - secp256k1 ECDSA: bitcoinjs-lib test/fixtures/ecdsa.json, `valid.ecdsa` (RFC 6979 with SHA-256
//   of the message, low-s; `i` is the recovery id), github.com/bitcoinjs/bitcoinjs-lib.
// - Ed25519: RFC 8032 §7.1, TEST 1, 2, 3, 1024 and SHA(abc).
// - BIP340: bitcoin/bips bip-0340/test-vectors.csv, rows 0 to 14 (the 32-byte-message rows; the
//   final even-y version of the BIP, not the earlier square-y draft).
// - BIP86: bitcoin/bips bip-0086.mediawiki, first receiving address of account 0 (mnemonic
//   "abandon ... about", m/86'/0'/0'/0/0); BIP341 wallet-test-vectors.json scriptPubKey[0].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { importSigner } from '../../src/enclave/crypto/signers.js';
import { verifySignature } from '../../src/enclave/crypto/verify.js';
import { derToCompact } from '../../src/enclave/crypto/der.js';
import {
  schnorrSignDigest,
  secp256k1PublicKey,
  taprootOutputKey,
  taprootTweak,
} from '../../src/enclave/crypto/secp256k1.js';
import { P256_N } from '../../src/enclave/crypto/p256.js';
import { hex, unhex, utf8 } from './_support.js';
import { BIP340 } from '../fixtures/bip340.js';

const bigOf = (b: Uint8Array) => BigInt('0x' + hex(b));
const to32 = (n: bigint) => unhex(n.toString(16).padStart(64, '0'));

test('P-256: RFC 6979 A.2.5 (SHA-256), with s normalised to low-s', () => {
  const x = unhex('c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721');
  const ux = '60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6';
  const uy = '7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299';
  const signer = importSigner('p256', x);
  assert.equal(hex(signer.publicKey), '03' + ux, 'Uy is odd, so the compressed prefix is 03');
  const cases = [
    {
      msg: 'sample',
      r: 'efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716',
      s: 'f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8',
    },
    {
      msg: 'test',
      r: 'f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367',
      s: '019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083',
    },
  ];
  const n = bigOf(P256_N);
  for (const c of cases) {
    const s = BigInt('0x' + c.s);
    const lowS = s > n / 2n ? n - s : s;
    const expected = c.r + hex(to32(lowS));
    const viaMessage = signer.sign({ message: utf8(c.msg) });
    assert.equal(hex(viaMessage.signature), expected, c.msg);
    const digest = new Uint8Array(createHash('sha256').update(c.msg).digest());
    assert.equal(hex(signer.sign({ digest }).signature), expected, c.msg + ' (digest)');
    // The RFC's own signature verifies as standard ECDSA, high s or not, and both engines agree.
    const rfc = unhex(c.r + c.s);
    const publicKey = unhex('04' + ux + uy);
    assert.ok(verifySignature({ algorithm: 'p256', publicKey, message: utf8(c.msg), signature: rfc }));
    assert.ok(verifySignature({ algorithm: 'p256', publicKey, digest, signature: rfc }));
    assert.equal(
      verifySignature({ algorithm: 'p256', publicKey, digest, signature: rfc }, { strictLowS: true }),
      s <= n / 2n,
    );
  }
});

// bitcoinjs-lib test/fixtures/ecdsa.json, valid.ecdsa: [d, message, recovery id i, DER signature].
const BITCOINJS: [string, string, number, string][] = [
  [
    '0000000000000000000000000000000000000000000000000000000000000001',
    'Everything should be made as simple as possible, but not simpler.',
    0,
    '3044022033a69cd2065432a30f3d1ce4eb0d59b8ab58c74f27c41a7fdb5696ad4e6108c902206f807982866f785d3f6418d24163ddae117b7db4d5fdf0071de069fa54342262',
  ],
  [
    'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140',
    'Equations are more important to me, because politics is for the present, but an equation is something for eternity.',
    0,
    '3044022054c4a33c6423d689378f160a7ff8b61330444abb58fb470f96ea16d99d4a2fed022007082304410efa6b2943111b6a4e0aaa7b7db55a07e9861d1fb3cb1f421044a5',
  ],
  [
    'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140',
    'Not only is the Universe stranger than we think, it is stranger than we can think.',
    0,
    '3045022100ff466a9f1b7b273e2f4c3ffe032eb2e814121ed18ef84665d0f515360dab3dd002206fc95f5132e5ecfdc8e5e6e616cc77151455d46ed48f5589b7db7771a332b283',
  ],
  [
    '0000000000000000000000000000000000000000000000000000000000000001',
    'How wonderful that we have met with a paradox. Now we have some hope of making progress.',
    1,
    '3045022100c0dafec8251f1d5010289d210232220b03202cba34ec11fec58b3e93a85b91d3022075afdc06b7d6322a590955bf264e7aaa155847f614d80078a90292fe205064d3',
  ],
  [
    '69ec59eaa1f4f2e36b639716b7c30ca86d9a5375c7b38d8918bd9c0ebc80ba64',
    'Computer science is no more about computers than astronomy is about telescopes.',
    0,
    '304402207186363571d65e084e7f02b0b77c3ec44fb1b257dee26274c38c928986fea45d02200de0b38e06807e46bda1f1e293f4f6323e854c86d58abdd00c46c16441085df6',
  ],
  [
    '00000000000000000000000000007246174ab1e92e9149c6e446fe194d072637',
    "...if you aren't, at any given time, scandalized by code you wrote five or even three years ago, you're not learning anywhere near enough",
    1,
    '3045022100fbfe5076a15860ba8ed00e75e9bd22e05d230f02a936b653eb55b61c99dda48702200e68880ebb0050fe4312b1b1eb0899e1b82da89baa5b895f612619edf34cbd37',
  ],
  [
    '000000000000000000000000000000000000000000056916d0f9b31dc9b637f3',
    'The question of whether computers can think is like the question of whether submarines can swim.',
    1,
    '3045022100cde1302d83f8dd835d89aef803c74a119f561fbaef3eb9129e45f30de86abbf9022006ce643f5049ee1f27890467b77a6a8e11ec4661cc38cd8badf90115fbd03cef',
  ],
];

test('secp256k1 ECDSA: bitcoinjs-lib deterministic vectors (signature and recovery id)', () => {
  for (const [d, msg, i, der] of BITCOINJS) {
    const signer = importSigner('secp256k1', unhex(d));
    const res = signer.sign({ message: utf8(msg) });
    const want = derToCompact(unhex(der));
    assert.ok(want);
    assert.equal(hex(res.signature), hex(want), msg);
    assert.equal(res.recoveryId, i, msg);
    assert.ok(
      verifySignature(
        { algorithm: 'secp256k1', publicKey: signer.publicKey, message: utf8(msg), signature: unhex(der) },
        { der: true, strictLowS: true },
      ),
    );
  }
});

// RFC 8032 §7.1: [name, secret key (seed), public key, message, signature].
const TEST_1024_MESSAGE = [
  '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1',
  'e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d',
  '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a',
  '7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e',
  '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10',
  '3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed1',
  '85ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2d17ba70eb6248e594e1a2297acbbb39d',
  '502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270',
  '88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089b',
  'eccf80cfe2df16a2cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba',
  'b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae0784504df543af8969b',
  'e3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7',
  '51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988d',
  'cda6f3bfd15c4b4c4525004aa06eeff8ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34df',
  'f7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7',
  '984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4',
  '88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac09',
  '43bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5f',
  'b93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f161',
  '0e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d',
  'b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8ca',
  'c60c905c15fc910840b94c00a0b9d0',
].join('');

const RFC8032: [string, string, string, string, string][] = [
  [
    'TEST 1',
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    'TEST 2',
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'TEST 3',
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
  [
    'TEST 1024',
    'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    TEST_1024_MESSAGE,
    '0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03',
  ],
  [
    'TEST SHA(abc)',
    '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    createHash('sha512').update('abc').digest('hex'),
    'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  ],
];

test('Ed25519: RFC 8032 §7.1 TEST 1, 2, 3, 1024, SHA(abc)', () => {
  assert.equal(TEST_1024_MESSAGE.length, 2046, 'TEST 1024 signs a 1023-byte message');
  for (const [name, seed, pub, msg, sig] of RFC8032) {
    const signer = importSigner('ed25519', unhex(seed));
    assert.equal(hex(signer.publicKey), pub, name);
    assert.equal(hex(signer.sign({ message: unhex(msg) }).signature), sig, name);
    const req = { algorithm: 'ed25519' as const, publicKey: unhex(pub), message: unhex(msg) };
    assert.ok(verifySignature({ ...req, signature: unhex(sig) }), name);
    const bad = unhex(sig);
    bad[0]! ^= 1;
    assert.equal(verifySignature({ ...req, signature: bad }), false, name + ' (altered)');
  }
});

// bip-0340/test-vectors.csv rows 0-14, the 32-byte-message rows.
const BIP340_32 = BIP340.filter(([i]) => i <= 14);

test('BIP340: bip-0340 test vectors 0-14 (signing with their aux_rand, and verification)', () => {
  assert.equal(BIP340_32.length, 15);
  for (const [i, sk, pk, aux, msg, sig, valid] of BIP340_32) {
    const publicKey = unhex(pk.toLowerCase());
    if (sk) {
      const secret = unhex(sk.toLowerCase());
      assert.equal(hex(secp256k1PublicKey(secret).subarray(1)), pk.toLowerCase(), `row ${i} public key`);
      assert.equal(
        hex(schnorrSignDigest(unhex(msg), secret, unhex(aux))),
        sig.toLowerCase(),
        `row ${i} signature`,
      );
      // The signer uses fresh aux randomness, so its signature differs but must verify.
      const ours = importSigner('secp256k1', secret).sign({ digest: unhex(msg), scheme: 'schnorr' });
      assert.ok(
        verifySignature({
          algorithm: 'secp256k1',
          scheme: 'schnorr',
          publicKey,
          digest: unhex(msg),
          signature: ours.signature,
        }),
      );
    }
    assert.equal(
      verifySignature({
        algorithm: 'secp256k1',
        scheme: 'schnorr',
        publicKey,
        digest: unhex(msg),
        signature: unhex(sig),
      }),
      valid,
      `row ${i} verification`,
    );
  }
});

test('BIP86 key-path tweak: bip-0086 account 0 first address, and BIP341 scriptPubKey[0]', () => {
  const seed = mnemonicToSeedSync(
    'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
  );
  const child = HDKey.fromMasterSeed(seed).derive("m/86'/0'/0'/0/0");
  const signer = importSigner('secp256k1', child.privateKey!);
  assert.equal(
    hex(signer.publicKey.subarray(1)),
    'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
  );
  const outputKey = taprootOutputKey(signer.publicKey);
  assert.equal(hex(outputKey), 'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c');
  const digest = new Uint8Array(32).fill(0x42);
  const { signature } = signer.sign({ digest, scheme: 'schnorr-taproot' });
  assert.ok(
    verifySignature({ algorithm: 'secp256k1', scheme: 'schnorr', publicKey: outputKey, digest, signature }),
  );
  assert.ok(
    verifySignature({
      algorithm: 'secp256k1',
      scheme: 'schnorr-taproot',
      publicKey: signer.publicKey,
      digest,
      signature,
    }),
  );
  // Not a plain BIP340 signature under the internal key.
  assert.equal(
    verifySignature({
      algorithm: 'secp256k1',
      scheme: 'schnorr',
      publicKey: signer.publicKey,
      digest,
      signature,
    }),
    false,
  );

  const internal = unhex('d6889cb081036e0faefa3a35157ad71086b123b2b144b649798b494c300a961d');
  assert.equal(
    hex(taprootTweak(internal)),
    'b86e7be8f39bab32a6f2c0443abbc210f0edac0e2c53d501b36b64437d9c6c70',
  );
  assert.equal(
    hex(taprootOutputKey(internal)),
    '53a1f6e454df1aa2776a2814a721372d6258050de330b3c6d10ee8f4e0dda343',
  );
});
