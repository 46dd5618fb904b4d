// HD wallets in the enclave (enclave/crypto/hd.ts and the software pool's generate/importMnemonic/
// derive/sign-at-a-path):
//
// - crypto/hd.ts, the enclave's own BIP32/SLIP-10/BIP39 code, against published vectors: BIP32
//   vectors 1-4 (every chain's xpub, from bitcoin/bips bip-0032.mediawiki, as in
//   test/hd/bip32.test.ts), SLIP-10 Ed25519 vectors 1 and 2 (satoshilabs/slips slip-0010.md, as in
//   test/hd/slip10.test.ts), Trezor's BIP39 seeds; and against src/hd (@scure/bip32,
//   micro-key-producer, @scure/bip39) on random seeds, paths, entropies and passphrases.
// - Through the real worker pool: the "abandon … about" mnemonic imported gives the published
//   master fingerprint and xpub, the BIP84 account zpub and first address, the BIP86 account xpub,
//   first address and output key, and the BIP44 Ethereum address; signatures at a path (ECDSA,
//   BIP340, BIP86 taproot of the child, Ed25519) verify with noble against the derived key;
//   generated roots; the caller's buffers zeroed; child caching and eviction; error codes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getRandomValues } from 'node:crypto';
import { secp256k1, schnorr } from '@noble/curves/secp256k1.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { HDKey } from '@scure/bip32';
import { entropyToMnemonic, mnemonicToSeedSync } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import type { Algorithm, SealedKeyRef } from '../../src/enclave/enclave.js';
import {
  deriveHdNode,
  hdFingerprint,
  hdPublicKey,
  mnemonicBytesFromEntropy,
  seedFromMnemonic,
} from '../../src/enclave/crypto/hd.js';
import { taprootOutputKey } from '../../src/enclave/crypto/secp256k1.js';
import { createSoftwareEnclave, type SoftwareEnclave } from '../../src/enclave/software/pool.js';
import { deriveEd25519, deriveSecp256k1, encodeXpub, hdMasterFingerprint } from '../../src/hd/index.js';
import { HARDENED_OFFSET, parsePath } from '../../src/hd/path.js';
import { bitcoinAddresses } from '../../src/chains/bitcoin/address.js';
import { ethereumAddress } from '../../src/chains/ethereum/address.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { expectCode, expectCodeAsync, hex, unhex, utf8 } from './_support.js';

const ABANDON =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const rand = (n: number) => getRandomValues(new Uint8Array(n));
const randInt = (n: number) => Math.floor(Math.random() * n);
const bip = (path: string) => path.replaceAll('H', "'");
const u32 = (b: Uint8Array) => Buffer.from(b).readUInt32BE(0);

/** The BIP32 xpub of an enclave node (mainnet version bytes). */
function xpubOf(n: {
  publicKey: Uint8Array;
  chainCode?: Uint8Array;
  depth?: number;
  index?: number;
  parentFingerprint?: Uint8Array;
}): string {
  return encodeXpub({
    depth: n.depth!,
    index: n.index!,
    parentFingerprint: u32(n.parentFingerprint!),
    fingerprint: 0,
    chainCode: n.chainCode!,
    publicKey: n.publicKey,
  });
}

// [path, parent fingerprint, chain code, private key, 0x00 ‖ public key]
type Slip10Row = [string, string, string, string, string];

