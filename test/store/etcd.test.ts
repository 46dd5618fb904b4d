// etcd store against REAL etcd processes (test/helpers/etcd.ts): the shared conformance suite on
// one member, then what only a cluster shows: bounded failure instead of hangs, watch resume across
// reconnects, kill -9 of members of a 3-member Raft cluster under write load with nothing
// acknowledged lost, and leases for the cluster layer.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KeymeshError } from '../../src/errors.js';
import { openEtcdStore } from '../../src/store/etcd.js';
import type { WatchEvent } from '../../src/store/store.js';
import { startEtcd, startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { runStoreConformance } from './conformance.js';

// Generous per-test limit: a hang fails the test instead of stalling the run.
const T = 120_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const code = (e: unknown) => (e instanceof KeymeshError ? e.code : String(e));

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; last error: ${String(last)}`);
    await sleep(50);
  }
}

async function latency(n: number, fn: (i: number) => Promise<unknown>): Promise<string> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return `p50 ${ms[Math.floor(n / 2)]!.toFixed(2)} ms, p99 ${ms[Math.floor(n * 0.99)]!.toFixed(2)} ms (n=${n})`;
}

let single: EtcdCluster;
let nsCounter = 0;
const freshNs = (label: string) => `${label}-${++nsCounter}/`;

before(async () => {
  single = await startEtcd();
});
after(async () => {
  await single?.stop();
});

runStoreConformance('etcd (1 member)', async () => ({
  store: await openEtcdStore(single.endpoints, { namespace: freshNs('conformance') }),
  cleanup: async () => {},
}));

describe('etcd store', () => {
  test('namespaces isolate keys, lists and watches', { timeout: T }, async () => {
    const a = await openEtcdStore(single.endpoints, { namespace: freshNs('iso-a') });
    const b = await openEtcdStore(single.endpoints, { namespace: freshNs('iso-b') });
    try {
      const seen: WatchEvent[] = [];
      const stop = await b.watch('', (ev) => seen.push(ev));
      await a.put('k', 'from a');
      await b.put('k', 'from b');
      assert.deepEqual(
        (await a.list('')).map((e) => [e.key, e.value]),
        [['k', 'from a']],
      );
      assert.equal((await b.get('k'))?.value, 'from b');
      await eventually('b sees its own write', async () => (seen.length >= 1 ? true : undefined));
      await sleep(100);
      stop();
      assert.deepEqual(
        seen.map((e) => e.value),
        ['from b'],
      );
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('list-then-watch with listWithRevision and watchFrom misses nothing', { timeout: T }, async () => {
    const s = await openEtcdStore(single.endpoints, { namespace: freshNs('ltw') });
    try {
      await s.put('c/1', 'a');
      const { entries, revision } = await s.listWithRevision('c/');
      await s.put('c/2', 'b'); // between the list and the watch
      const seen: WatchEvent[] = [];
      const stop = await s.watchFrom('c/', revision + 1, (ev) => seen.push(ev));
      await s.put('c/3', 'c');
      await eventually('2 events', async () => (seen.length >= 2 ? true : undefined));
      stop();
      assert.deepEqual(
        entries.map((e) => e.key),
        ['c/1'],
      );
      assert.deepEqual(
        seen.map((e) => e.key),
        ['c/2', 'c/3'],
      );
    } finally {
      await s.close();
    }
  });

  test(
    'a watch that cannot start or resume from compacted history fails loudly',
    { timeout: T },
    async () => {
      const s = await openEtcdStore(single.endpoints, { namespace: freshNs('compact') });
      try {
        const r1 = await s.put('c/1', 'a');
        await s.put('c/2', 'b');
        const r3 = await s.put('c/3', 'c');
        await s.rpc.kv.compact({ revision: r3, physical: true });
        const errors: Error[] = [];
        const seen: WatchEvent[] = [];
        let rejected: unknown;
        await s
          .watchFrom('c/', r1, (ev) => seen.push(ev), { onError: (e) => errors.push(e) })
          .then(
            (stop) => setTimeout(stop, 2000),
            (e) => (rejected = e),
          );
        await eventually('the failure', async () => (rejected ?? errors[0]) || undefined, 2000);
        assert.equal(code(rejected ?? errors[0]), 'UNAVAILABLE');
        assert.deepEqual(seen, []);
      } finally {
        await s.close();
      }
    },
  );

  test('no reachable member: open fails UNAVAILABLE within its budget', { timeout: T }, async () => {
    const t0 = Date.now();
    await assert.rejects(openEtcdStore(['http://127.0.0.1:1'], { opTimeoutMs: 1500 }), (e) => {
      assert.equal(code(e), 'UNAVAILABLE');
      return true;
    });
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
  });

  test(
    'a hung member (SIGSTOP) makes calls fail UNAVAILABLE in bounded time, not hang',
    { timeout: T },
    async () => {
      const c = await startEtcd();
      try {
        const s = await openEtcdStore(c.endpoints, {
          namespace: 'hang/',
          callTimeoutMs: 400,
          opTimeoutMs: 1500,
        });
        try {
          await s.put('k', 'v');
          c.members[0]!.proc!.kill('SIGSTOP');
          let t0 = Date.now();
          await assert.rejects(s.put('k', 'v2'), (e) => {
            assert.equal(code(e), 'UNAVAILABLE');
            // A write that timed out may have been applied: the caller must be told so.
            assert.equal((e as KeymeshError).details?.outcome, 'unknown');
            return true;
          });
          assert.ok(Date.now() - t0 < 4000, `write took ${Date.now() - t0} ms`);
          t0 = Date.now();
          await assert.rejects(s.get('k'), (e) => code(e) === 'UNAVAILABLE');
          assert.ok(Date.now() - t0 < 4000, `read took ${Date.now() - t0} ms`);
          c.members[0]!.proc!.kill('SIGCONT');
          const e = await eventually('recovery', () => s.get('k'));
          assert.ok(e.value === 'v' || e.value === 'v2');
        } finally {
          c.members[0]?.proc?.kill('SIGCONT');
          await s.close();
        }
      } finally {
        await c.stop();
      }
    },
  );

  test(
    'kill -9 and restart of a lone member: UNAVAILABLE meanwhile, then the watch resumes losslessly',
    { timeout: T },
    async () => {
      const c = await startEtcd();
      try {
        const s = await openEtcdStore(c.endpoints, {
          namespace: 'restart/',
          callTimeoutMs: 500,
          opTimeoutMs: 2000,
        });
        const w = await openEtcdStore(c.endpoints, { namespace: 'restart/' });
        try {
          const seen: WatchEvent[] = [];
          const errors: Error[] = [];
          const stop = await w.watch('k/', (ev) => seen.push(ev), { onError: (e) => errors.push(e) });
          const r1 = await s.put('k/1', 'before');
          await c.kill(0);
          await assert.rejects(s.put('k/x', 'while down'), (e) => code(e) === 'UNAVAILABLE');
          await assert.rejects(s.get('k/1'), (e) => code(e) === 'UNAVAILABLE');
          await c.restart(0);
          const r2 = await eventually('a write after restart', () => s.put('k/2', 'after'));
          const r3 = await s.put('k/3', 'after too');
          await eventually('watch catches up', async () =>
            seen.some((e) => e.modRevision === r3) ? true : undefined,
          );
          stop();
          // k/x may or may not have been applied (outcome unknown); if it was, the watch has it too.
          const got = seen.filter((e) => e.key !== 'k/x').map((e) => [e.key, e.modRevision]);
          assert.deepEqual(got, [
            ['k/1', r1],
            ['k/2', r2],
            ['k/3', r3],
          ]);
          const revs = seen.map((e) => e.modRevision);
          assert.deepEqual(
            revs,
            [...new Set(revs)].sort((a, b) => a - b),
          );
          assert.deepEqual(errors, []);
        } finally {
          await s.close();
          await w.close();
        }
      } finally {
        await c.stop();
      }
    },
  );

  test(
    'leases: keepalive outlives the TTL, revoke deletes the key, an unrenewed lease expires',
    { timeout: T },
    async () => {
      const s = await openEtcdStore(single.endpoints, { namespace: freshNs('lease') });
      try {
        const lease = await s.grantLease(1);
        const lostA: KeymeshError[] = [];
        lease.onLost((e) => lostA.push(e));
        await s.putWithLease('nodes/a', '{"id":"a"}', lease);
        assert.ok(lease.remainingMs() > 0 && lease.remainingMs() <= 1000);
        await sleep(2500); // > 2 TTLs: only keepalives keep it
        assert.equal((await s.get('nodes/a'))?.value, '{"id":"a"}');
        assert.equal(lease.lost, false);
        await lease.revoke();
        assert.equal(await s.get('nodes/a'), undefined);
        assert.equal(lease.lost, true);
        assert.equal(lostA.length, 1);
        await assert.rejects(s.putWithLease('nodes/a', 'x', lease), (e) => code(e) === 'CONFLICT');

        const seen: WatchEvent[] = [];
        const stop = await s.watch('nodes/', (ev) => seen.push(ev));
        const once = await s.grantLease(1, { autoKeepAlive: false });
        const lostB: KeymeshError[] = [];
        once.onLost((e) => lostB.push(e));
        await s.txn(
          [{ key: 'nodes/b', modRevision: 0 }],
          [{ type: 'put', key: 'nodes/b', value: 'b', lease: once }],
        );
        await eventually('local expiry', async () => (lostB.length ? true : undefined), 3000);
        assert.equal(once.lost, true);
        assert.equal((lostB[0]?.details as { reason?: string }).reason, 'not_renewed');
        await eventually(
          'etcd deletes the key',
          async () => ((await s.get('nodes/b')) ? undefined : true),
          5000,
        );
        await eventually('delete event', async () =>
          seen.some((e) => e.type === 'delete') ? true : undefined,
        );
        stop();
        assert.deepEqual(
          seen.map((e) => [e.type, e.key]),
          [
            ['put', 'nodes/b'],
            ['delete', 'nodes/b'],
          ],
        );
      } finally {
        await s.close();
      }
    },
  );

  test('put latency, 1 member (diagnostic)', { timeout: T }, async (t) => {
    const s = await openEtcdStore(single.endpoints, { namespace: freshNs('lat1') });
    try {
      const value = JSON.stringify({ pad: 'x'.repeat(1000) });
      t.diagnostic(`etcd 1 member put (1 KiB): ${await latency(200, (i) => s.put(`k/${i}`, value))}`);
      t.diagnostic(
        `etcd 1 member CAS txn: ${await latency(200, async (i) => {
          const e = await s.get(`k/${i}`);
          assert.equal(
            (
              await s.txn(
                [{ key: `k/${i}`, modRevision: e!.modRevision }],
                [{ type: 'put', key: `k/${i}`, value }],
              )
            ).ok,
            true,
          );
        })} (get + txn)`,
      );
    } finally {
      await s.close();
    }
  });
});

describe('etcd store on a 3-member cluster', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster(3);
  });
  after(async () => {
    await cluster?.stop();
  });

  test('put latency, 3 members (diagnostic)', { timeout: T }, async (t) => {
    const s = await openEtcdStore(cluster.endpoints, { namespace: 'lat3/' });
    try {
      const value = JSON.stringify({ pad: 'x'.repeat(1000) });
      t.diagnostic(`etcd 3 members put (1 KiB): ${await latency(200, (i) => s.put(`k/${i}`, value))}`);
    } finally {
      await s.close();
    }
  });

  test(
    'kill -9 of each member in turn (leader first) under write load: writes continue, nothing acknowledged is lost, the watch misses nothing',
    { timeout: T },
    async (t) => {
      const store = await openEtcdStore(cluster.endpoints, {
        namespace: 'chaos/',
        callTimeoutMs: 1000,
        opTimeoutMs: 5000,
      });
      const watcherStore = await openEtcdStore(cluster.endpoints, { namespace: 'chaos/' });
      const seen: WatchEvent[] = [];
      const watchErrors: Error[] = [];
      const stopWatch = await watcherStore.watch('w/', (ev) => seen.push(ev), {
        onError: (e) => watchErrors.push(e),
      });
      const acked = new Map<string, { value: string; rev: number }>();
      let unknownOutcomes = 0;
      let otherErrors = 0;
      let running = true;
      const writer = async (id: number) => {
        for (let i = 0; running; i++) {
          const key = `w/${id}/${String(i).padStart(6, '0')}`;
          const value = `v${i}`;
          try {
            acked.set(key, { value, rev: await store.put(key, value) });
          } catch (e) {
            if (code(e) !== 'UNAVAILABLE') throw e;
            if ((e as KeymeshError).details?.outcome === 'unknown') unknownOutcomes++;
            else otherErrors++;
            await sleep(20);
          }
        }
      };
      const writers = [0, 1, 2].map(writer);
      const ackedAfter = async (n: number) => {
        const target = acked.size + n;
        await eventually(
          `${n} more acknowledged writes`,
          async () => (acked.size >= target ? true : undefined),
          20_000,
        );
      };

      try {
        await ackedAfter(30);
        const leader = await cluster.leader();
        assert.notEqual(leader, undefined);
        const order = [leader!, ...[0, 1, 2].filter((i) => i !== leader)];
        for (const i of order) {
          const t0 = Date.now();
          await cluster.kill(i);
          await ackedAfter(30); // the two survivors keep a quorum
          t.diagnostic(
            `member ${i} killed${i === leader ? ' (leader)' : ''}: 30 writes acknowledged ${Date.now() - t0} ms later`,
          );
          await cluster.restart(i);
          await ackedAfter(30);
        }
      } finally {
        running = false;
        await Promise.all(writers);
      }
      t.diagnostic(
        `${acked.size} writes acknowledged; ${unknownOutcomes} unknown outcomes, ${otherErrors} refused`,
      );

      try {
        // Every acknowledged write is there, read from the cluster and from each member alone.
        const all = new Map((await store.list('w/')).map((e) => [e.key, e]));
        for (const [key, { value, rev }] of acked) {
          const e = all.get(key);
          assert.ok(e, `acknowledged ${key} is missing`);
          assert.equal(e.value, value);
          assert.equal(e.modRevision, rev);
        }
        for (const ep of cluster.endpoints) {
          const one = await openEtcdStore([ep], { namespace: 'chaos/' });
          try {
            const n = (await one.list('w/')).length;
            assert.equal(n, all.size, `member ${ep} sees ${n} of ${all.size}`);
          } finally {
            await one.close();
          }
        }
        // The watch saw every committed write (acknowledged or not) exactly once, in order.
        const maxRev = Math.max(...[...all.values()].map((e) => e.modRevision));
        await eventually('the watch to catch up', async () =>
          seen.at(-1)?.modRevision === maxRev ? true : undefined,
        );
        const revs = seen.map((e) => e.modRevision);
        for (let i = 1; i < revs.length; i++) assert.ok(revs[i]! > revs[i - 1]!, `watch order at ${i}`);
        assert.equal(seen.length, all.size);
        for (const ev of seen) assert.equal(all.get(ev.key)?.modRevision, ev.modRevision);
        assert.deepEqual(watchErrors, []);
      } finally {
        stopWatch();
        await store.close();
        await watcherStore.close();
      }
    },
  );
});
