// A node's ready line means it serves (issue 7, point 23), in a real cluster (etcd, Keymesh node
// processes): a key only n3 holds (region placement); n3 stopped (SIGTERM or kill -9) and
// restarted; the moment its ready line appears, n1 is asked to sign with that key and must
// succeed, signed by n3, with no retry.
//
// The failure this guards against is a race: n1's cached view of the cluster (list-then-watch) had
// not yet seen n3's new registration and answered 503. To lose that race every time rather than
// now and then, n1 reaches etcd through a proxy that delays what etcd sends it (a slow link), so
// its watch is known to lag behind n3's ready line. Three ways in: n1 has seen n3 go down (no live
// holder in its view), n1 has not yet seen n3 go (its view holds n3's old record, whose peer
// endpoint nothing listens on any more), and n3 killed -9 (the same, until its old lease expires).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDelayProxy, type DelayProxy } from '../helpers/delay-proxy.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { waitFor, type TestNode } from '../helpers/node.js';
import {
  type ClusterKey,
  createKey,
  makeClusterDir,
  signOn,
  skipWithoutEtcd,
  SPECS,
  startClusterNode,
} from './_nodes.js';

const skip = skipWithoutEtcd;
const N1 = SPECS[0]!; // eu
const N3 = SPECS[2]!; // us: the only node a { regions: ['us'] } key is placed on
/**
 * How far behind n1's view of etcd is held. Longer than n3 takes from its registration to its
 * ready line, shorter than a third of the lease TTL (n1 must keep its own lease meanwhile).
 */
const LAG_MS = 1200;

let etcd: EtcdCluster;
let proxy: DelayProxy;
let dir: string;
let n1: TestNode;
let n3: TestNode;
let admin: string;

before(async () => {
  if (skip) return;
  etcd = await startEtcdCluster(1);
  proxy = await startDelayProxy(etcd.endpoints[0]!);
  dir = await makeClusterDir([N1, N3]);
  n1 = await startClusterNode(N1, [proxy.url], dir);
  admin = n1.adminToken;
  n3 = await startClusterNode(N3, etcd.endpoints, dir);
});
after(async () => {
  await n1?.kill9();
  await n3?.kill9();
  await proxy?.close();
  await etcd?.stop();
});

const liveOnN1 = async (id: string) => {
  const r = await n1.api<{ nodes: { id: string; live: boolean }[] }>('GET', '/v1/cluster', undefined, admin);
  return r.body.nodes.some((x) => x.id === id && x.live);
};

type Down = 'seen down' | 'stop' | 'kill -9';

async function restartN3(how: Down): Promise<void> {
  if (how === 'seen down') {
    assert.equal(await n3.stop(), 0);
    await waitFor('n1 sees n3 down', async () => !(await liveOnN1('n3')));
    proxy.delayMs = LAG_MS;
  } else {
    proxy.delayMs = LAG_MS;
    if (how === 'stop') assert.equal(await n3.stop(), 0);
    else await n3.kill9();
  }
  n3 = await startClusterNode(N3, etcd.endpoints, dir, n3.dataDir);
}

test(
  'after a restart, a key only the restarted node holds signs through another node at its ready line',
  { skip, timeout: 300_000 },
  async () => {
    const k = await createKey(n1, admin, 'only-n3', { regions: ['us'] });
    assert.equal(k.status, 201, JSON.stringify(k.body));
    const key = k.body as ClusterKey;
    assert.deepEqual(key.replicas, ['n3']);
    await waitFor('n1 signs through n3', async () => (await signOn(n1, admin, key)).status === 200);
    const rounds: Down[] = ['seen down', 'stop', 'kill -9', 'seen down', 'stop', 'kill -9'];
    for (const [i, how] of rounds.entries()) {
      await restartN3(how);
      // No wait, no retry: the ready line is the promise.
      const s = await signOn(n1, admin, key);
      proxy.delayMs = 0;
      assert.equal(s.status, 200, `round ${i} (${how}): ${JSON.stringify(s.body)}`);
      assert.equal(s.node, 'n3');
      // Let n1's view catch up before the next round, so each round starts from a settled cluster.
      await waitFor('n1 sees n3 live', () => liveOnN1('n3'));
    }
  },
);
