// audit.list (src/core/audit/list.ts) through the dispatcher: the node's entries after a sequence
// number, a page at a time, in order and chained; a read (listing writes nothing); only
// audit:read may list; a limit or start out of range is INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('audit.list', () => {
  test('pages of entries in order, each chained to the one before; listing writes nothing', async () => {
    for (let i = 0; i < 3; i++)
      await h.core.createKey(h.admin.as(`c${i}`), { name: `audit-${i}`, algorithm: 'secp256k1' });
    const auditor = await h.token(['audit:read']);
    const all = (await h.core.listAudit(auditor.as('a1'), {})).entries;
    assert.deepEqual(
      all.filter((e) => e.action === 'key.create').map((e) => e.requestId),
      ['c0', 'c1', 'c2'],
    );
    all.forEach((e, i) => {
      assert.equal(e.seq, i + 1);
      if (i > 0) assert.equal(e.prevHash, all[i - 1]!.hash);
    });
    const page = (await h.core.listAudit(auditor.as('a2'), { after: 1, limit: '2' })).entries;
    assert.deepEqual(
      page.map((e) => e.seq),
      [2, 3],
    );
    assert.deepEqual(h.audited('a1'), []);
  });

  test('without audit:read: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'audit.list', (c) => h.core.listAudit(c, {}));
  });

  test('a limit or a start out of range: INVALID_REQUEST', async () => {
    await assertRefused(
      h,
      'audit.list',
      (c) => h.core.listAudit(c, { limit: 1001 }),
      'INVALID_REQUEST',
      'error',
    );
    await assertRefused(
      h,
      'audit.list',
      (c) => h.core.listAudit(c, { after: -1 }),
      'INVALID_REQUEST',
      'error',
    );
  });
});