const BIP32_VECTORS: [seed: string, chains: [path: string, xpub: string][]][] = [
  [
    '000102030405060708090a0b0c0d0e0f',
    [
      [
        'm',
        'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8',
      ],
      [
        'm/0H',
        'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw',
      ],
      [
        'm/0H/1',
        'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ',
      ],
      [
        'm/0H/1/2H',
        'xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5',
      ],
      [
        'm/0H/1/2H/2',
        'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV',
      ],
      [
        'm/0H/1/2H/2/1000000000',
        'xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy',
      ],
    ],
  ],
  [
    'fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542',
    [
      [
        'm',
        'xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB',
      ],
      [
        'm/0',
        'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH',
      ],
      [
        'm/0/2147483647H',
        'xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a',
      ],
      [
        'm/0/2147483647H/1',
        'xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon',
      ],
      [
        'm/0/2147483647H/1/2147483646H',
        'xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL',
      ],
      [
        'm/0/2147483647H/1/2147483646H/2',
        'xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt',
      ],
    ],
  ],
  [
    '4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be',
    [
      [
        'm',
        'xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13',
      ],
      [
        'm/0H',
        'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y',
      ],
    ],
  ],
  [
    '3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678',
    [
      [
        'm',
        'xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa',
      ],
      [
        'm/0H',
        'xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m',
      ],
      [
        'm/0H/1H',
        'xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt',
      ],
    ],
  ],
];

const SLIP10_V1_SEED = '000102030405060708090a0b0c0d0e0f';
const SLIP10_V1: Slip10Row[] = [
  [
    'm',
    '00000000',
    '90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb',
    '2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7',
    '00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed',
  ],
  [
    'm/0H',
    'ddebc675',
    '8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69',
    '68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3',
    '008c8a13df77a28f3445213a0f432fde644acaa215fc72dcdf300d5efaa85d350c',
  ],
  [
    'm/0H/1H',
    '13dab143',
    'a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14',
    'b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2',
    '001932a5270f335bed617d5b935c80aedb1a35bd9fc1e31acafd5372c30f5c1187',
  ],
  [
    'm/0H/1H/2H',
    'ebe4cb29',
    '2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c',
    '92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9',
    '00ae98736566d30ed0e9d2f4486a64bc95740d89c7db33f52121f8ea8f76ff0fc1',
  ],
  [
    'm/0H/1H/2H/2H',
    '316ec1c6',
    '8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc',
    '30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662',
    '008abae2d66361c879b900d204ad2cc4984fa2aa344dd7ddc46007329ac76c429c',
  ],
  [
    'm/0H/1H/2H/2H/1000000000H',
    'd6322ccd',
    '68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230',
    '8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793',
    '003c24da049451555d51a7014a37337aa4e12d41e485abccfa46b47dfb2af54b7a',
  ],
];

const SLIP10_V2_SEED =
  'fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542';
const SLIP10_V2: Slip10Row[] = [
  [
    'm',
    '00000000',
    'ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b',
    '171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012',
    '008fe9693f8fa62a4305a140b9764c5ee01e455963744fe18204b4fb948249308a',
  ],
  [
    'm/0H',
    '31981b50',
    '0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d',
    '1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635',
    '0086fab68dcb57aa196c77c5f264f215a112c22a912c10d123b0d03c3c28ef1037',
  ],
  [
    'm/0H/2147483647H',
    '1e9411b1',
    '138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f',
    'ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4',
    '005ba3b9ac6e90e83effcd25ac4e58a1365a9e35a3d3ae5eb07b9e4d90bcf7506d',
  ],
  [
    'm/0H/2147483647H/1H',
    'fcadf38c',
    '73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90',
    '3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c',
    '002e66aa57069c86cc18249aecf5cb5a9cebbfd6fadeab056254763874a9352b45',
  ],
  [
    'm/0H/2147483647H/1H/2147483646H',
    'aca70953',
    '0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a',
    '5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72',
    '00e33c0f7d81d843c572275f287498e8d408654fdf0d1e065b84e2e6f157aab09b',
  ],
  [
    'm/0H/2147483647H/1H/2147483646H/2H',
    '422c654b',
    '5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4',
    '551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d',
    '0047150c75db263559a70d5778bf36abbab30fb061ad69f69ece61a72b0cfa4fc0',
  ],
];

// ---- crypto/hd.ts against vectors and src/hd ----------------------------------------------------

test('BIP32 vectors 1-4: every chain, private derivation in the enclave, gives the published xpub', () => {
  for (const [seed, chains] of BIP32_VECTORS) {
    for (const [path, xpub] of chains) {
      const node = deriveHdNode('secp256k1', unhex(seed), parsePath(bip(path)));
      const publicKey = hdPublicKey('secp256k1', node.privateKey);
      assert.equal(xpubOf({ ...node, publicKey }), xpub, `${seed.slice(0, 8)} ${path}`);
    }
  }
});

