// The Store conformance suite: every semantic promised in src/store/store.ts, written once and run
// against each implementation (sqlite.test.ts, etcd.test.ts), so the single-node and cluster
// stores cannot drift apart. Each test opens a fresh, empty store and assumes it is the store's
// only writer (revision +1 per write is checked exactly).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeymeshError } from '../../src/errors.js';
import {
  MAX_KEY_BYTES,
  MAX_LIST_BYTES,
  MAX_LIST_LIMIT,
  MAX_TXN_OPS,
  MAX_VALUE_BYTES,
} from '../../src/store/limits.js';
import type { Store, WatchEvent } from '../../src/store/store.js';

export type OpenStore = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof KeymeshError, `expected a KeymeshError, got ${String(e)}`);
  assert.equal(e.code, code);
  return true;
};
const invalidReq = isCode('INVALID_REQUEST');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects watch events; `waitFor(n)` resolves once n have arrived (or fails after a timeout). */
class Collector {
  readonly events: WatchEvent[] = [];
  readonly errors: Error[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  readonly onEvent = (ev: WatchEvent) => {
    this.events.push(ev);
    this.waiters = this.waiters.filter((w) => (this.events.length >= w.n ? (w.resolve(), false) : true));
  };
  readonly onError = (e: Error) => void this.errors.push(e);
  async waitFor(n: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    if (this.events.length < n) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ n, resolve })),
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`waited for ${n} watch events, got ${this.events.length}`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.events;
  }
}

const brief = (evs: WatchEvent[]) => evs.map((e) => [e.type, e.key, e.value ?? null, e.modRevision]);

