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
import { encodeXpub } from '../../src/hd/bip32.js';
import { deriveEd25519, deriveSecp256k1, hdMasterFingerprint } from '../hd/oracles/index.js';
import { HARDENED_OFFSET, parsePath } from '../../src/hd/path.js';
import { bitcoinAddresses } from '../../src/chains/bitcoin/address.js';
import { ethereumAddress } from '../../src/chains/ethereum/address.js';
import { makeTempDir, type TempDir } from '../helpers/tmp.js';
import { expectCode, expectCodeAsync, hex, unhex, utf8 } from './_support.js';
import { BIP32_VECTORS } from '../fixtures/bip32.js';
import { SLIP10_V1, SLIP10_V1_SEED, SLIP10_V2, SLIP10_V2_SEED } from '../fixtures/slip10-ed25519.js';

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

// ---- crypto/hd.ts against vectors and src/hd ----------------------------------------------------

test('BIP32 vectors 1-4: every chain, private derivation in the enclave, gives the published xpub', () => {
  assert.equal(BIP32_VECTORS.length, 4);
  for (const { seed, chains } of BIP32_VECTORS) {
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