test('SLIP-10 Ed25519 vectors 1 and 2: chain code, private and public key, fingerprints', () => {
  for (const [seedHex, rows] of [
    [SLIP10_V1_SEED, SLIP10_V1],
    [SLIP10_V2_SEED, SLIP10_V2],
  ] as const) {
    const seed = unhex(seedHex);
    for (const [i, [path, , chainCode, priv, pub]] of rows.entries()) {
      const node = deriveHdNode('ed25519', seed, parsePath(bip(path)));
      assert.equal(hex(node.chainCode), chainCode, path);
      assert.equal(hex(node.privateKey), priv, path);
      const publicKey = hdPublicKey('ed25519', node.privateKey);
      assert.equal('00' + hex(publicKey), pub, path);
      // The next row's parent fingerprint is this node's fingerprint (the SLIP's construction).
      const next = rows[i + 1];
      if (next) assert.equal(hex(hdFingerprint('ed25519', publicKey)), next[1], path);
    }
  }
});

test('crypto/hd.ts agrees with src/hd on random seeds and paths (BIP32 mixed, SLIP-10 hardened)', () => {
  for (let t = 0; t < 150; t++) {
    const seed = rand(16 + randInt(49));
    const indices = Array.from({ length: randInt(7) }, () =>
      randInt(2) ? HARDENED_OFFSET + randInt(2 ** 31) : randInt(2 ** 31),
    );
    const mine = deriveHdNode('secp256k1', seed, indices);
    const lib = deriveSecp256k1(seed, indices);
    assert.equal(hex(mine.privateKey), hex(lib.privateKey!));
    assert.equal(hex(mine.chainCode), hex(lib.chainCode));
    assert.equal(hex(hdPublicKey('secp256k1', mine.privateKey)), hex(lib.publicKey));
    assert.equal(u32(mine.parentFingerprint!), lib.parentFingerprint);
    assert.equal(mine.depth, lib.depth);
    assert.equal(mine.index, lib.index);

    const hardened = indices.map((i) => i | HARDENED_OFFSET).map((i) => i >>> 0);
    const ed = deriveHdNode('ed25519', seed, hardened);
    const edLib = deriveEd25519(seed, hardened);
    assert.equal(hex(ed.privateKey), hex(edLib.privateKey));
    assert.equal(hex(ed.chainCode), hex(edLib.chainCode));
    assert.equal(hex(hdPublicKey('ed25519', ed.privateKey)), hex(edLib.publicKey));
  }
  for (const algorithm of ['secp256k1', 'ed25519'] as const) {
    const seed = rand(64);
    const master = hdPublicKey(algorithm, deriveHdNode(algorithm, seed, []).privateKey);
    assert.equal(u32(hdFingerprint(algorithm, master)), hdMasterFingerprint(algorithm, seed), algorithm);
  }
});

