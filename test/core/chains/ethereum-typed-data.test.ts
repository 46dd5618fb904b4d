// ethereum.typed-data (src/core/chains/ethereum-typed-data.ts) through the dispatcher: EIP-712's
// "Mail" example signed by keccak256("cow") is the published signer to ethers; audited as allowed;
// without keys:sign it is refused; a policy's denial is POLICY_DENIED, a deactivated key
// INVALID_STATE, typed data without its primary type INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keccak256, toUtf8Bytes, verifyTypedData } from 'ethers';
import type { Credential } from '../../../src/core/context.js';
import { MAIL, MAIL_TYPES } from '../../fixtures/eip712-mail.js';
import { allowed, assertForbidden, assertRefused, assertSigningRefusals, useOps } from '../_ops.js';

const COW = '0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826';

let keyId: string;
const h = useOps({}, async () => {
  keyId = await h.importKey('cow', keccak256(toUtf8Bytes('cow')));
});
const sign = (typedData: unknown) => (c: Credential) => h.core.signEthereumTypedData(c, keyId, { typedData });

describe('ethereum.typed-data', () => {
  test('the Mail example: ethers recovers Cow; audited as allowed', async () => {
    const r = await sign(MAIL)(h.admin.as('t1'));
    assert.equal(verifyTypedData(MAIL.domain, MAIL_TYPES, MAIL.message, r.signature), COW);
    assert.deepEqual(h.audited('t1'), [allowed('ethereum.typed-data', h.admin, keyId)]);
  });

  test('without keys:sign, or narrowed to other keys: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'ethereum.typed-data', sign(MAIL), keyId);
  });

  test("the policy's denial: POLICY_DENIED; a deactivated key: INVALID_STATE; no primaryType: INVALID_REQUEST", async () => {
    await assertSigningRefusals(h, 'ethereum.typed-data', keyId, sign(MAIL));
    const { primaryType: _p, ...noPrimary } = MAIL;
    await assertRefused(h, 'ethereum.typed-data', sign(noPrimary), 'INVALID_REQUEST', 'error', keyId);
  });
});
