// key.derive (src/core/keys/derive.ts) through the dispatcher: an HD root's child public key and
// xpub are the ones @scure/bip32 derives from the same mnemonic; a derivation is a use, audited as
// allowed; without keys:read it is refused; a single key has nothing to derive (INVALID_REQUEST)
// and a destroyed root derives nothing (INVALID_STATE).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { ABANDON, ETH0, hex, privateKey } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

let root: string;
const h = useOps({}, async () => {
  root = (
    await h.core.importKey(h.admin.as('i0'), {
      name: 'derive-root',
      algorithm: 'secp256k1',
      mnemonic: ABANDON,
    })
  ).id;
});

describe('key.derive', () => {
  test("the child at a path: @scure/bip32's public key and xpub; audited as allowed", async () => {
    const child = HDKey.fromMasterSeed(mnemonicToSeedSync(ABANDON)).derive(ETH0);
    const d = await h.core.deriveKey(h.admin.as('d1'), root, ETH0);
    assert.equal(d.path, ETH0);
    assert.equal(d.publicKey, hex(child.publicKey!));
    assert.equal(d.xpub, child.publicExtendedKey);
    assert.deepEqual(h.audited('d1'), [allowed('key.derive', h.admin, root)]);
  });

  test('without keys:read, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'key.derive', (c) => h.core.deriveKey(c, root, ETH0), root);
  });

  test('a single key: INVALID_REQUEST; a destroyed root: INVALID_STATE', async () => {
    const plain = await h.core.importKey(h.admin.as('i1'), {
      name: 'derive-plain',
      algorithm: 'secp256k1',
      privateKey: hex(privateKey('d')),
    });
    await assertRefused(
      h,
      'key.derive',
      (c) => h.core.deriveKey(c, plain.id, ETH0),
      'INVALID_REQUEST',
      'error',
      plain.id,
    );
    const gone = await h.core.importKey(h.admin.as('i2'), {
      name: 'derive-gone',
      algorithm: 'ed25519',
      mnemonic: ABANDON,
    });
    await h.core.destroyKey(h.admin.as('x2'), gone.id);
    await assertRefused(
      h,
      'key.derive',
      (c) => h.core.deriveKey(c, gone.id, "m/44'"),
      'INVALID_STATE',
      'denied',
      gone.id,
    );
  });
});