test('BIP39 in the enclave: the sentence as bytes, the seed, and refusals that never name a word', () => {
  for (const size of [16, 20, 24, 28, 32]) {
    for (let t = 0; t < 20; t++) {
      const entropy = rand(size);
      const sentence = entropyToMnemonic(entropy, wordlist);
      assert.equal(Buffer.from(mnemonicBytesFromEntropy(entropy)).toString('utf8'), sentence);
      const pass = t % 2 ? '' : Buffer.from(rand(6)).toString('base64');
      assert.equal(
        hex(seedFromMnemonic(utf8(sentence), pass ? utf8(pass) : undefined)),
        hex(mnemonicToSeedSync(sentence, pass)),
      );
    }
  }
  // Trezor's vectors (trezor/python-mnemonic vectors.json), passphrase TREZOR.
  assert.equal(Buffer.from(mnemonicBytesFromEntropy(new Uint8Array(16))).toString('utf8'), ABANDON);
  assert.equal(
    hex(seedFromMnemonic(utf8(ABANDON), utf8('TREZOR'))),
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  );
  const zoo = mnemonicBytesFromEntropy(new Uint8Array(32).fill(0xff));
  assert.equal(Buffer.from(zoo).toString('utf8'), 'zoo '.repeat(23) + 'vote');
  assert.equal(
    hex(seedFromMnemonic(zoo, utf8('TREZOR'))),
    'dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad',
  );
  // Canonical forms: case and spacing of the sentence, and NFC/NFKD of the passphrase, do not matter.
  const nfc = 'Ünïcödé パスワード';
  const expected = hex(mnemonicToSeedSync(ABANDON, nfc));
  assert.equal(
    hex(seedFromMnemonic(utf8(`  ${ABANDON.toUpperCase().replaceAll(' ', ' \n\t')} `), utf8(nfc))),
    expected,
  );
  assert.equal(hex(seedFromMnemonic(utf8(ABANDON), utf8(nfc.normalize('NFKD')))), expected);

  const words = ABANDON.split(' ');
  const quiet = (m: RegExp) => (e: unknown) => {
    const msg = (e as Error).message;
    assert.match(msg, m);
    for (const w of ['abandon', 'about', 'zoo', 'vote', 'abandonn']) assert.ok(!msg.includes(w), msg);
    return true;
  };
  assert.throws(
    () => seedFromMnemonic(utf8(words.slice(0, 11).concat('abandon').join(' '))),
    quiet(/checksum/),
  );
  assert.throws(
    () => seedFromMnemonic(utf8([...words.slice(0, 4), 'abandonn', ...words.slice(5)].join(' '))),
    quiet(/word 5 /),
  );
  assert.throws(
    () => seedFromMnemonic(utf8(words.slice(0, 11).join(' '))),
    quiet(/12, 15, 18, 21 or 24 words/),
  );
  expectCode(() => seedFromMnemonic(utf8(ABANDON.slice(0, -5) + 'zoo vote')), 'INVALID_REQUEST');
  expectCode(() => seedFromMnemonic(Uint8Array.of(0xff, 0xfe, 0x20)), 'INVALID_REQUEST', /UTF-8/);
  expectCode(() => seedFromMnemonic(utf8(ABANDON), Uint8Array.of(0xc3)), 'INVALID_REQUEST', /UTF-8/);
  expectCode(() => deriveHdNode('ed25519', rand(64), parsePath("m/44'/0")), 'INVALID_REQUEST', /step 2/);
  expectCode(() => deriveHdNode('p256' as 'ed25519', rand(64), []), 'UNSUPPORTED');
  expectCode(() => deriveHdNode('secp256k1', rand(15), []), 'INVALID_KEY');
});

// ---- through the worker pool -------------------------------------------------------------------

let tmp: TempDir;
let enclave: SoftwareEnclave;
let n = 0;
const newId = () => `hd-key-${++n}`;

before(async () => {
  tmp = makeTempDir('enclave-hd');
  enclave = await createSoftwareEnclave({ dataDir: tmp.dir, dev: true, threads: 2 });
});

after(async () => {
  await enclave.close();
  await tmp.cleanup();
});

async function importRoot(
  algorithm: Algorithm,
  mnemonic = ABANDON,
  passphrase?: string,
): Promise<{ ref: SealedKeyRef; publicKey: Uint8Array; fingerprint: Uint8Array; chainCode?: Uint8Array }> {
  const keyId = newId();
  const k = await enclave.importMnemonic({
    keyId,
    version: 1,
    algorithm,
    mnemonic: utf8(mnemonic),
    ...(passphrase === undefined ? {} : { passphrase: utf8(passphrase) }),
  });
  assert.ok(k.hd, 'an HD root says so');
  return {
    ref: { keyId, version: 1, algorithm, sealed: k.sealed },
    publicKey: k.publicKey,
    fingerprint: k.hd.fingerprint,
    ...(k.hd.chainCode ? { chainCode: k.hd.chainCode } : {}),
  };
}

