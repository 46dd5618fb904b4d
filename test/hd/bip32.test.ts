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
  fingerprintHex,
  masterFingerprint,
  parseExtendedKey,
  wipeNode,
} from './oracles/bip32.js';
import { deriveHdKey, deriveHdPublicKey, hdMasterFingerprint } from './oracles/index.js';
import { encodeXpub } from '../../src/hd/bip32.js';
import { assertKeymeshError, hex, unhex } from '../chains/_assert.js';
import { BIP32_VECTORS as VECTORS } from '../fixtures/bip32.js';

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
