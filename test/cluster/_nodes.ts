// Real Keymesh cluster nodes for the cluster e2e tests: a cluster dir made by the CLI
// (`keymesh cluster init` and `add-node`), and node processes started with --cluster against a
// real etcd cluster (test/helpers/etcd.ts). The first node started bootstraps the admin token.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { haveEtcd, startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { runCli, startNode, tempDir, type TestNode } from '../helpers/node.js';

export interface ClusterNodeSpec {
  id: string;
  region: string;
  level: number;
}

/** The three nodes most cluster tests run: two regions, three levels. */
export const SPECS: ClusterNodeSpec[] = [
  { id: 'n1', region: 'eu', level: 2 },
  { id: 'n2', region: 'eu', level: 3 },
  { id: 'n3', region: 'us', level: 1 },
];

export async function makeClusterDir(specs: ClusterNodeSpec[]): Promise<string> {
  const dir = tempDir('keymesh-cluster-');
  const init = await runCli(['cluster', 'init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`cluster init failed: ${init.stderr}`);
  for (const s of specs) await addNode(dir, s);
  return dir;
}

/** --node-id, --region and --level of a node. */
export const nodeFlags = (s: ClusterNodeSpec): string[] => [
  '--node-id',
  s.id,
  '--region',
  s.region,
  '--level',
  String(s.level),
];

/** The flags API.md names for joining a cluster: --cluster etcd://… and nodeFlags. */
export const contractFlags = (s: ClusterNodeSpec, etcdEndpoints: string[]): string[] => [
  '--cluster',
  'etcd://' + etcdEndpoints.map((u) => u.replace(/^http:\/\//, '')).join(','),
  ...nodeFlags(s),
];

/** keymesh cluster add-node: (re-)issues a node's certificate for its region and level. */
export async function addNode(dir: string, s: ClusterNodeSpec): Promise<void> {
  const r = await runCli(['cluster', 'add-node', '--dir', dir, ...nodeFlags(s)]);
  if (r.code !== 0) throw new Error(`cluster add-node failed: ${r.stderr}`);
}

/**
 * What an operator copies to the machine of one node: ca.crt and nodes/ID/, never ca.key. Every
 * node in these tests starts from such a copy, so the cluster is shown to work without the CA key
 * on any node.
 */
function nodeCopy(clusterDir: string, id: string): string {
  const d = tempDir(`keymesh-clusterdir-${id}-`);
  mkdirSync(join(d, 'nodes'), { mode: 0o700 });
  cpSync(join(clusterDir, 'ca.crt'), join(d, 'ca.crt'));
  cpSync(join(clusterDir, 'nodes', id), join(d, 'nodes', id), { recursive: true });
  return d;
}

export function startClusterNode(
  spec: ClusterNodeSpec,
  etcdEndpoints: string[],
  clusterDir: string,
  dataDir?: string,
): Promise<TestNode> {
  return startNode({
    ...(dataDir ? { dataDir } : {}),
    args: [
      ...contractFlags(spec, etcdEndpoints),
      '--peer',
      '127.0.0.1:0',
      '--cluster-dir',
      nodeCopy(clusterDir, spec.id),
    ],
  });
}

/** The peer endpoint a node printed (keymesh cluster peer=HOST:PORT). */
export function peerAddress(n: TestNode): string {
  const m = /^keymesh cluster peer=(\S+)/m.exec(n.stdout());
  if (!m) throw new Error('no peer line');
  return m[1]!;
}

/** For `{ skip }`: the cluster tests need a real etcd binary (CI installs etcd-server). */
export const skipWithoutEtcd = !haveEtcd() && 'etcd is not installed';

export interface ClusterFixture {
  etcd: EtcdCluster;
  /** The cluster dir (CA and node certificates). */
  dir: string;
  /** The running nodes; tests replace an entry when they restart a node. */
  nodes: TestNode[];
  /** The admin token the bootstrapping node (n1) wrote. */
  admin: string;
}

/**
 * A 3-member etcd cluster and the SPECS nodes, started before the file's tests and killed after;
 * `extra` nodes get certificates too, for nodes a test starts later.
 */
export function useCluster(extra: ClusterNodeSpec[] = []): ClusterFixture {
  const f = { nodes: [] as TestNode[], admin: '' } as unknown as ClusterFixture;
  before(async () => {
    if (skipWithoutEtcd) return;
    f.etcd = await startEtcdCluster(3);
    f.dir = await makeClusterDir([...SPECS, ...extra]);
    for (const s of SPECS) f.nodes.push(await startClusterNode(s, f.etcd.endpoints, f.dir));
    f.admin = f.nodes[0]!.adminToken;
  });
  after(async () => {
    for (const n of f.nodes) await n.kill9();
    await f.etcd?.stop();
  });
  return f;
}

export interface ClusterKey {
  id: string;
  name: string;
  publicKey: string;
  state: string;
  replicas?: string[];
  placement?: Record<string, unknown>;
  error?: { code: string };
}

/** POST /v1/keys for a secp256k1 key, with an optional placement. */
export function createKey(n: TestNode, token: string, name: string, placement?: unknown) {
  return n.api<ClusterKey>(
    'POST',
    '/v1/keys',
    { name, algorithm: 'secp256k1', ...(placement ? { placement } : {}) },
    token,
  );
}

const DIGEST = new Uint8Array(32).fill(0x42);
const unhex = (s: string) => new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex'));

/**
 * Signs a fixed digest on node n. A signature returned is checked under the key's public key
 * (noble); `node` is the x-keymesh-node header, the node that signed.
 */
export async function signOn(n: TestNode, token: string, key: { id: string; publicKey: string }) {
  const r = await n.api<{ signature: string; error?: { code: string } }>(
    'POST',
    `/v1/keys/${key.id}/sign`,
    { digest: '0x' + Buffer.from(DIGEST).toString('hex') },
    token,
  );
  if (r.status === 200)
    assert.ok(
      secp256k1.verify(unhex(r.body.signature), DIGEST, unhex(key.publicKey), { prehash: false }),
      'the signature verifies under the key',
    );
  return {
    status: r.status,
    node: r.headers.get('x-keymesh-node'),
    body: r.body,
    requestId: r.headers.get('x-request-id'),
  };
}