test('"abandon … about" imported: master fingerprint and xpub, BIP84, BIP86 and BIP44 Ethereum', async () => {
  const root = await importRoot('secp256k1');
  assert.equal(hex(root.fingerprint), '73c5da0a');
  assert.equal(
    xpubOf({
      publicKey: root.publicKey,
      chainCode: root.chainCode!,
      depth: 0,
      index: 0,
      parentFingerprint: new Uint8Array(4),
    }),
    'xpub661MyMwAqRbcFkPHucMnrGNzDwb6teAX1RbKQmqtEF8kK3Z7LZ59qafCjB9eCRLiTVG3uxBxgKvRgbubRhqSKXnGGb1aoaqLrpMBDrVxga8',
  );
  const m = await enclave.derive(root.ref, 'm');
  assert.equal(hex(m.publicKey), hex(root.publicKey));

  // BIP84 (bitcoin/bips bip-0084.mediawiki): the account zpub, then the first receiving address.
  const account84 = await enclave.derive(root.ref, "m/84'/0'/0'");
  const zpub = HDKey.fromExtendedKey(
    'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs',
    { private: 0x04b2430c, public: 0x04b24746 },
  );
  assert.equal(hex(account84.publicKey), hex(zpub.publicKey!));
  assert.equal(hex(account84.chainCode!), hex(zpub.chainCode!));
  assert.equal(account84.depth, 3);
  assert.equal(account84.index, HARDENED_OFFSET);
  assert.equal(
    hex(account84.parentFingerprint!),
    hex(Buffer.from(zpub.parentFingerprint.toString(16).padStart(8, '0'), 'hex')),
  );
  const first84 = await enclave.derive(root.ref, "m/84'/0'/0'/0/0");
  assert.equal(
    bitcoinAddresses(first84.publicKey, 'bitcoin').p2wpkh,
    'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
  );

  // BIP86 (bip-0086.mediawiki): account xpub, internal key, output key and address.
  assert.equal(
    xpubOf(await enclave.derive(root.ref, "m/86'/0'/0'")),
    'xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ',
  );
  const first86 = await enclave.derive(root.ref, 'm/86h/0h/0h/0/0');
  assert.equal(
    hex(first86.publicKey.subarray(1)),
    'cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115',
  );
  const outputKey = taprootOutputKey(first86.publicKey);
  assert.equal(hex(outputKey), 'a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c');
  assert.equal(
    bitcoinAddresses(first86.publicKey, 'bitcoin').p2tr,
    'bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr',
  );

  // BIP44 Ethereum, the first account of every wallet that uses this mnemonic.
  const eth = await enclave.derive(root.ref, "m/44'/60'/0'/0/0");
  assert.equal(ethereumAddress(eth.publicKey), '0x9858EfFD232B4033E47d90003D41EC34EcaEda94');

  // Signatures at a path, judged by noble against the derived key: ECDSA over a digest and over a
  // message, BIP340 under the child's x-only key, and BIP340 under the child's BIP86 output key.
  const digest = rand(32);
  const ecdsa = await enclave.sign(root.ref, { digest, path: "m/44'/60'/0'/0/0" });
  assert.ok(secp256k1.verify(ecdsa.signature, digest, eth.publicKey, { prehash: false }));
  assert.ok(ecdsa.recoveryId === 0 || ecdsa.recoveryId === 1);
  const recovered = secp256k1.Signature.fromBytes(ecdsa.signature).addRecoveryBit(ecdsa.recoveryId!);
  assert.equal(hex(recovered.recoverPublicKey(digest).toBytes(true)), hex(eth.publicKey));
  const msg = utf8('hello from a child');
  const bymsg = await enclave.sign(root.ref, { message: msg, path: "m/44'/60'/0'/0/0" });
  assert.ok(secp256k1.verify(bymsg.signature, msg, eth.publicKey));
  const bip340 = await enclave.sign(root.ref, { digest, scheme: 'schnorr', path: "m/86'/0'/0'/0/0" });
  assert.ok(schnorr.verify(bip340.signature, digest, first86.publicKey.subarray(1)));
  const taproot = await enclave.sign(root.ref, {
    digest,
    scheme: 'schnorr-taproot',
    path: "m/86'/0'/0'/0/0",
  });
  assert.ok(schnorr.verify(taproot.signature, digest, outputKey));
  assert.ok(!schnorr.verify(taproot.signature, digest, first86.publicKey.subarray(1)));
  // The master key itself signs only when asked for by name ("m").
  const master = await enclave.sign(root.ref, { digest, path: 'm' });
  assert.ok(secp256k1.verify(master.signature, digest, root.publicKey, { prehash: false }));
  // Same path, other spelling: the same key.
  const again = await enclave.sign(root.ref, { digest, path: "m/44h/60H/0'/0/0" });
  assert.equal(hex(again.signature), hex(ecdsa.signature));
});

