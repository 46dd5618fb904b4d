// key.create and key.import (src/core/keys/create.ts) through the dispatcher: an imported key's
// public key and an imported mnemonic's xpub are the ones @noble/curves and @scure/bip32 compute;
// a created key is a valid curve point; each is audited as allowed before it exists; a token
// without keys:create is refused; a taken name is CONFLICT and a placement a lone node cannot meet
// is PLACEMENT_UNSATISFIABLE.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { ABANDON, hex, privateKey, unhex } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('key.create', () => {
  test('a new secp256k1 key: a point on the curve, active, audited as allowed', async () => {
    const k = await h.core.createKey(h.admin.as('c1'), { name: 'create-a', algorithm: 'secp256k1' });
    assert.equal(k.state, 'active');
    assert.equal(k.origin, 'generated');
    secp256k1.Point.fromBytes(unhex(k.publicKey)).assertValidity();
    assert.deepEqual(h.audited('c1'), [allowed('key.create', h.admin, k.id)]);
    assert.deepEqual((await h.core.getKey(h.admin.as('g1'), k.id)).publicKey, k.publicKey);
  });

  test('without keys:create: FORBIDDEN, audited as denied, no key made', async () => {
    await assertForbidden(h, 'key.create', (c) =>
      h.core.createKey(c, { name: 'create-f', algorithm: 'secp256k1' }),
    );
    assert.equal((await h.core.listKeys(h.admin.as('l1'), { name: 'create-f' })).keys.length, 0);
  });

  test('a taken name: CONFLICT; a bad algorithm: INVALID_REQUEST; a placement a lone node cannot meet', async () => {
    await h.core.createKey(h.admin.as('c2'), { name: 'create-dup', algorithm: 'secp256k1' });
    await assertRefused(
      h,
      'key.create',
      (c) => h.core.createKey(c, { name: 'create-dup', algorithm: 'secp256k1' }),
      'CONFLICT',
      'error',
    );
    await assertRefused(
      h,
      'key.create',
      (c) => h.core.createKey(c, { name: 'create-x', algorithm: 'rsa' }),
      'INVALID_REQUEST',
      'error',
    );
    await assertRefused(
      h,
      'key.create',
      (c) => h.core.createKey(c, { name: 'create-p', algorithm: 'secp256k1', placement: { replicas: 2 } }),
      'PLACEMENT_UNSATISFIABLE',
      'error',
    );
  });
});

describe('key.import', () => {
  test("a private key: its public key is @noble/curves'; a mnemonic: its xpub is @scure/bip32's", async () => {
    const priv = privateKey('import');
    const k = await h.core.importKey(h.admin.as('i1'), {
      name: 'import-a',
      algorithm: 'secp256k1',
      privateKey: hex(priv),
    });
    assert.equal(k.publicKey, hex(secp256k1.getPublicKey(priv, true)));
    assert.equal(k.origin, 'imported');
    assert.deepEqual(h.audited('i1'), [allowed('key.import', h.admin, k.id)]);

    const root = await h.core.importKey(h.admin.as('i2'), {
      name: 'import-hd',
      algorithm: 'secp256k1',
      mnemonic: ABANDON,
    });
    assert.equal(root.xpub, HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON)).publicExtendedKey);
    assert.deepEqual(h.audited('i2'), [allowed('key.import', h.admin, root.id)]);
  });

  test('without keys:create: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'key.import', (c) =>
      h.core.importKey(c, { name: 'import-f', algorithm: 'secp256k1', privateKey: hex(privateKey('f')) }),
    );
  });

  test('both a key and a mnemonic: INVALID_REQUEST; a taken name: CONFLICT', async () => {
    await assertRefused(
      h,
      'key.import',
      (c) =>
        h.core.importKey(c, {
          name: 'import-b',
          algorithm: 'secp256k1',
          privateKey: hex(privateKey('b')),
          mnemonic: ABANDON,
        }),
      'INVALID_REQUEST',
      'error',
    );
    await assertRefused(
      h,
      'key.import',
      (c) =>
        h.core.importKey(c, { name: 'import-a', algorithm: 'secp256k1', privateKey: hex(privateKey('c')) }),
      'CONFLICT',
      'error',
    );
  });
});
