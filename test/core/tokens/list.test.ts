// token.list (src/core/tokens/list.ts) through the dispatcher: every token's metadata and never a
// secret or its hash; a read (nothing audited on success); only an admin may list; a revoked
// token is UNAUTHENTICATED.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertForbidden, useOps, refuses } from '../_ops.js';

const h = useOps();

describe('token.list', () => {
  test('metadata of every token, no secret or hash; a read writes nothing', async () => {
    const made = await h.core.createToken(h.admin.as('t1'), { name: 'listed', scopes: ['keys:sign'] });
    const { tokens } = await h.core.listTokens(h.admin.as('l1'));
    assert.deepEqual(tokens.map((t) => t.id).sort(), [h.admin.tokenId, made.id].sort());
    const listed = tokens.find((t) => t.id === made.id)!;
    assert.equal(listed.name, 'listed');
    assert.deepEqual(listed.scopes, ['keys:sign']);
    const text = JSON.stringify(tokens);
    assert.ok(!text.includes('secretHash') && !text.includes(made.token.split('_')[2]!));
    assert.deepEqual(h.audited('l1'), []);
  });

  test('without admin: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'token.list', (c) => h.core.listTokens(c));
  });

  test('a revoked token: UNAUTHENTICATED', async () => {
    const made = await h.core.createToken(h.admin.as('t2'), { name: 'gone', scopes: ['admin'] });
    await h.core.revokeToken(h.admin.as('r2'), made.id);
    await refuses(
      'token.list',
      h.core.listTokens({ principal: { kind: 'token', token: made.token }, requestId: 'l2' }),
      'UNAUTHENTICATED',
    );
  });
});
