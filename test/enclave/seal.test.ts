// Sealing (crypto/seal.ts) and the sealing key's sources (sealing-key.ts): round trips, the
// associated data binding key id, version and algorithm, tampering anywhere in a blob, the fixed
// AD encoding, and the dev key file's and seal.json's rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRandomValues } from 'node:crypto';
import { KeymeshError } from '../../src/errors.js';
import {
  SEAL_FORMAT_V1,
  SealKind,
  seal,
  sealAssociatedData,
  unseal,
  unsealRawKey,
  type SealBinding,
} from '../../src/enclave/crypto/seal.js';
import {
  DEFAULT_ARGON2,
  DEV_KEY_FILE,
  SEAL_CONFIG_FILE,
  loadDevSealingKey,
  loadPassphraseSealingKey,
  loadSealingKey,
} from '../../src/enclave/sealing-key.js';
import { withTempDir } from '../helpers/tmp.js';
import { expectCode, hex, utf8 } from './_support.js';

const rand = (n: number) => getRandomValues(new Uint8Array(n));
const binding: SealBinding = {
  keyId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
  version: 1,
  algorithm: 'secp256k1',
};
const CHEAP = { m: 8 * 1024, t: 1, p: 1 };

test('seal/unseal round trip, format, and fresh nonces', () => {
  const key = rand(32);
  for (let i = 0; i < 50; i++) {
    const body = rand(i === 0 ? 0 : 32 + (i % 40));
    const blob = seal(key, binding, SealKind.rawKey, body);
    assert.equal(blob[0], SEAL_FORMAT_V1);
    assert.equal(blob.length, 1 + 12 + 1 + body.length + 16);
    const out = unseal(key, binding, blob);
    assert.equal(out.kind, SealKind.rawKey);
    assert.equal(hex(out.body), hex(body));
  }
  const body = rand(32);
  assert.notEqual(
    hex(seal(key, binding, 1, body)),
    hex(seal(key, binding, 1, body)),
    'random nonce per seal',
  );
  const hd = seal(key, binding, SealKind.bip39Seed, rand(64));
  assert.equal(unseal(key, binding, hd).kind, SealKind.bip39Seed);
  expectCode(() => unsealRawKey(key, binding, hd), 'UNSUPPORTED');
});

test('unseal fails, without detail, for another key id, version, algorithm or sealing key', () => {
  const key = rand(32);
  const secret = rand(32);
  const blob = seal(key, binding, SealKind.rawKey, secret);
  const others: SealBinding[] = [
    { ...binding, keyId: binding.keyId.replace(/.$/, 'c') },
    { ...binding, keyId: binding.keyId + ' ' },
    { ...binding, version: 2 },
    { ...binding, version: 0 },
    { ...binding, algorithm: 'p256' },
    { ...binding, algorithm: 'ed25519' },
  ];
  for (const b of others)
    expectCode(() => unseal(key, b, blob), 'ENCLAVE_FAILURE', /^the sealed key could not be opened$/);
  expectCode(() => unseal(rand(32), binding, blob), 'ENCLAVE_FAILURE');
  try {
    unseal(rand(32), binding, blob);
  } catch (e) {
    assert.ok(e instanceof KeymeshError);
    assert.ok(!e.message.includes(hex(secret)) && !e.message.includes(hex(key)));
  }
});

test('unseal fails when any bit of the blob is flipped, or it is cut short or extended', () => {
  const key = rand(32);
  const blob = seal(key, binding, SealKind.rawKey, rand(32));
  for (let bit = 0; bit < blob.length * 8; bit++) {
    const bad = new Uint8Array(blob);
    bad[bit >> 3]! ^= 1 << (bit & 7);
    expectCode(() => unseal(key, binding, bad), 'ENCLAVE_FAILURE');
  }
  for (let len = 0; len < blob.length; len++)
    expectCode(() => unseal(key, binding, blob.subarray(0, len)), 'ENCLAVE_FAILURE');
  expectCode(() => unseal(key, binding, new Uint8Array([...blob, 0])), 'ENCLAVE_FAILURE');
  expectCode(() => unseal(key, binding, 'blob' as unknown as Uint8Array), 'ENCLAVE_FAILURE');
});

test('the associated data encoding is fixed (domain, then length-prefixed key id, version, algorithm)', () => {
  const ad = sealAssociatedData({ keyId: 'k', version: 258, algorithm: 'p256' });
  assert.equal(
    hex(ad),
    '0000000f' +
      hex(utf8('keymesh/seal/v1')) +
      '00000001' +
      hex(utf8('k')) +
      '00000004' +
      '00000102' +
      '00000004' +
      hex(utf8('p256')),
  );
  // Length prefixes keep ("ab", "c") and ("a", "bc")-style shifts apart.
  assert.notEqual(
    hex(sealAssociatedData({ keyId: 'ab', version: 1, algorithm: 'p256' })),
    hex(sealAssociatedData({ keyId: 'a', version: 1, algorithm: 'p256' })),
  );
  expectCode(() => sealAssociatedData({ ...binding, keyId: '' }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, keyId: '\ud800' }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, keyId: 'x'.repeat(257) }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, version: -1 }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, version: 1.5 }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, version: 2 ** 32 }), 'INVALID_REQUEST');
  expectCode(() => sealAssociatedData({ ...binding, algorithm: 'rsa' as 'p256' }), 'INVALID_REQUEST');
  expectCode(() => seal(rand(31), binding, 1, rand(32)), 'INVALID_REQUEST');
  expectCode(() => seal(rand(32), binding, 0, rand(32)), 'INVALID_REQUEST');
});

