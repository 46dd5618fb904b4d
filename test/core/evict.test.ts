// A key that stops being allowed to sign is evicted from the enclave's cache of unsealed keys in
// the same call, through the real worker pool (counted, not mocked).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestCore, type TestCore } from '../helpers/core.js';

let t: TestCore;
before(async () => {
  t = await openTestCore();
});
after(() => t.close());

test('deactivate, compromise and destroy evict; reactivation does not', async () => {
  const cred = await t.adminCredential();
  const k = await t.core.createKey(cred, { name: 'ev', algorithm: 'ed25519' });
  await t.core.sign(cred, k.id, { message: '0x01' });
  await t.core.setKeyState(cred, k.id, 'deactivated');
  assert.deepEqual(t.calls.evict, [k.id]);
  await t.core.setKeyState(cred, k.id, 'active');
  assert.deepEqual(t.calls.evict, [k.id]);
  await t.core.setKeyState(cred, k.id, 'compromised');
  await t.core.destroyKey(cred, k.id);
  assert.deepEqual(t.calls.evict, [k.id, k.id, k.id]);
});
