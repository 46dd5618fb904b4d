// ethereum.typed-data (src/core/chains/ethereum-typed-data.ts) through the dispatcher: EIP-712's
// "Mail" example signed by keccak256("cow") is the published signer to ethers; audited as allowed;
// without keys:sign it is refused; a policy's denial is POLICY_DENIED, a deactivated key
// INVALID_STATE.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak256, toUtf8Bytes, verifyTypedData } from 'ethers';
import type { Verdict } from '../../../src/core/pipeline/signing.js';
import { MAIL, MAIL_TYPES } from '../../fixtures/eip712-mail.js';
import { allowed, assertForbidden, assertRefused, openOps, type OpHarness } from '../_ops.js';

const COW = '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826';

let h: OpHarness;
let keyId: string;
let verdict: Verdict = { decision: 'allow' };
before(async () => {
  h = await openOps({ policy: { judge: () => verdict } });
  keyId = (
    await h.core.importKey(h.admin.as('i0'), {
      name: 'cow',
      algorithm: 'secp256k1',
      privateKey: keccak256(toUtf8Bytes('cow')),
    })
  ).id;
});
after(() => h.close());

describe('ethereum.typed-data', () => {
  test('the Mail example: ethers recovers Cow; audited as allowed', async () => {
    const r = await h.core.signEthereumTypedData(h.admin.as('t1'), keyId, { typedData: MAIL });
    assert.equal(verifyTypedData(MAIL.domain, MAIL_TYPES, MAIL.message, r.signature), COW);
    assert.deepEqual(h.audited('t1'), [allowed('ethereum.typed-data', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(
      h,
      'ethereum.typed-data',
      (c) => h.core.signEthereumTypedData(c, keyId, { typedData: MAIL }),
      keyId,
    );
  });

  test("the policy's denial: POLICY_DENIED; a deactivated key: INVALID_STATE; no primaryType: INVALID_REQUEST", async () => {
    verdict = { decision: 'deny', reason: 'no' };
    await assertRefused(
      h,
      'ethereum.typed-data',
      (c) => h.core.signEthereumTypedData(c, keyId, { typedData: MAIL }),
      'POLICY_DENIED',
      'denied',
      keyId,
    );
    verdict = { decision: 'allow' };
    const { primaryType: _p, ...noPrimary } = MAIL;
    await assertRefused(
      h,
      'ethereum.typed-data',
      (c) => h.core.signEthereumTypedData(c, keyId, { typedData: noPrimary }),
      'INVALID_REQUEST',
      'error',
      keyId,
    );
    await h.core.setKeyState(h.admin.as('s1'), keyId, 'deactivated');
    await assertRefused(
      h,
      'ethereum.typed-data',
      (c) => h.core.signEthereumTypedData(c, keyId, { typedData: MAIL }),
      'INVALID_STATE',
      'denied',
      keyId,
    );
  });
});
