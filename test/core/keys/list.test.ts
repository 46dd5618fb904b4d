// key.list (src/core/keys/list.ts) through the dispatcher: every key page by page with a cursor,
// filters by state and name, a narrowed token sees only its keys; a read, so a success writes no
// entry; without keys:read it is refused, and a bad limit is INVALID_REQUEST.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertForbidden, assertRefused, useOps } from '../_ops.js';

const h = useOps();

describe('key.list', () => {
  test('pages through every key in creation order; filters; narrowed tokens see their keys only', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push(
        (await h.core.createKey(h.admin.as(`c${i}`), { name: `list-${i}`, algorithm: 'secp256k1' })).id,
      );
    await h.core.setKeyState(h.admin.as('s'), made[1]!, 'deactivated');
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await h.core.listKeys(h.admin.as('l1'), { limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.keys.map((k) => k.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    assert.deepEqual(seen, made);
    assert.deepEqual(h.audited('l1'), [], 'a read writes no entry');
    const deactivated = await h.core.listKeys(h.admin.as('l2'), { state: 'deactivated' });
    assert.deepEqual(
      deactivated.keys.map((k) => k.id),
      [made[1]],
    );
    const byName = await h.core.listKeys(h.admin.as('l3'), { name: 'list-3' });
    assert.deepEqual(
      byName.keys.map((k) => k.id),
      [made[3]],
    );
    const narrowed = await h.token(['keys:read'], [made[0]!, made[4]!]);
    const mine = await h.core.listKeys(narrowed.as('l4'), {});
    assert.deepEqual(
      mine.keys.map((k) => k.id),
      [made[0], made[4]],
    );
  });

  test('without keys:read: FORBIDDEN, audited as denied', async () => {
    await assertForbidden(h, 'key.list', (c) => h.core.listKeys(c, {}));
  });

  test('a limit out of range, an unknown state: INVALID_REQUEST, audited as an error', async () => {
    await assertRefused(h, 'key.list', (c) => h.core.listKeys(c, { limit: 0 }), 'INVALID_REQUEST', 'error');
    await assertRefused(
      h,
      'key.list',
      (c) => h.core.listKeys(c, { state: 'lost' }),
      'INVALID_REQUEST',
      'error',
    );
  });
});
