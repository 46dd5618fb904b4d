// key.verify (src/core/keys/verify.ts) through the dispatcher: a signature @noble/curves made with
// the imported private key is valid, a changed one is not; audited as allowed; without keys:read
// it is refused; a missing signature is INVALID_REQUEST, a destroyed key INVALID_STATE.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { hex, privateKey, unhex } from '../_fixtures.js';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

const DIGEST = '0x' + '7e'.repeat(32);
const PRIV = privateKey('verify');
const SIG = secp256k1.sign(unhex(DIGEST), PRIV, { prehash: false });

let keyId: string;
const h = useOps({}, async () => {
  keyId = await h.importKey('verify-k', hex(PRIV));
});

describe('key.verify', () => {
  test("@noble/curves' signature is valid, a changed one is not; audited as allowed", async () => {
    assert.deepEqual(await h.core.verify(h.admin.as('v1'), keyId, { digest: DIGEST, signature: hex(SIG) }), {
      valid: true,
    });
    assert.deepEqual(h.audited('v1'), [allowed('key.verify', h.admin, keyId)]);
    const bad = Uint8Array.from(SIG);
    bad[10]! ^= 1;
    assert.deepEqual(await h.core.verify(h.admin.as('v2'), keyId, { digest: DIGEST, signature: hex(bad) }), {
      valid: false,
    });
  });

  test('without keys:read, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(
      h,
      'key.verify',
      (c) => h.core.verify(c, keyId, { digest: DIGEST, signature: hex(SIG) }),
      keyId,
    );
  });

  test('no signature: INVALID_REQUEST; a destroyed key: INVALID_STATE', async () => {
    await assertRefused(
      h,
      'key.verify',
      (c) => h.core.verify(c, keyId, { digest: DIGEST }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
    const k = await h.core.createKey(h.admin.as('c1'), { name: 'verify-gone', algorithm: 'secp256k1' });
    await h.core.destroyKey(h.admin.as('x1'), k.id);
    await assertRefused(
      h,
      'key.verify',
      (c) => h.core.verify(c, k.id, { digest: DIGEST, signature: hex(SIG) }),
      'INVALID_STATE',
      'denied',
      k.id,
    );
  });
});
