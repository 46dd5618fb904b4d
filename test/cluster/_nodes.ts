// Real Keymesh cluster nodes for the cluster e2e tests: a cluster dir made by the CLI
// (`keymesh cluster init` and `add-node`), and node processes started with --cluster against a
// real etcd cluster (test/helpers/etcd.ts). The first node started bootstraps the admin token.
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

export async function makeClusterDir(ids: string[]): Promise<string> {
  const dir = tempDir('keymesh-cluster-');
  const init = await runCli(['cluster', 'init', '--dir', dir]);
  if (init.code !== 0) throw new Error(`cluster init failed: ${init.stderr}`);
  for (const id of ids) {
    const r = await runCli(['cluster', 'add-node', '--dir', dir, '--node-id', id]);
    if (r.code !== 0) throw new Error(`cluster add-node failed: ${r.stderr}`);
  }
  return dir;
}

export function startClusterNode(
  spec: ClusterNodeSpec,
  etcdEndpoints: string[],
  clusterDir: string,
  dataDir?: string,
): Promise<TestNode> {
  const etcd = 'etcd://' + etcdEndpoints.map((u) => u.replace(/^http:\/\//, '')).join(',');
  return startNode({
    ...(dataDir ? { dataDir } : {}),
    args: [
      '--node-id',
      spec.id,
      '--cluster',
      etcd,
      '--region',
      spec.region,
      '--level',
      String(spec.level),
      '--peer',
      '127.0.0.1:0',
      '--cluster-dir',
      clusterDir,
    ],
  });
}

/** The peer endpoint a node printed (keymesh cluster peer=HOST:PORT). */
export function peerAddress(n: TestNode): string {
  const m = /^keymesh cluster peer=(\S+)/m.exec(n.stdout());
  if (!m) throw new Error('no peer line');
  return m[1]!;
}
