// The one paging loop over Store.list (src/store/scan.ts), on a real SQLite store: every entry
// under the prefix exactly once and in order, whether the count is a multiple of the page or not;
// nothing outside the prefix; a start after a key; and leaving the loop early reads no further.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Entry, ListOptions, Store } from '../../src/store/store.js';
import { scan, scanAll } from '../../src/store/scan.js';
import { tempDir } from '../helpers/node.js';

let store: Store;
let lists = 0;
let counted: Store;
before(async () => {
  store = await openSqliteStore(join(tempDir(), 's.db'));
  for (let i = 0; i < 7; i++) await store.put(`p/${String(i).padStart(2, '0')}`, `v${i}`);
  await store.put('q/00', 'other');
  await store.put('o/99', 'other');
  counted = Object.assign(Object.create(store) as Store, {
    list: (prefix: string, opts?: ListOptions): Promise<Entry[]> => {
      lists++;
      return store.list(prefix, opts);
    },
  });
});
after(() => store.close());

const keys = (es: Entry[]) => es.map((e) => e.key);
const all = ['p/00', 'p/01', 'p/02', 'p/03', 'p/04', 'p/05', 'p/06'];

test('every entry once, in order, for pages that divide the count and pages that do not', async () => {
  for (const page of [1, 2, 3, 7, 8, 1000])
    assert.deepEqual(keys(await scanAll(store, 'p/', { page })), all, `page ${page}`);
});

test('after a key: the rest; an empty prefix: nothing', async () => {
  assert.deepEqual(keys(await scanAll(store, 'p/', { after: 'p/04', page: 2 })), ['p/05', 'p/06']);
  assert.deepEqual(await scanAll(store, 'none/'), []);
});

test('leaving the loop early asks the store for no further page', async () => {
  lists = 0;
  const seen: string[] = [];
  for await (const e of scan(counted, 'p/', { page: 2 })) {
    seen.push(e.key);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, ['p/00', 'p/01', 'p/02']);
  assert.equal(lists, 2);
});
