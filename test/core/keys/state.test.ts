// key.state and key.destroy (src/core/keys/state.ts) through the dispatcher: a state change is
// audited as allowed before it is written and takes effect at once (a deactivated key refuses to
// sign; a destroyed one leaves the enclave's cache); without keys:manage both are refused; the
// transition table's refusals are INVALID_STATE, an unknown state INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../../src/util/ids.js';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

const DIGEST = '0x' + '41'.repeat(32);

const h = useOps();

describe('key.state', () => {
  test('deactivate: audited as allowed, and the key stops signing; active again signs', async () => {
    const k = await h.core.createKey(h.admin.as('c1'), { name: 'state-a', algorithm: 'secp256k1' });
    const v = await h.core.setKeyState(h.admin.as('s1'), k.id, 'deactivated');
    assert.equal(v.state, 'deactivated');
    assert.deepEqual(h.audited('s1'), [allowed('key.state', h.admin, k.id)]);
    assert.ok(h.calls.evict.includes(k.id), 'left the enclave cache');
    await assert.rejects(h.core.sign(h.admin.as('s2'), k.id, { digest: DIGEST }), { code: 'INVALID_STATE' });
    await h.core.setKeyState(h.admin.as('s3'), k.id, 'active');
    assert.match(
      (await h.core.sign(h.admin.as('s4'), k.id, { digest: DIGEST })).signature,
      /^0x[0-9a-f]{128}$/,
    );
  });

  test('without keys:manage, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    const k = await h.core.createKey(h.admin.as('c2'), { name: 'state-f', algorithm: 'secp256k1' });
    await assertForbidden(h, 'key.state', (c) => h.core.setKeyState(c, k.id, 'deactivated'), k.id);
    assert.equal((await h.core.getKey(h.admin.as('g2'), k.id)).state, 'active');
  });

  test('compromised never returns: INVALID_STATE; an unknown state: INVALID_REQUEST; unknown key: NOT_FOUND', async () => {
    const k = await h.core.createKey(h.admin.as('c3'), { name: 'state-c', algorithm: 'secp256k1' });
    await h.core.setKeyState(h.admin.as('s5'), k.id, 'compromised');
    await assertRefused(
      h,
      'key.state',
      (c) => h.core.setKeyState(c, k.id, 'active'),
      'INVALID_STATE',
      'denied',
      k.id,
    );
    await assertRefused(
      h,
      'key.state',
      (c) => h.core.setKeyState(c, k.id, 'destroyed'),
      'INVALID_REQUEST',
      'error',
      k.id,
    );
    const id = newId();
    await assertRefused(h, 'key.state', (c) => h.core.setKeyState(c, id, 'active'), 'NOT_FOUND', 'error', id);
  });
});

describe('key.destroy', () => {
  test('destroyed: audited as allowed, a tombstone remains, the key leaves the enclave cache', async () => {
    const k = await h.core.createKey(h.admin.as('c4'), { name: 'destroy-a', algorithm: 'secp256k1' });
    const v = await h.core.destroyKey(h.admin.as('x1'), k.id);
    assert.equal(v.state, 'destroyed');
    assert.deepEqual(h.audited('x1'), [allowed('key.destroy', h.admin, k.id)]);
    assert.equal((await h.core.getKey(h.admin.as('g4'), k.id)).state, 'destroyed');
    assert.ok(h.calls.evict.includes(k.id));
  });

  test('without keys:manage, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    const k = await h.core.createKey(h.admin.as('c5'), { name: 'destroy-f', algorithm: 'secp256k1' });
    await assertForbidden(h, 'key.destroy', (c) => h.core.destroyKey(c, k.id), k.id);
  });

  test('destroyed twice: INVALID_STATE; an unknown key: NOT_FOUND', async () => {
    const k = await h.core.createKey(h.admin.as('c6'), { name: 'destroy-twice', algorithm: 'secp256k1' });
    await h.core.destroyKey(h.admin.as('x2'), k.id);
    await assertRefused(h, 'key.destroy', (c) => h.core.destroyKey(c, k.id), 'INVALID_STATE', 'denied', k.id);
    const id = newId();
    await assertRefused(h, 'key.destroy', (c) => h.core.destroyKey(c, id), 'NOT_FOUND', 'error', id);
  });
});
