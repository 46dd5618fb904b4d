// SQLite store: the shared conformance suite on a real file, plus what only a file can show:
// reopening, schema-version refusal, file permissions, and durability of acknowledged writes
// across kill -9 of the writing process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { KeymeshError } from '../../src/errors.js';
import { openSqliteStore, SQLITE_SCHEMA_VERSION } from '../../src/store/sqlite.js';
import { makeTempDir, withTempDir } from '../helpers/tmp.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('sqlite', async () => {
  const t = makeTempDir('store-sqlite');
  const store = await openSqliteStore(join(t.dir, 'store.db'));
  return { store, cleanup: t.cleanup };
});

runStoreConformance('sqlite :memory:', async () => ({
  store: await openSqliteStore(':memory:'),
  cleanup: async () => {},
}));

const isUnavailable = (re: RegExp) => (e: unknown) =>
  e instanceof KeymeshError && e.code === 'UNAVAILABLE' && re.test(e.message);

describe('SQLite store file', () => {
  test('data and revision persist across close and reopen; file is 0600 and in WAL mode', () =>
    withTempDir('store-sqlite', async (dir) => {
      const path = join(dir, 'sub', 'store.db');
      const s1 = await openSqliteStore(path);
      await s1.put('a', '1');
      const r = await s1.txn([], [{ type: 'put', key: 'b', value: '2' }]);
      await s1.close();
      const s2 = await openSqliteStore(path);
      try {
        assert.deepEqual(await s2.get('a'), {
          key: 'a',
          value: '1',
          createRevision: r.revision - 1,
          modRevision: r.revision - 1,
        });
        assert.equal(await s2.put('c', '3'), r.revision + 1);
      } finally {
        await s2.close();
      }
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'sub')).mode & 0o777, 0o700);
      const raw = new Database(path, { readonly: true });
      try {
        assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        raw.close();
      }
    }));

  test('refuses a file written by a newer schema version, and a foreign database', () =>
    withTempDir('store-sqlite', async (dir) => {
      const path = join(dir, 'store.db');
      await (await openSqliteStore(path)).close();
      const raw = new Database(path);
      raw.prepare("UPDATE meta SET value = ? WHERE name = 'schema_version'").run(SQLITE_SCHEMA_VERSION + 1);
      raw.close();
      await assert.rejects(openSqliteStore(path), isUnavailable(/newer version/));

      const foreign = join(dir, 'foreign.db');
      const f = new Database(foreign);
      f.exec('CREATE TABLE users (id INTEGER)');
      f.close();
      await assert.rejects(openSqliteStore(foreign), isUnavailable(/not a Keymesh store/));
    }));

  test('put and txn latency with fsync (diagnostic)', (t) =>
    withTempDir('store-sqlite', async (dir) => {
      const s = await openSqliteStore(join(dir, 'store.db'));
      try {
        const value = JSON.stringify({ pad: 'x'.repeat(1000) });
        const time = async (n: number, fn: (i: number) => Promise<unknown>) => {
          const ms: number[] = [];
          for (let i = 0; i < n; i++) {
            const t0 = performance.now();
            await fn(i);
            ms.push(performance.now() - t0);
          }
          ms.sort((a, b) => a - b);
          return `p50 ${ms[Math.floor(n / 2)]!.toFixed(2)} ms, p99 ${ms[Math.floor(n * 0.99)]!.toFixed(2)} ms`;
        };
        const put = await time(200, (i) => s.put(`lat/${i}`, value));
        const txn = await time(200, async (i) => {
          const e = await s.get(`lat/${i}`);
          const res = await s.txn(
            [{ key: `lat/${i}`, modRevision: e!.modRevision }],
            [
              { type: 'put', key: `lat/${i}`, value },
              { type: 'put', key: `lat2/${i}`, value },
            ],
          );
          assert.equal(res.ok, true);
        });
        t.diagnostic(`sqlite put (1 KiB, fsync): ${put}`);
        t.diagnostic(`sqlite get + 2-op CAS txn (fsync): ${txn}`);
      } finally {
        await s.close();
      }
    }));

  for (const killAfter of [50, 200, 600]) {
    test(`acknowledged writes survive kill -9 of the writer (killed after ${killAfter} acks)`, () =>
      withTempDir('store-crash', async (dir) => {
        const path = join(dir, 'store.db');
        const writer = fileURLToPath(new URL('./crash-writer.js', import.meta.url));
        const child = spawn(process.execPath, [writer, path], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const exited = new Promise<NodeJS.Signals | null>((resolve) =>
          child.on('exit', (_c, sig) => resolve(sig)),
        );
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`writer too slow; stderr: ${err}`)), 60_000);
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (out.split('\n').length - 1 >= killAfter) {
              clearTimeout(timer);
              child.kill('SIGKILL');
              resolve();
            }
          });
          child.on('exit', () => {
            clearTimeout(timer);
            reject(new Error(`writer exited early; stderr: ${err}`));
          });
        }).catch((e) => {
          child.kill('SIGKILL');
          throw e;
        });
        assert.equal(await exited, 'SIGKILL');
        // Only complete lines are acknowledgements; more may have arrived after the kill was sent.
        const acked = out
          .split('\n')
          .slice(0, -1)
          .map((l) => Number(l));
        assert.ok(acked.length >= killAfter);
        acked.forEach((id, i) => assert.equal(id, i));

        // The database itself is intact.
        const raw = new Database(path);
        try {
          assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
        } finally {
          raw.close();
        }

        const s = await openSqliteStore(path);
        try {
          for (const id of acked) {
            const e = await s.get(`c/${id}`);
            assert.ok(e, `acknowledged write c/${id} is missing`);
            assert.equal((JSON.parse(e.value) as { i: number }).i, id);
            if (id % 2 === 1) assert.ok(await s.get(`t/${id}`), `txn twin t/${id} is missing`);
          }
          // Anything written (acknowledged or in flight) is whole: a txn applied both puts or none,
          // ids are a gap-free run, and the revision counted exactly one write per id.
          const cs = await s.list('c/');
          const ts = await s.list('t/');
          const ids = cs.map((e) => Number(e.key.slice(2))).sort((a, b) => a - b);
          ids.forEach((id, i) => assert.equal(id, i));
          assert.ok(ids.length >= acked.length && ids.length <= acked.length + 1);
          assert.deepEqual(
            ts.map((e) => Number(e.key.slice(2))).sort((a, b) => a - b),
            ids.filter((id) => id % 2 === 1),
          );
          const revs = new Set(cs.map((e) => e.modRevision));
          assert.equal(revs.size, ids.length);
          assert.equal(Math.max(...revs), ids.length);
          assert.equal(await s.put('after-crash', 'ok'), ids.length + 1);
        } finally {
          await s.close();
        }
      }));
  }
});