test('dev sealing key: created 0600 with 32 bytes, reused, and refused when exposed or damaged', async () => {
  await withTempDir('enclave-dev-key', async (dir) => {
    const a = loadDevSealingKey(dir);
    const path = join(dir, DEV_KEY_FILE);
    const st = statSync(path);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.size, 32);
    assert.equal(hex(loadDevSealingKey(dir)), hex(a), 'the same key on the next start');
    assert.equal(hex(loadSealingKey({ dataDir: dir, dev: true })), hex(a));

    chmodSync(path, 0o640);
    expectCode(() => loadDevSealingKey(dir), 'ENCLAVE_FAILURE', /mode 0600/);
    chmodSync(path, 0o604);
    expectCode(() => loadDevSealingKey(dir), 'ENCLAVE_FAILURE', /mode 0600/);
    chmodSync(path, 0o600);

    writeFileSync(path, new Uint8Array(31), { mode: 0o600 });
    expectCode(() => loadDevSealingKey(dir), 'ENCLAVE_FAILURE', /exactly 32 bytes/);
    writeFileSync(path, new Uint8Array(33), { mode: 0o600 });
    expectCode(() => loadDevSealingKey(dir), 'ENCLAVE_FAILURE', /exactly 32 bytes/);
  });
  await withTempDir('enclave-dev-key-link', async (dir) => {
    const real = join(dir, 'elsewhere.key');
    writeFileSync(real, new Uint8Array(32), { mode: 0o600 });
    symlinkSync(real, join(dir, DEV_KEY_FILE));
    expectCode(() => loadDevSealingKey(dir), 'ENCLAVE_FAILURE', /symbolic link/);
  });
  await withTempDir('enclave-dev-key-nested', async (dir) => {
    // A data directory that does not exist yet is created (0700).
    const nested = join(dir, 'a', 'b');
    loadDevSealingKey(nested);
    assert.equal(statSync(nested).mode & 0o777, 0o700);
  });
});

test('passphrase sealing key: seal.json on first start, same key after, wrong passphrase refused', async () => {
  await withTempDir('enclave-passphrase', async (dir) => {
    const pass = utf8('correct horse battery staple');
    const a = loadPassphraseSealingKey(dir, pass, CHEAP);
    const path = join(dir, SEAL_CONFIG_FILE);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const config = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(
      { kdf: config.kdf, m: config.m, t: config.t, p: config.p },
      { kdf: 'argon2id', m: CHEAP.m, t: CHEAP.t, p: CHEAP.p },
    );
    assert.ok(!readFileSync(path, 'utf8').includes(hex(a)), 'the key itself is not stored');
    assert.equal(hex(loadPassphraseSealingKey(dir, pass)), hex(a), 'same passphrase, same key');
    // The stored parameters govern later starts, whatever the caller would initialise with.
    assert.equal(hex(loadPassphraseSealingKey(dir, pass, DEFAULT_ARGON2)), hex(a));
    expectCode(
      () => loadPassphraseSealingKey(dir, utf8('correct horse battery stapler')),
      'ENCLAVE_FAILURE',
      /^wrong unseal passphrase$/,
    );

    // A tampered file: parameters below the floor, a different salt, or garbage.
    const original = readFileSync(path, 'utf8');
    writeFileSync(path, JSON.stringify({ ...config, m: 1024 }), { mode: 0o600 });
    expectCode(() => loadPassphraseSealingKey(dir, pass), 'ENCLAVE_FAILURE', /parameter m/);
    writeFileSync(path, JSON.stringify({ ...config, salt: Buffer.from(rand(16)).toString('base64') }), {
      mode: 0o600,
    });
    expectCode(() => loadPassphraseSealingKey(dir, pass), 'ENCLAVE_FAILURE', /^wrong unseal passphrase$/);
    writeFileSync(path, '{not json', { mode: 0o600 });
    expectCode(
      () => loadPassphraseSealingKey(dir, pass),
      'ENCLAVE_FAILURE',
      /not a valid seal configuration/,
    );
    writeFileSync(path, original, { mode: 0o644 });
    chmodSync(path, 0o644);
    expectCode(() => loadPassphraseSealingKey(dir, pass), 'ENCLAVE_FAILURE', /mode 0600/);
  });
  await withTempDir('enclave-passphrase-args', async (dir) => {
    expectCode(
      () => loadSealingKey({ dataDir: dir, dev: false }),
      'ENCLAVE_FAILURE',
      /passphrase is required/,
    );
    expectCode(
      () => loadSealingKey({ dataDir: dir, dev: false, passphrase: new Uint8Array(0) }),
      'ENCLAVE_FAILURE',
    );
    expectCode(() => loadSealingKey({ dataDir: dir, dev: true, passphrase: utf8('x') }), 'INVALID_REQUEST');
  });
  await withTempDir('enclave-mode-switch', async (dir) => {
    loadSealingKey({ dataDir: dir, dev: true });
    expectCode(
      () => loadSealingKey({ dataDir: dir, dev: false, passphrase: utf8('p'), argon2: CHEAP }),
      'ENCLAVE_FAILURE',
      /is a --dev data directory/,
    );
  });
});

test('passphrase sealing key with the production Argon2id parameters (64 MiB, t=3, p=1)', async () => {
  await withTempDir('enclave-argon2-default', async (dir) => {
    const pass = utf8('a real passphrase');
    const a = loadPassphraseSealingKey(dir, pass);
    const config = JSON.parse(readFileSync(join(dir, SEAL_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    assert.deepEqual({ m: config.m, t: config.t, p: config.p }, { ...DEFAULT_ARGON2 });
    assert.equal(hex(loadPassphraseSealingKey(dir, pass)), hex(a));
  });
});
