// key.sign (src/core/keys/sign.ts) through the dispatcher: the signature is judged by
// @noble/curves against the key's public key, the allowed entry names the caller, a token without
// keys:sign is refused and audited as denied, and a deactivated key refuses to sign.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { newId } from '../../../src/util/ids.js';
import { allowed, assertForbidden, assertRefused, assertSigningRefusals, useOps } from '../_ops.js';

const unhex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/^0x/, ''), 'hex'));
const DIGEST = '0x' + '5c'.repeat(32);

const h = useOps();

describe('key.sign', () => {
  test('secp256k1 digest and ed25519 message: signatures @noble/curves accepts; audited as allowed', async () => {
    const k = await h.core.createKey(h.admin.as('mk1'), { name: 'sign-k1', algorithm: 'secp256k1' });
    const r = await h.core.sign(h.admin.as('s1'), k.id, { digest: DIGEST });
    assert.ok(secp256k1.verify(unhex(r.signature), unhex(DIGEST), unhex(k.publicKey), { prehash: false }));
    assert.ok(r.recoveryId === 0 || r.recoveryId === 1);
    assert.deepEqual(h.audited('s1'), [allowed('key.sign', h.admin, k.id)]);

    const e = await h.core.createKey(h.admin.as('mk2'), { name: 'sign-ed', algorithm: 'ed25519' });
    const msg = '0x' + Buffer.from('hello keymesh').toString('hex');
    const r2 = await h.core.sign(h.admin.as('s2'), e.id, { message: msg });
    assert.ok(ed25519.verify(unhex(r2.signature), unhex(msg), unhex(e.publicKey)));
    assert.deepEqual(h.audited('s2'), [allowed('key.sign', h.admin, e.id)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied, nothing signed', async () => {
    const k = await h.core.createKey(h.admin.as('mk3'), { name: 'sign-forbidden', algorithm: 'secp256k1' });
    const before = h.calls.sign;
    await assertForbidden(h, 'key.sign', (c) => h.core.sign(c, k.id, { digest: DIGEST }), k.id);
    assert.equal(h.calls.sign, before, 'the enclave was not asked');
  });

  test('a deactivated key: INVALID_STATE; the policy: POLICY_DENIED; bad input: INVALID_REQUEST; unknown: NOT_FOUND', async () => {
    const k = await h.core.createKey(h.admin.as('mk4'), { name: 'sign-state', algorithm: 'secp256k1' });
    await assertSigningRefusals(h, 'key.sign', k.id, (c) => h.core.sign(c, k.id, { digest: DIGEST }));
    await assertRefused(
      h,
      'key.sign',
      (c) => h.core.sign(c, k.id, { digest: '0x12' }),
      'INVALID_REQUEST',
      'error',
      k.id,
    );
    const unknown = newId();
    await assertRefused(
      h,
      'key.sign',
      (c) => h.core.sign(c, unknown, { digest: DIGEST }),
      'NOT_FOUND',
      'error',
      unknown,
    );
  });
});