export function runStoreConformance(name: string, open: OpenStore): void {
  const withStore = async (fn: (s: Store) => Promise<void>) => {
    const { store, cleanup } = await open();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  };

  describe(`Store conformance: ${name}`, () => {
    test('get of an absent key is undefined; put then get returns value and revisions', () =>
      withStore(async (s) => {
        assert.equal(await s.get('nope'), undefined);
        const r = await s.put('k1', '{"a":1}');
        assert.ok(Number.isSafeInteger(r) && r > 0);
        assert.deepEqual(await s.get('k1'), {
          key: 'k1',
          value: '{"a":1}',
          createRevision: r,
          modRevision: r,
        });
      }));

    test('overwrite keeps createRevision, moves modRevision; revision +1 per put', () =>
      withStore(async (s) => {
        const r1 = await s.put('k', 'v1');
        const r2 = await s.put('k', 'v2');
        const r3 = await s.put('other', 'x');
        assert.equal(r2, r1 + 1);
        assert.equal(r3, r2 + 1);
        assert.deepEqual(await s.get('k'), { key: 'k', value: 'v2', createRevision: r1, modRevision: r2 });
        const r4 = await s.put('k', 'v2'); // same value is still a write
        assert.equal(r4, r3 + 1);
        assert.equal((await s.get('k'))?.modRevision, r4);
      }));

    test('delete: true for a present key, false for an absent one; absent delete is no revision', () =>
      withStore(async (s) => {
        const r1 = await s.put('d', 'x');
        assert.equal(await s.delete('d'), true); // r1 + 1
        assert.equal(await s.get('d'), undefined);
        assert.equal(await s.delete('d'), false); // no revision
        assert.equal(await s.delete('never'), false);
        const r4 = await s.put('e', 'y');
        assert.equal(r4, r1 + 2);
      }));

    test('a key re-created after delete gets a new createRevision', () =>
      withStore(async (s) => {
        await s.put('k', 'a');
        await s.delete('k');
        const r = await s.put('k', 'b');
        assert.deepEqual(await s.get('k'), { key: 'k', value: 'b', createRevision: r, modRevision: r });
      }));

    test('revision advances exactly once per write across put, delete and txn', () =>
      withStore(async (s) => {
        const r0 = await s.put('a', '1');
        assert.equal(await s.delete('a'), true); // r0+1
        const t1 = await s.txn(
          [],
          [
            { type: 'put', key: 'b', value: '2' },
            { type: 'put', key: 'c', value: '3' },
            { type: 'delete', key: 'zz-absent' },
          ],
        );
        assert.deepEqual(t1, { ok: true, revision: r0 + 2 });
        const failed = await s.txn([{ key: 'b', modRevision: 0 }], [{ type: 'put', key: 'x', value: 'no' }]);
        assert.deepEqual(failed, { ok: false, revision: r0 + 2 });
        const empty = await s.txn([{ key: 'b', modRevision: r0 + 2 }], []);
        assert.deepEqual(empty, { ok: true, revision: r0 + 2 });
        const noop = await s.txn([], [{ type: 'delete', key: 'zz-absent' }]);
        assert.deepEqual(noop, { ok: true, revision: r0 + 2 });
        assert.equal(await s.put('d', '4'), r0 + 3);
        assert.equal((await s.get('b'))?.modRevision, r0 + 2);
        assert.equal((await s.get('c'))?.createRevision, r0 + 2);
      }));

    test('list returns only keys under the prefix, ascending, not the ones just above it', () =>
      withStore(async (s) => {
        for (const k of ['a0', 'a/2', 'a', 'b/1', 'a/1', 'a/', 'a/10', '`', 'a//x', 'a.'])
          await s.put(k, `v:${k}`);
        const got = await s.list('a/');
        assert.deepEqual(
          got.map((e) => e.key),
          ['a/', 'a//x', 'a/1', 'a/10', 'a/2'],
        );
        for (const e of got) {
          assert.equal(e.value, `v:${e.key}`);
          assert.deepEqual(await s.get(e.key), e);
        }
        assert.deepEqual(
          (await s.list('')).map((e) => e.key),
          ['`', 'a', 'a.', 'a/', 'a//x', 'a/1', 'a/10', 'a/2', 'a0', 'b/1'],
        );
        assert.deepEqual(await s.list('c/'), []);
        assert.deepEqual(
          (await s.list('a')).map((e) => e.key),
          ['a', 'a.', 'a/', 'a//x', 'a/1', 'a/10', 'a/2', 'a0'],
        );
      }));

    test('list orders keys by UTF-8 bytes (etcd order), not UTF-16', () =>
      withStore(async (s) => {
        const keys = ['u/z', 'u/\u00e9', 'u/\uFFFD', 'u/\u{1F600}', 'u/\u0000x', 'u/'];
        for (const k of keys) await s.put(k, k);
        const want = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        assert.notDeepEqual(want, [...keys].sort()); // the case is one where the orders differ
        const got = await s.list('u/');
        assert.deepEqual(
          got.map((e) => e.key),
          want,
        );
        for (const e of got) assert.equal(e.value, e.key);
      }));

    test('list pages with after and limit: complete, ordered, no duplicates', () =>
      withStore(async (s) => {
        const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(3, '0')}`);
        for (const k of [...keys].reverse()) await s.put(k, k);
        await s.put('p0', 'outside');
        await s.put('o/zzz', 'outside');
        const seen: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await s.list('p/', { limit: 7, ...(after === undefined ? {} : { after }) });
          assert.ok(page.length <= 7);
          seen.push(...page.map((e) => e.key));
          if (page.length < 7) break;
          after = page[page.length - 1]!.key;
        }
        assert.deepEqual(seen, keys);
        // `after` need not exist, may sort before the prefix, or past its end.
        assert.deepEqual(
          (await s.list('p/', { after: 'p/0105', limit: 2 })).map((e) => e.key),
          ['p/011', 'p/012'],
        );
        assert.deepEqual(
          (await s.list('p/', { after: 'a', limit: 1 })).map((e) => e.key),
          ['p/000'],
        );
        assert.deepEqual(await s.list('p/', { after: 'p/024' }), []);
        assert.deepEqual(await s.list('p/', { after: 'q' }), []);
        assert.equal((await s.list('p/', { limit: 1 })).length, 1);
        assert.equal((await s.list('p/', { limit: MAX_LIST_LIMIT })).length, 25);
      }));

    test('txn applies every op when every compare holds', () =>
      withStore(async (s) => {
        const ra = await s.put('a', 'old');
        const rb = await s.put('b', 'gone');
        const res = await s.txn(
          [
            { key: 'a', modRevision: ra },
            { key: 'b', modRevision: rb },
            { key: 'c', modRevision: 0 },
          ],
          [
            { type: 'put', key: 'a', value: 'new' },
            { type: 'delete', key: 'b' },
            { type: 'put', key: 'c', value: 'created' },
          ],
        );
        assert.deepEqual(res, { ok: true, revision: rb + 1 });
        assert.deepEqual(await s.get('a'), {
          key: 'a',
          value: 'new',
          createRevision: ra,
          modRevision: rb + 1,
        });
        assert.equal(await s.get('b'), undefined);
        assert.deepEqual(await s.get('c'), {
          key: 'c',
          value: 'created',
          createRevision: rb + 1,
          modRevision: rb + 1,
        });
      }));

    test('txn with one failing compare applies nothing', () =>
      withStore(async (s) => {
        const ra = await s.put('a', 'old');
        const rb = await s.put('b', 'keep');
        const res = await s.txn(
          [
            { key: 'a', modRevision: ra },
            { key: 'b', modRevision: rb - 1 }, // stale
          ],
          [
            { type: 'put', key: 'a', value: 'new' },
            { type: 'delete', key: 'b' },
            { type: 'put', key: 'c', value: 'created' },
          ],
        );
        assert.deepEqual(res, { ok: false, revision: rb });
        assert.equal((await s.get('a'))?.value, 'old');
        assert.equal((await s.get('b'))?.value, 'keep');
        assert.equal(await s.get('c'), undefined);
        assert.equal(await s.put('z', 'z'), rb + 1);
      }));

    test('compare on modRevision 0 means absent', () =>
      withStore(async (s) => {
        const create = () => s.txn([{ key: 'n', modRevision: 0 }], [{ type: 'put', key: 'n', value: 'v' }]);
        const first = await create();
        assert.equal(first.ok, true);
        const second = await create();
        assert.deepEqual(second, { ok: false, revision: first.revision });
        await s.delete('n');
        assert.equal((await create()).ok, true);
        // A compare on a present key's real revision holds; on absent, a nonzero revision fails.
        const r = (await s.get('n'))!.modRevision;
        assert.equal((await s.txn([{ key: 'n', modRevision: r }], [])).ok, true);
        assert.equal((await s.txn([{ key: 'missing', modRevision: r }], [])).ok, false);
      }));

    test('an invalid op anywhere in a txn rejects the whole txn before anything applies', () =>
      withStore(async (s) => {
        const r = await s.put('a', 'keep');
        await assert.rejects(
          s.txn(
            [],
            [
              { type: 'put', key: 'a', value: 'changed' },
              { type: 'put', key: 'b', value: 'x'.repeat(MAX_VALUE_BYTES + 1) },
            ],
          ),
          invalidReq,
        );
        await assert.rejects(
          s.txn(
            [],
            [
              { type: 'put', key: 'a', value: 'changed' },
              { type: 'delete', key: 'a' },
            ],
          ),
          invalidReq,
          'a txn writing one key twice',
        );
        await assert.rejects(s.txn([{ key: '', modRevision: 0 }], []), invalidReq);
        await assert.rejects(s.txn([{ key: 'a', modRevision: -1 }], []), invalidReq);
        await assert.rejects(
          s.txn(
            [],
            Array.from({ length: MAX_TXN_OPS + 1 }, (_, i) => ({
              type: 'put' as const,
              key: `t/${i}`,
              value: '',
            })),
          ),
          invalidReq,
        );
        await assert.rejects(
          s.txn(
            [],
            [
              { type: 'put', key: 'big1', value: 'x'.repeat(MAX_VALUE_BYTES) },
              { type: 'put', key: 'big2', value: 'x'.repeat(MAX_VALUE_BYTES) },
              { type: 'put', key: 'big3', value: 'x' },
            ],
          ),
          invalidReq,
          'total txn size is bounded',
        );
        assert.deepEqual(await s.get('a'), { key: 'a', value: 'keep', createRevision: r, modRevision: r });
        assert.equal(await s.get('b'), undefined);
        assert.equal(await s.put('c', 'c'), r + 1);
      }));

    test('concurrent compare-and-set on one key: exactly one wins', () =>
      withStore(async (s) => {
        const r = await s.put('cas', 'v0');
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            s.txn([{ key: 'cas', modRevision: r }], [{ type: 'put', key: 'cas', value: `w${i}` }]),
          ),
        );
        const winners = results.flatMap((res, i) => (res.ok ? [i] : []));
        assert.equal(winners.length, 1);
        const e = await s.get('cas');
        assert.equal(e?.value, `w${winners[0]}`);
        assert.equal(e?.modRevision, r + 1);
        // Create-if-absent races the same way.
        const creates = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            s.txn([{ key: 'new', modRevision: 0 }], [{ type: 'put', key: 'new', value: `c${i}` }]),
          ),
        );
        assert.equal(creates.filter((c) => c.ok).length, 1);
      }));

    test('watch delivers puts and deletes under the prefix, in revision order', () =>
      withStore(async (s) => {
        await s.put('w/before', 'not delivered');
        const c = new Collector();
        const stop = await s.watch('w/', c.onEvent, { onError: c.onError });
        try {
          const r1 = await s.put('w/a', '1');
          await s.put('w0', 'just above the prefix');
          await s.put('other/a', 'elsewhere');
          const r2 = await s.put('w/b', '2');
          await s.delete('w/a');
          await s.delete('w/absent');
          const t = await s.txn(
            [],
            [
              { type: 'put', key: 'w/c', value: '3' },
              { type: 'delete', key: 'w/b' },
              { type: 'put', key: 'x/outside', value: 'no' },
            ],
          );
          const r5 = await s.put('w/a', '4');
          const evs = await c.waitFor(6);
          await sleep(100); // nothing extra trickles in
          assert.deepEqual(brief(evs), [
            ['put', 'w/a', '1', r1],
            ['put', 'w/b', '2', r2],
            ['delete', 'w/a', null, r2 + 1],
            ['put', 'w/c', '3', t.revision],
            ['delete', 'w/b', null, t.revision],
            ['put', 'w/a', '4', r5],
          ]);
          assert.equal(t.revision, r2 + 2);
          assert.deepEqual(c.errors, []);
        } finally {
          stop();
        }
      }));

    test('unwatch stops delivery; other watchers are unaffected', () =>
      withStore(async (s) => {
        const a = new Collector();
        const b = new Collector();
        const stopA = await s.watch('k/', a.onEvent);
        const stopB = await s.watch('', b.onEvent);
        try {
          await s.put('k/1', '1');
          await a.waitFor(1);
          stopA();
          stopA(); // idempotent
          await s.put('k/2', '2');
          await s.delete('k/1');
          await b.waitFor(3);
          await sleep(150);
          assert.deepEqual(
            a.events.map((e) => e.key),
            ['k/1'],
          );
          assert.deepEqual(
            b.events.map((e) => [e.type, e.key]),
            [
              ['put', 'k/1'],
              ['put', 'k/2'],
              ['delete', 'k/1'],
            ],
          );
        } finally {
          stopB();
        }
      }));

    test('a burst of writes is watched completely and in order', () =>
      withStore(async (s) => {
        const c = new Collector();
        const stop = await s.watch('burst/', c.onEvent);
        try {
          const revs = await Promise.all(
            Array.from({ length: 100 }, (_, i) => s.put(`burst/${i % 10}`, `${i}`)),
          );
          const evs = await c.waitFor(100, 10_000);
          const seen = evs.map((e) => e.modRevision);
          assert.deepEqual(
            seen,
            [...revs].sort((x, y) => x - y),
          );
          for (const e of evs) assert.equal(e.value, `${revs.indexOf(e.modRevision)}`);
        } finally {
          stop();
        }
      }));

    test('a throwing watch callback goes to onError; later events still arrive', () =>
      withStore(async (s) => {
        const seen: string[] = [];
        const errors: Error[] = [];
        const stop = await s.watch(
          'e/',
          (ev) => {
            seen.push(ev.key);
            if (ev.key === 'e/boom') throw new Error('callback bug');
          },
          { onError: (e) => errors.push(e) },
        );
        try {
          await s.put('e/boom', '1');
          await s.put('e/after', '2');
          for (let i = 0; i < 100 && seen.length < 2; i++) await sleep(20);
          assert.deepEqual(seen, ['e/boom', 'e/after']);
          assert.equal(errors.length, 1);
          assert.match(errors[0]!.message, /callback bug/);
        } finally {
          stop();
        }
      }));

    test('keys: 1 KiB of UTF-8 at most, not empty, well-formed', () =>
      withStore(async (s) => {
        const maxAscii = 'k'.repeat(MAX_KEY_BYTES);
        const maxMulti = '\u00e9'.repeat(MAX_KEY_BYTES / 2); // 2 bytes each
        await s.put(maxAscii, 'a');
        await s.put(maxMulti, 'b');
        assert.equal((await s.get(maxAscii))?.value, 'a');
        assert.equal((await s.get(maxMulti))?.value, 'b');
        for (const bad of [
          'k'.repeat(MAX_KEY_BYTES + 1),
          '\u00e9'.repeat(MAX_KEY_BYTES / 2) + 'x',
          '',
          'a\uD800b',
        ]) {
          await assert.rejects(s.put(bad, 'v'), invalidReq);
          await assert.rejects(s.get(bad), invalidReq);
          await assert.rejects(s.delete(bad), invalidReq);
        }
        await assert.rejects(s.list('p'.repeat(MAX_KEY_BYTES + 1)), invalidReq);
        await assert.rejects(
          s.watch('p'.repeat(MAX_KEY_BYTES + 1), () => {}),
          invalidReq,
        );
      }));

    test('values: up to 4 MiB round-trip exactly; larger is refused', () =>
      withStore(async (s) => {
        // Multi-byte content so a bytes-vs-characters mistake shows.
        const unit = '\u{1F511}é\u0000"\\';
        const unitBytes = Buffer.byteLength(unit);
        let big = unit.repeat(Math.floor(MAX_VALUE_BYTES / unitBytes));
        big += 'x'.repeat(MAX_VALUE_BYTES - Buffer.byteLength(big));
        assert.equal(Buffer.byteLength(big), MAX_VALUE_BYTES);
        const r = await s.put('big', big);
        const e = await s.get('big');
        assert.equal(e?.value.length, big.length);
        assert.ok(e?.value === big, 'the 4 MiB value comes back unchanged');
        assert.equal((await s.list('bi'))[0]?.value === big, true);
        await assert.rejects(s.put('big', big + 'x'), invalidReq);
        await assert.rejects(s.put('v', 'a\uDC00'), invalidReq);
        assert.equal((await s.get('big'))?.modRevision, r);
        assert.equal(await s.put('empty', ''), r + 1);
        assert.equal((await s.get('empty'))?.value, '');
      }));

    test('a listing over MAX_LIST_BYTES fails instead of returning a short page', () =>
      withStore(async (s) => {
        const big = 'x'.repeat(MAX_VALUE_BYTES);
        const n = Math.floor(MAX_LIST_BYTES / MAX_VALUE_BYTES) + 1;
        for (let i = 0; i < n; i++) await s.put(`big/${i}`, big);
        await assert.rejects(s.list('big/'), invalidReq);
        assert.equal((await s.list('big/', { limit: n - 2 })).length, n - 2);
      }));

    test('list limit must be 1..MAX_LIST_LIMIT', () =>
      withStore(async (s) => {
        for (const limit of [0, -1, 1.5, MAX_LIST_LIMIT + 1, Number.NaN])
          await assert.rejects(s.list('', { limit }), invalidReq, `limit ${limit}`);
        assert.deepEqual(await s.list('', { limit: MAX_LIST_LIMIT }), []);
      }));

    test('close is idempotent; use after close is UNAVAILABLE', async () => {
      const { store: s, cleanup } = await open();
      try {
        await s.put('k', 'v');
        await s.close();
        await s.close();
        await assert.rejects(s.get('k'), isCode('UNAVAILABLE'));
        await assert.rejects(s.put('k', 'v'), isCode('UNAVAILABLE'));
        await assert.rejects(s.list(''), isCode('UNAVAILABLE'));
        await assert.rejects(s.txn([], []), isCode('UNAVAILABLE'));
        await assert.rejects(
          s.watch('', () => {}),
          isCode('UNAVAILABLE'),
        );
      } finally {
        await cleanup();
      }
    });
  });
}