test('a BIP39 passphrase gives another wallet (Trezor vector, TREZOR)', async () => {
  const root = await importRoot('secp256k1', ABANDON, 'TREZOR');
  const seed = unhex(
    'c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04',
  );
  const lib = HDKey.fromMasterSeed(seed);
  assert.equal(hex(root.publicKey), hex(lib.publicKey!));
  // Trezor's vectors.json gives this seed's root xprv; its public half is the root key.
  assert.equal(
    HDKey.fromExtendedKey(
      'xprv9s21ZrQH143K3h3fDYiay8mocZ3afhfULfb5GX8kCBdno77K4HiA15Tg23wpbeF1pLfs1c5SPmYHrEpTuuRhxMwvKDwqdKiGJS9XFKzUsAF',
    ).publicExtendedKey,
    lib.publicExtendedKey,
  );
  const path = "m/84'/0'/0'/0/3";
  assert.equal(hex((await enclave.derive(root.ref, path)).publicKey), hex(lib.derive(path).publicKey!));
});

test('Ed25519 roots: SLIP-10 derivation and signing at a hardened path, refusals of non-hardened steps', async () => {
  const root = await importRoot('ed25519');
  const seed = mnemonicToSeedSync(ABANDON);
  assert.equal(hex(root.publicKey), hex(deriveEd25519(seed, []).publicKey));
  assert.equal(root.publicKey.length, 32);
  assert.equal(u32(root.fingerprint), hdMasterFingerprint('ed25519', seed));
  assert.equal(root.chainCode, undefined, 'no chain code leaves for an Ed25519 root');
  const path = "m/44'/501'/0'/0'";
  const child = await enclave.derive(root.ref, path);
  assert.deepEqual(Object.keys(child), ['publicKey']);
  assert.equal(hex(child.publicKey), hex(deriveEd25519(seed, path).publicKey));
  const message = utf8('solana-style message');
  const sig = await enclave.sign(root.ref, { message, path });
  assert.ok(ed25519.verify(sig.signature, message, child.publicKey, { zip215: false }));
  assert.equal(sig.recoveryId, undefined);
  // After signing, the child is cached; derive answers the same from it.
  assert.equal(hex((await enclave.derive(root.ref, path)).publicKey), hex(child.publicKey));
  await expectCodeAsync(
    enclave.derive(root.ref, "m/44'/501'/0'/0"),
    'INVALID_REQUEST',
    /step 4 is not hardened/,
  );
  await expectCodeAsync(
    enclave.sign(root.ref, { message, path: "m/44'/501/0'" }),
    'INVALID_REQUEST',
    /step 2/,
  );
  await expectCodeAsync(enclave.sign(root.ref, { digest: rand(32), path }), 'UNSUPPORTED');
});

