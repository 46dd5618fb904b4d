// token.create (src/core/tokens/create.ts) through the dispatcher: the minted token authenticates
// with exactly its scopes and keys; audited as allowed (naming the token, never its secret);
// only an admin may mint; an unknown scope is INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { allowed, assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('token.create', () => {
  test('the token works with its scopes and no others; audited as allowed, without the secret', async () => {
    const made = await h.core.createToken(h.admin.as('t1'), { name: 'reader', scopes: ['keys:read'] });
    assert.match(made.token, /^kmt_/);
    assert.deepEqual(h.audited('t1'), [allowed('token.create', h.admin)]);
    const entry = h.audit.list(0, 100_000).find((e) => e.requestId === 't1')!;
    assert.equal(entry.details?.tokenId, made.id);
    assert.ok(!JSON.stringify(entry).includes(made.token.split('_')[2]!), 'no secret in the audit');
    const cred = { principal: { kind: 'token' as const, token: made.token }, requestId: 't2' };
    assert.deepEqual((await h.core.listKeys(cred, {})).keys, []);
    await assert.rejects(
      h.core.createKey({ ...cred, requestId: 't3' }, { name: 'x', algorithm: 'secp256k1' }),
      {
        code: 'FORBIDDEN',
      },
    );
  });

  test('without admin: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'token.create', (c) => h.core.createToken(c, { name: 'x', scopes: ['admin'] }));
  });

  test('an unknown scope, no scopes: INVALID_REQUEST', async () => {
    await assertRefused(
      h,
      'token.create',
      (c) => h.core.createToken(c, { name: 'x', scopes: ['root'] }),
      'INVALID_REQUEST',
      'error',
    );
    await assertRefused(
      h,
      'token.create',
      (c) => h.core.createToken(c, { name: 'x', scopes: [] }),
      'INVALID_REQUEST',
      'error',
    );
  });
});
