// A real cluster: a 3-member etcd Raft cluster on loopback and 3 Keymesh node processes in two
// regions at different levels, started with --cluster. Covers joining (leased membership with
// attestations signed from the cluster dir), GET /v1/cluster, the admin token made once per
// cluster, cluster-wide tokens, the mutual-TLS peer listener, and a kill -9 seen as not live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { runCli, waitFor } from '../helpers/node.js';
import { SPECS, peerAddress, skipWithoutEtcd, startClusterNode, useCluster } from './_nodes.js';

interface ClusterView {
  node: string;
  live: boolean;
  nodes: { id: string; region: string; level: number; live: boolean; attested: boolean }[];
}

const c = useCluster();
const skip = skipWithoutEtcd;
const nodes = c.nodes;

test(
  'the admin token is made once, by the node that bootstrapped the cluster, and works on every node',
  { skip },
  async () => {
    assert.ok(c.admin.length > 0);
    assert.ok(!existsSync(join(nodes[1]!.dataDir, 'admin.token')));
    assert.ok(!existsSync(join(nodes[2]!.dataDir, 'admin.token')));
    for (const n of nodes) assert.equal((await n.api('GET', '/v1/keys', undefined, c.admin)).status, 200);
    // A token made on n2 works on n3 (tokens are cluster-wide).
    const made = await nodes[1]!.api<{ token: string }>(
      'POST',
      '/v1/tokens',
      { name: 'ops', scopes: ['keys:read'] },
      c.admin,
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((await nodes[2]!.api('GET', '/v1/keys', undefined, made.body.token)).status, 200);
  },
);

test(
  'GET /v1/cluster on every node lists the three nodes, their region, level and liveness, attested',
  { skip },
  async () => {
    for (const n of nodes) {
      const r = await n.api<ClusterView>('GET', '/v1/cluster', undefined, c.admin);
      assert.equal(r.status, 200);
      assert.equal(r.body.node, n.nodeId);
      assert.equal(r.body.live, true);
      assert.deepEqual(
        r.body.nodes.map((x) => [x.id, x.region, x.level, x.live, x.attested]),
        SPECS.map((s) => [s.id, s.region, s.level, true, true]),
      );
    }
    assert.equal((await nodes[0]!.api('GET', '/v1/cluster', undefined, null)).status, 401);
    const cli = await runCli(['cluster', 'status', '--url', nodes[2]!.url, '--token', c.admin]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /answered by n3 \(live\)/);
    for (const s of SPECS)
      assert.match(cli.stdout, new RegExp(`${s.id}\\s+${s.region}\\s+${s.level}\\s+true`));
  },
);

function peerGet(addr: string, tls: { ca: string; cert?: string; key?: string }): Promise<number> {
  const [host, port] = addr.split(':');
  return new Promise((res, rej) => {
    const req = request(
      { host, port: Number(port), path: '/v1/health', method: 'GET', servername: 'localhost', ...tls },
      (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      },
    );
    req.on('error', rej);
    req.end();
  });
}

test(
  'the peer listener is mutual TLS: a CA-issued node certificate gets in, no certificate does not',
  { skip },
  async () => {
    const ca = readFileSync(join(c.dir, 'ca.crt'), 'utf8');
    const cert = readFileSync(join(c.dir, 'nodes/n1/node.crt'), 'utf8');
    const key = readFileSync(join(c.dir, 'nodes/n1/node.key'), 'utf8');
    const addr = peerAddress(nodes[1]!);
    assert.equal(await peerGet(addr, { ca, cert, key }), 200);
    await assert.rejects(peerGet(addr, { ca }));
  },
);

test(
  'kill -9 of a node: the others see it not live once its lease lapses, and still list it',
  { skip },
  async () => {
    await nodes[2]!.kill9();
    const view = await waitFor(
      'n3 not live',
      async () => {
        const r = await nodes[0]!.api<ClusterView>('GET', '/v1/cluster', undefined, c.admin);
        const n3 = r.body.nodes.find((x) => x.id === 'n3');
        return n3 && !n3.live ? r.body : undefined;
      },
      20_000,
    );
    assert.deepEqual(
      view.nodes.map((x) => [x.id, x.live]),
      [
        ['n1', true],
        ['n2', true],
        ['n3', false],
      ],
    );
    // It comes back on the same data dir.
    nodes[2] = await startClusterNode(SPECS[2]!, c.etcd.endpoints, c.dir, nodes[2]!.dataDir);
    await waitFor('n3 live again', async () => {
      const r = await nodes[1]!.api<ClusterView>('GET', '/v1/cluster', undefined, c.admin);
      return r.body.nodes.find((x) => x.id === 'n3')?.live;
    });
  },
);

test(
  'a node claiming a level or region its certificate does not grant is refused at start',
  { skip },
  async () => {
    for (const claim of [
      { ...SPECS[2]!, level: 9 },
      { ...SPECS[2]!, region: 'eu' },
    ]) {
      const err = await startClusterNode(claim, c.etcd.endpoints, c.dir).then(
        () => assert.fail('started'),
        (e: Error) => e.message,
      );
      assert.match(err, /exited with 1 before ready/);
      assert.match(err, /certificate grants region us level 1/);
    }
    // And nothing of the claim reached the cluster.
    const r = await nodes[0]!.api<ClusterView>('GET', '/v1/cluster', undefined, c.admin);
    assert.deepEqual(
      r.body.nodes.map((x) => [x.id, x.region, x.level]),
      SPECS.map((s) => [s.id, s.region, s.level]),
    );
  },
);
