// The watch-fed copy of key and replica records (src/cluster/key-cache.ts) on a real etcd: it
// starts from what is there, follows puts and deletes, keeps the holders index in step (replicas
// added and removed, a key's last replica gone), and `caughtUp` resolves once a given write is in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyCache } from '../../src/cluster/key-cache.js';
import { openEtcdStore, type EtcdStore } from '../../src/store/etcd.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { eventually, freshNamespace } from './_support.js';
import { skipWithoutEtcd } from './_nodes.js';

const skip = skipWithoutEtcd;
let etcd: EtcdCluster;
let store: EtcdStore;
const errors: Error[] = [];

before(async () => {
  if (skip) return;
  etcd = await startEtcd();
  store = await openEtcdStore(etcd.endpoints, { namespace: freshNamespace('key-cache') });
});
after(async () => {
  await store?.close();
  await etcd?.stop();
});

test('the copy follows key and replica records, and knows who holds what', { skip }, async () => {
  await store.put('keys/k1', '{"id":"k1","state":"active"}');
  await store.put('replicas/k1/n1', 'r1');
  await store.put('replicas/k1/n2', 'r2');
  const cache = await KeyCache.start(store, (e) => errors.push(e));
  try {
    assert.equal(cache.record('k1'), '{"id":"k1","state":"active"}');
    assert.equal(cache.replica('k1', 'n2'), 'r2');
    assert.deepEqual(cache.holders('k1').sort(), ['n1', 'n2']);
    assert.deepEqual(cache.holders('k2'), []);

    // A state change: caughtUp(revision) resolves with the copy showing it.
    const rev = await store.put('keys/k1', '{"id":"k1","state":"deactivated"}');
    await cache.caughtUp(rev, 5000);
    assert.equal(cache.record('k1'), '{"id":"k1","state":"deactivated"}');

    // A new key with its replicas in one transaction; a replica removed; the last one removed.
    await store.txn(
      [],
      [
        { type: 'put', key: 'keys/k2', value: '{"id":"k2"}' },
        { type: 'put', key: 'replicas/k2/n3', value: 'r3' },
      ],
    );
    await eventually(() => cache.holders('k2').join() === 'n3', 3000, 'k2 held by n3');
    await store.delete('replicas/k1/n1');
    await eventually(() => cache.holders('k1').join() === 'n2', 3000, 'n1 gone from k1');
    await store.delete('replicas/k1/n2');
    await eventually(() => cache.holders('k1').length === 0, 3000, 'k1 held by nobody');
    assert.equal(cache.replica('k1', 'n2'), undefined);
    await store.delete('keys/k1');
    await eventually(() => cache.record('k1') === undefined, 3000, 'k1 gone');
    // A revision it will not reach in time: UNAVAILABLE, not a hang.
    await assert.rejects(cache.caughtUp(rev + 1_000_000, 200), /did not reach/);
  } finally {
    cache.close();
  }
  assert.deepEqual(errors, []);
});
