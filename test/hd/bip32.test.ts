// BIP32 test vectors 1–5, copied from bitcoin/bips bip-0032.mediawiki "Test Vectors" (vectors 1–3
// at commit d9264508ce37688a137ec28f8d522e91a1672875; vectors 4 and 5 from the same file's current
// text). Paths use the BIP's "H" notation for hardened steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  derivePublicChild,
  deriveSecp256k1,
  deriveSecp256k1PublicKey,
  encodeXprv,
  encodeXpub,
  fingerprintHex,
  masterFingerprint,
  parseExtendedKey,
  wipeNode,
} from '../../src/hd/bip32.js';
import { deriveHdKey, deriveHdPublicKey, hdMasterFingerprint } from '../../src/hd/index.js';
import { assertKeymeshError, hex, unhex } from '../chains/_assert.js';

interface Vector {
  seed: string;
  chains: [path: string, xpub: string, xprv: string][];
}

const VECTORS: Vector[] = [
  {
    seed: '000102030405060708090a0b0c0d0e0f',
    chains: [
      [
        'm',
        'xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8',
        'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi',
      ],
      [
        'm/0H',
        'xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw',
        'xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7',
      ],
      [
        'm/0H/1',
        'xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ',
        'xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs',
      ],
      [
        'm/0H/1/2H',
        'xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5',
        'xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM',
      ],
      [
        'm/0H/1/2H/2',
        'xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV',
        'xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334',
      ],
      [
        'm/0H/1/2H/2/1000000000',
        'xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy',
        'xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76',
      ],
    ],
  },
  {
    seed: 'fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542',
    chains: [
      [
        'm',
        'xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB',
        'xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U',
      ],
      [
        'm/0',
        'xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH',
        'xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt',
      ],
      [
        'm/0/2147483647H',
        'xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a',
        'xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9',
      ],
      [
        'm/0/2147483647H/1',
        'xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon',
        'xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef',
      ],
      [
        'm/0/2147483647H/1/2147483646H',
        'xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL',
        'xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc',
      ],
      [
        'm/0/2147483647H/1/2147483646H/2',
        'xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt',
        'xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j',
      ],
    ],
  },
  {
    // Vector 3: retention of leading zeros.
    seed: '4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be',
    chains: [
      [
        'm',
        'xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13',
        'xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6',
      ],
      [
        'm/0H',
        'xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y',
        'xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L',
      ],
    ],
  },
  {
    // Vector 4: retention of leading zeros (btcsuite/btcutil#172).
    seed: '3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678',
    chains: [
      [
        'm',
        'xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa',
        'xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvAwcSHNAQwhwgNMgZhLtQC63zxwhQmRv',
      ],
      [
        'm/0H',
        'xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m',
        'xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17boXtjq3xLpcDjzEuGLQBM5ohqkao9G',
      ],
      [
        'm/0H/1H',
        'xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt',
        'xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxspZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1',
      ],
    ],
  },
];

// Vector 5: extended keys that must be recognised as invalid, with the BIP's reason.
const INVALID_KEYS: [string, string][] = [
  [
    'xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm',
    'pubkey version / prvkey mismatch',
  ],
  [
    'xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH',
    'prvkey version / pubkey mismatch',
  ],
  [
    'xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn',
    'invalid pubkey prefix 04',
  ],
  [
    'xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ',
    'invalid prvkey prefix 04',
  ],
  [
    'xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4',
    'invalid pubkey prefix 01',
  ],
  [
    'xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J',
    'invalid prvkey prefix 01',
  ],
  [
    'xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv',
    'zero depth with non-zero parent fingerprint',
  ],
  [
    'xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ',
    'zero depth with non-zero parent fingerprint',
  ],
  [
    'xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN',
    'zero depth with non-zero index',
  ],
  [
    'xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8',
    'zero depth with non-zero index',
  ],
  [
    'DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4',
    'unknown extended key version',
  ],
  [
    'DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9',
    'unknown extended key version',
  ],
  [
    'xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx',
    'private key 0 not in 1..n-1',
  ],
  [
    'xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G',
    'private key n not in 1..n-1',
  ],
  [
    'xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY',
    'invalid pubkey 020000000000000000000000000000000000000000000000000000000000000007',
  ],
  [
    'xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL',
    'invalid checksum',
  ],
];

const bip = (path: string) => path.replaceAll('H', "'");