test('generated roots: a fresh mnemonic each time, derivation and signing on both curves', async () => {
  for (const algorithm of ['secp256k1', 'ed25519'] as const) {
    const made = [];
    for (let i = 0; i < 2; i++) {
      const keyId = newId();
      const k = await enclave.generate({ keyId, version: 1, algorithm, hd: true });
      assert.ok(k.hd);
      assert.equal(k.hd.fingerprint.length, 4);
      assert.equal(k.hd.chainCode?.length, algorithm === 'secp256k1' ? 32 : undefined);
      assert.equal(k.publicKey.length, algorithm === 'secp256k1' ? 33 : 32);
      made.push({ ref: { keyId, version: 1, algorithm, sealed: k.sealed }, ...k });
    }
    assert.notEqual(hex(made[0]!.publicKey), hex(made[1]!.publicKey));
    const path = algorithm === 'secp256k1' ? "m/44'/0'/0'/1/7" : "m/44'/501'/1'";
    for (const r of made) {
      assert.equal(hex((await enclave.derive(r.ref, 'm')).publicKey), hex(r.publicKey));
      const child = (await enclave.derive(r.ref, path)).publicKey;
      const message = utf8('generated');
      const { signature } = await enclave.sign(r.ref, { message, path });
      assert.ok(
        algorithm === 'secp256k1'
          ? secp256k1.verify(signature, message, child)
          : ed25519.verify(signature, message, child),
      );
      assert.ok(await enclave.verify({ algorithm, publicKey: child, message, signature }));
      assert.ok(!(await enclave.verify({ algorithm, publicKey: r.publicKey, message, signature })));
    }
  }
});

test("the caller's mnemonic and passphrase buffers are zeroed, whether the import works or not", async () => {
  for (const [mnemonic, ok] of [
    [ABANDON, true],
    [ABANDON.replace('about', 'zoo'), false],
  ] as const) {
    const m = utf8(mnemonic);
    const p = utf8('a passphrase');
    const r = enclave.importMnemonic({
      keyId: newId(),
      version: 1,
      algorithm: 'secp256k1',
      mnemonic: m,
      passphrase: p,
    });
    assert.ok(
      m.every((b) => b === 0),
      'mnemonic zeroed at once',
    );
    assert.ok(
      p.every((b) => b === 0),
      'passphrase zeroed at once',
    );
    if (ok) await r;
    else await expectCodeAsync(r, 'INVALID_REQUEST', /checksum/);
  }
  const m = utf8(ABANDON);
  await expectCodeAsync(
    enclave.importMnemonic({ keyId: newId(), version: 1, algorithm: 'p256', mnemonic: m }),
    'UNSUPPORTED',
  );
  assert.ok(m.every((b) => b === 0));
});

test('refusals: wrong kind of key, missing or malformed path, p256, tampering', async () => {
  const root = await importRoot('secp256k1');
  const keyId = newId();
  const single = await enclave.generate({ keyId, version: 1, algorithm: 'secp256k1' });
  assert.equal(single.hd, undefined);
  const singleRef: SealedKeyRef = { keyId, version: 1, algorithm: 'secp256k1', sealed: single.sealed };
  const digest = rand(32);

  await expectCodeAsync(enclave.sign(root.ref, { digest }), 'INVALID_REQUEST', /HD root.*path/);
  await expectCodeAsync(enclave.sign(singleRef, { digest, path: "m/0'" }), 'INVALID_REQUEST', /HD key/);
  await expectCodeAsync(enclave.derive(singleRef, "m/0'"), 'INVALID_REQUEST', /HD key/);
  for (const bad of ['', 'm/', "44'/0'", 'm//1', 'm/2147483648', "m/1''", 'm/01', 'M/1', 'm/-1', 'm/1 '])
    await expectCodeAsync(enclave.derive(root.ref, bad), 'INVALID_REQUEST', undefined);
  await expectCodeAsync(enclave.derive(root.ref, 'm' + "/0'".repeat(33)), 'INVALID_REQUEST', /deeper/);
  await expectCodeAsync(enclave.sign(root.ref, { digest, path: 'm/x' }), 'INVALID_REQUEST');
  await expectCodeAsync(enclave.sign(root.ref, { digest, path: 7 as unknown as string }), 'INVALID_REQUEST');
  await expectCodeAsync(
    enclave.generate({ keyId: newId(), version: 1, algorithm: 'p256', hd: true }),
    'UNSUPPORTED',
  );
  await expectCodeAsync(
    enclave.generate({ keyId: newId(), version: 1, algorithm: 'secp256k1', hd: 'yes' as unknown as boolean }),
    'INVALID_REQUEST',
  );
  const tampered = new Uint8Array(root.ref.sealed);
  tampered[30]! ^= 1;
  await expectCodeAsync(enclave.derive({ ...root.ref, sealed: tampered }, "m/0'"), 'ENCLAVE_FAILURE');
  await expectCodeAsync(
    enclave.sign({ ...root.ref, keyId: 'other' }, { digest, path: "m/0'" }),
    'ENCLAVE_FAILURE',
  );
  // A sealed HD root presented as another algorithm does not open (the algorithm is bound).
  await expectCodeAsync(enclave.derive({ ...root.ref, algorithm: 'ed25519' }, "m/0'"), 'ENCLAVE_FAILURE');
  assert.equal(enclave.liveWorkers, 2);
});

