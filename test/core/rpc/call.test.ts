// rpc.call (Core.authorizeSigner in src/core/core.ts, the JSON-RPC signer's gate) through the
// dispatcher: a token with keys:sign passes, and a read writes no entry; without keys:sign the
// call is refused and audited as denied; no token, or a revoked one, is UNAUTHENTICATED.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertForbidden, useOps, refuses } from '../_ops.js';

const h = useOps();

describe('rpc.call', () => {
  test('a signer passes; nothing is audited', async () => {
    const signer = await h.token(['keys:sign']);
    assert.equal(await h.core.authorizeSigner(signer.as('g1')), undefined);
    assert.deepEqual(h.audited('g1'), []);
  });

  test('without keys:sign: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'rpc.call', (c) => h.core.authorizeSigner(c));
  });

  test('no token, a revoked token: UNAUTHENTICATED, counted in aggregate', async () => {
    await refuses(
      'rpc.call',
      h.core.authorizeSigner({ principal: { kind: 'anonymous' }, requestId: 'g2' }),
      'UNAUTHENTICATED',
    );
    const gone = await h.token(['keys:sign']);
    await h.core.revokeToken(h.admin.as('r3'), gone.tokenId);
    await refuses('rpc.call', h.core.authorizeSigner(gone.as('g3')), 'UNAUTHENTICATED');
    assert.deepEqual(h.audited('g2'), []);
    assert.deepEqual(h.audited('g3'), []);
  });
});