test('BIP32 test vectors 1-4: private derivation from the seed, xpub and xprv at every chain', () => {
  for (const v of VECTORS) {
    const seed = unhex(v.seed);
    for (const [path, xpub, xprv] of v.chains) {
      const node = deriveSecp256k1(seed, bip(path));
      assert.equal(encodeXpub(node), xpub, `${v.seed.slice(0, 8)} ${path} xpub`);
      assert.equal(encodeXprv(node), xprv, `${v.seed.slice(0, 8)} ${path} xprv`);
      // "h" is accepted as the hardened marker too.
      assert.equal(encodeXpub(deriveSecp256k1(seed, path.replaceAll('H', 'h'))), xpub);
      // Parsing the published strings gives back the same node.
      const parsedPriv = parseExtendedKey(xprv);
      assert.equal(hex(parsedPriv.privateKey!), hex(node.privateKey!));
      assert.equal(hex(parseExtendedKey(xpub).publicKey), hex(node.publicKey));
      assert.equal(hex(deriveSecp256k1PublicKey(seed, bip(path))), hex(node.publicKey));
    }
  }
});

test('BIP32 test vectors: public derivation of every non-hardened step from the parent xpub', () => {
  let checked = 0;
  for (const v of VECTORS) {
    for (let i = 1; i < v.chains.length; i++) {
      const [path, xpub] = v.chains[i]!;
      if (path.endsWith('H')) continue;
      const parent = parseExtendedKey(v.chains[i - 1]![1]);
      const last = Number(path.split('/').at(-1));
      assert.equal(encodeXpub(derivePublicChild(parent, [last])), xpub, path);
      checked++;
    }
  }
  assert.equal(checked, 6);
  // A hardened step cannot be derived from a public key.
  const xpub = parseExtendedKey(VECTORS[0]!.chains[0]![1]);
  assertKeymeshError(() => derivePublicChild(xpub, "m/0'"), /hardened/);
});

test('BIP32 test vector 5: every invalid extended key is refused with INVALID_REQUEST', () => {
  assert.equal(INVALID_KEYS.length, 16);
  for (const [key, reason] of INVALID_KEYS) {
    const e = assertKeymeshError(() => parseExtendedKey(key), /not a valid BIP32 extended key|Base58Check/);
    assert.ok(e, reason);
  }
});

test('BIP32: master fingerprint and wiping', () => {
  const seed = unhex(VECTORS[0]!.seed);
  // Vector 1's m/0H xpub records the master's fingerprint as its parent fingerprint.
  const child = parseExtendedKey(VECTORS[0]!.chains[1]![1]);
  assert.equal(masterFingerprint(seed), child.parentFingerprint);
  assert.equal(fingerprintHex(masterFingerprint(seed)), '3442193e');
  assert.equal(hdMasterFingerprint('secp256k1', seed), 0x3442193e);
  const node = deriveSecp256k1(seed, "m/0'/1");
  const priv = node.privateKey!;
  wipeNode(node);
  assert.ok(priv.every((b) => b === 0));
  assert.equal(node.privateKey, undefined);
});

test('BIP32: generic entry point and its refusals', () => {
  const seed = unhex(VECTORS[1]!.seed);
  const k = deriveHdKey('secp256k1', seed, 'm/0/2147483647h');
  assert.equal(k.publicKey.length, 33);
  assert.equal(k.privateKey.length, 32);
  assert.equal(hex(deriveHdPublicKey('secp256k1', seed, [0, 0x80000000 + 2147483647])), hex(k.publicKey));
  assertKeymeshError(() => deriveHdKey('p256', seed, 'm/0'), /secp256k1 and ed25519/, 'UNSUPPORTED');
  assertKeymeshError(() => deriveHdKey('secp256k1', seed, 'm/x'), /segment 1/);
  assertKeymeshError(
    () => deriveHdKey('secp256k1', new Uint8Array(8), 'm/0'),
    /16 to 64 bytes/,
    'INVALID_KEY',
  );
  assertKeymeshError(() => deriveSecp256k1(seed, [2 ** 32]), /out of range/);
});

test('BIP32: extended key parsing refuses non-keys', () => {
  for (const bad of [undefined, 12, '', 'xpub', 'x'.repeat(111), `${'1'.repeat(110)}0`, {}]) {
    assertKeymeshError(() => parseExtendedKey(bad));
  }
  // A testnet key is refused as mainnet and accepted as testnet.
  const node = deriveSecp256k1(unhex(VECTORS[0]!.seed), 'm');
  const tpub = encodeXpub(node, 'testnet');
  assert.ok(tpub.startsWith('tpub'));
  assertKeymeshError(() => parseExtendedKey(tpub));
  assert.equal(hex(parseExtendedKey(tpub, 'testnet').publicKey), hex(node.publicKey));
});