test('children are cached per path, bound to the sealed blob, and evicted with their key', async () => {
  const root = await importRoot('secp256k1');
  const paths = ["m/44'/60'/0'/0/0", "m/44'/60'/0'/0/1", "m/84'/0'/0'/0/0"];
  const sign = (path: string, ref = root.ref) => enclave.sign(ref, { digest: rand(32), path });
  const hits = async () => (await enclave.stats()).reduce((a, s) => a + s.hits, 0);
  const cached = async () => (await enclave.stats()).reduce((a, s) => a + s.cached, 0);
  for (const p of paths) await sign(p);
  const h0 = await hits();
  for (let i = 0; i < 6; i++) for (const p of paths) await sign(p);
  assert.ok((await hits()) - h0 >= 18, 'repeat signatures at a path are cache hits');
  const before = await cached();
  await enclave.evict(root.ref.keyId);
  assert.ok((await cached()) <= before - paths.length - 1, 'root and children evicted');
  // Evicting another version leaves this one alone.
  for (const p of paths) await sign(p);
  const mid = await cached();
  await enclave.evict(root.ref.keyId, 2);
  assert.equal(await cached(), mid);
  // A re-sealed blob for the same id/version never meets the old blob's children.
  const again = await enclave.importMnemonic({
    keyId: root.ref.keyId,
    version: 1,
    algorithm: 'secp256k1',
    mnemonic: utf8(ABANDON),
    passphrase: utf8('another wallet'),
  });
  const other: SealedKeyRef = { ...root.ref, sealed: again.sealed };
  const digest = rand(32);
  const want = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON, 'another wallet')).derive(
    paths[0]!,
  ).publicKey!;
  const sig = await enclave.sign(other, { digest, path: paths[0]! });
  assert.ok(secp256k1.verify(sig.signature, digest, want, { prehash: false }));

  // With the cache off, a child is derived for each signature and wiped after it.
  const tmp2 = makeTempDir('enclave-hd-nocache');
  const nocache = await createSoftwareEnclave({
    dataDir: tmp2.dir,
    dev: true,
    threads: 1,
    cache: { max: 0 },
  });
  try {
    const k = await nocache.importMnemonic({
      keyId: 'nc',
      version: 1,
      algorithm: 'ed25519',
      mnemonic: utf8(ABANDON),
    });
    const ref: SealedKeyRef = { keyId: 'nc', version: 1, algorithm: 'ed25519', sealed: k.sealed };
    const message = utf8('no cache');
    const path = "m/44'/501'/0'/0'";
    const pub = (await nocache.derive(ref, path)).publicKey;
    for (let i = 0; i < 3; i++)
      assert.ok(ed25519.verify((await nocache.sign(ref, { message, path })).signature, message, pub));
    const [s] = await nocache.stats();
    assert.equal(s!.cached, 0);
  } finally {
    await nocache.close();
    await tmp2.cleanup();
  }
});
