// token.revoke (src/core/tokens/revoke.ts) through the dispatcher: the revoked token stops working
// with the next call; audited as allowed, naming the token; only an admin may revoke; an unknown
// token is NOT_FOUND (audited: a revoke is no read).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../../../src/util/ids.js';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('token.revoke', () => {
  test('the token is refused from the next call on; audited as allowed', async () => {
    const reader = await h.token(['keys:read']);
    await h.core.listKeys(reader.as('l1'), {});
    await h.core.revokeToken(h.admin.as('r1'), reader.tokenId);
    assert.deepEqual(h.audited('r1'), [allowed('token.revoke', h.admin)]);
    assert.equal(
      h.audit.list(0, 100_000).find((e) => e.requestId === 'r1')!.details?.tokenId,
      reader.tokenId,
    );
    await assert.rejects(h.core.listKeys(reader.as('l2'), {}), { code: 'UNAUTHENTICATED' });
  });

  test('without admin: FORBIDDEN, audited as denied, the token stays', async () => {
    const victim = await h.token(['keys:read']);
    await assertForbidden(h, 'token.revoke', (c) => h.core.revokeToken(c, victim.tokenId));
    await h.core.listKeys(victim.as('l3'), {});
  });

  test('an unknown token: NOT_FOUND, audited as an error', async () => {
    const id = newId();
    await assertRefused(h, 'token.revoke', (c) => h.core.revokeToken(c, id), 'NOT_FOUND', 'error');
  });
});
