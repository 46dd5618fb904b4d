// key.get (src/core/keys/get.ts) through the dispatcher: the key's view, public only; a read, so
// nothing is audited when it succeeds or the key is unknown; a token without keys:read, or
// narrowed to other keys, is refused and audited as denied.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { newId } from '../../../src/util/ids.js';
import { hex, privateKey } from '../_fixtures.js';
import { assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('key.get', () => {
  test('the view: public key and addresses, no material; a read writes no entry', async () => {
    const priv = privateKey('get');
    const k = await h.core.importKey(h.admin.as('i1'), {
      name: 'get-a',
      algorithm: 'secp256k1',
      privateKey: hex(priv),
    });
    const v = await h.core.getKey(h.admin.as('g1'), k.id);
    assert.equal(v.id, k.id);
    assert.equal(v.publicKey, hex(secp256k1.getPublicKey(priv, true)));
    assert.match(v.addresses.ethereum ?? '', /^0x[0-9a-fA-F]{40}$/);
    assert.ok(!('sealed' in v), 'no sealed material in the view');
    assert.deepEqual(h.audited('g1'), []);
  });

  test('without keys:read, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    const k = await h.core.createKey(h.admin.as('c2'), { name: 'get-f', algorithm: 'secp256k1' });
    await assertForbidden(h, 'key.get', (c) => h.core.getKey(c, k.id), k.id);
  });

  test('an unknown key: NOT_FOUND, not audited (a read)', async () => {
    const id = newId();
    await assertRefused(h, 'key.get', (c) => h.core.getKey(c, id), 'NOT_FOUND', 'none');
  });
});
