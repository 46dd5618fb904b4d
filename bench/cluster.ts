// Cluster figures for `npm run bench`: a real 3-member etcd cluster (Raft on loopback) and three
// Keymesh node processes started from the CLI (n1 eu/2, n2 eu/3, n3 us/1; test/cluster/_nodes.ts).
// As in the rest of the benchmark, each figure is put beside the primitive it is built on,
// measured in the same run on the same machine:
//
// - key creation (a replica wrapped to each of the 3 nodes, all in one etcd txn) and the time a
//   deactivation takes to be in force on every holder, against one etcd txn of the same shape
//   (a compare and 5 puts) sent from this process with the node's own etcd client (EtcdStore);
// - signing through a node that holds no replica (forwarded over mutual TLS to the one that does)
//   against signing on a holder.
//
// Skipped, with a line saying so, where etcd is not installed. Alone: `node dist/bench/cluster.js`.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createKey, makeClusterDir, signOn, SPECS, startClusterNode } from '../test/cluster/_nodes.js';
import { haveEtcd, startEtcdCluster, type EtcdCluster } from '../test/helpers/etcd.js';
import type { TestNode } from '../test/helpers/node.js';
import { openEtcdStore } from '../src/store/etcd.js';
import { runLoad } from './http-load.js';
import { fmt, percentiles, type Percentiles } from './stats.js';

export interface ClusterBenchOptions {
  /** Seconds per closed-loop run (signing, creation at concurrency 8). */
  seconds: number;
  /** Sequential creates and raw etcd operations timed one by one. Default 200. */
  creates?: number;
  /** Deactivate + reactivate rounds. Default 50. */
  stateRounds?: number;
}

interface Row {
  label: string;
  result: Percentiles & { rps?: number; errors?: number };
  vs: string;
}

/** Milliseconds `op` takes. */
async function timed(op: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await op();
  return performance.now() - t0;
}

/** Runs `op` n times one after the other; the latency of each in milliseconds. */
async function timeEach(n: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await timed(() => op(i)));
  return out;
}

/**
 * The raw primitives, from this process: a linearizable get, a put, and a txn shaped like a key
 * creation (the name compared at revision 0; the name, the key record and 3 replicas put).
 */
async function etcdBaseline(endpoints: string[], n: number) {
  const store = await openEtcdStore(endpoints, { namespace: `keymesh-bench-raw/${process.pid}/` });
  const record = randomBytes(300).toString('hex'); // ~ a key record's JSON
  const replica = randomBytes(250).toString('hex'); // ~ a replica's wrapped material + metadata
  try {
    for (let i = 0; i < 20; i++) await store.put(`warm/${i}`, record);
    const put = percentiles(await timeEach(n, (i) => store.put(`put/${i}`, record)));
    const get = percentiles(await timeEach(n, (i) => store.get(`put/${i}`)));
    const txn = percentiles(
      await timeEach(n, async (i) => {
        const res = await store.txn(
          [{ key: `name/${i}`, modRevision: 0 }],
          [
            { type: 'put', key: `name/${i}`, value: String(i) },
            { type: 'put', key: `key/${i}`, value: record },
            ...[1, 2, 3].map((r) => ({ type: 'put' as const, key: `replica/${i}/n${r}`, value: replica })),
          ],
        );
        if (!res.ok) throw new Error('the baseline txn did not apply');
      }),
    );
    return { put, get, txn };
  } finally {
    await store.close();
  }
}

const ms = (p: Percentiles) => `p50 ${fmt(p.p50ms, 2)} ms, p99 ${fmt(p.p99ms, 2)} ms`;
const times = (a: number, b: number) => `${fmt(a / b, 1)}x`;

export async function clusterBench(opts: ClusterBenchOptions): Promise<void> {
  const creates = opts.creates ?? 200;
  const rounds = opts.stateRounds ?? 50;
  console.log(`\ncluster: 3 etcd members (Raft on loopback) and 3 nodes (${specLine()})`);
  if (!haveEtcd()) {
    console.log('cluster: skipped, etcd is not installed (apt-get install etcd-server, or KEYMESH_ETCD_BIN)');
    return;
  }
  let etcd: EtcdCluster | undefined;
  const nodes: TestNode[] = [];
  try {
    etcd = await startEtcdCluster(3);
    const dir = await makeClusterDir(SPECS);
    for (const s of SPECS) nodes.push(await startClusterNode(s, etcd.endpoints, dir));
    const n1 = nodes[0]!;
    const admin = n1.adminToken;

    const raw = await etcdBaseline(etcd.endpoints, creates);
    console.log(`raw etcd from this process, ${creates} sequential each (EtcdStore):`);
    console.log(`  get                     ${ms(raw.get)}`);
    console.log(`  put                     ${ms(raw.put)}`);
    console.log(`  txn (compare + 5 puts)  ${ms(raw.txn)}`);

    // Preconditions, checked once: where replicas land and which node signs.
    const everywhere = await createKey(n1, admin, 'bench-everywhere');
    const usOnly = await createKey(n1, admin, 'bench-us-only', { regions: ['us'] });
    const fenced = await createKey(n1, admin, 'bench-fenced');
    for (const k of [everywhere, usOnly, fenced])
      if (k.status !== 201) throw new Error(`creating a key failed: ${JSON.stringify(k.body)}`);
    const local = await signOn(n1, admin, everywhere.body);
    const forwarded = await signOn(n1, admin, usOnly.body);
    console.log(
      `  (replicas: default placement ${JSON.stringify(everywhere.body.replicas)}, regions ["us"] ` +
        `${JSON.stringify(usOnly.body.replicas)}; a sign on n1 was signed by ${local.node} and ${forwarded.node})`,
    );

    const rows: Row[] = [];
    let seq = 0;
    const createBody = () => JSON.stringify({ name: `bench-create-${seq++}`, algorithm: 'secp256k1' });
    const createSeq = await runLoad({
      url: n1.url,
      method: 'POST',
      path: '/v1/keys',
      body: createBody,
      token: admin,
      concurrency: 1,
      seconds: Infinity,
      requests: creates,
      expectStatus: 201,
    });
    rows.push({
      label: `create, 3 replicas, ${creates} sequential`,
      result: createSeq,
      vs: `p50 ${times(createSeq.p50ms, raw.txn.p50ms)} etcd txn`,
    });
    const createConc = await runLoad({
      url: n1.url,
      method: 'POST',
      path: '/v1/keys',
      body: createBody,
      token: admin,
      concurrency: 8,
      seconds: opts.seconds,
      expectStatus: 201,
    });
    rows.push({
      label: 'create, 3 replicas, concurrency 8',
      result: createConc,
      vs: `${times(createConc.rps, createSeq.rps)} sequential req/s`,
    });

    const digest = () => JSON.stringify({ digest: '0x' + randomBytes(32).toString('hex') });
    const signLoad = (id: string, concurrency: number) =>
      runLoad({
        url: n1.url,
        method: 'POST',
        path: `/v1/keys/${id}/sign`,
        body: digest,
        token: admin,
        concurrency,
        seconds: opts.seconds,
      });
    for (const concurrency of [1, 8]) {
      const l = await signLoad(everywhere.body.id, concurrency);
      const f = await signLoad(usOnly.body.id, concurrency);
      rows.push({ label: `sign on a holder (n1), conc ${concurrency}`, result: l, vs: '' });
      rows.push({
        label: `sign forwarded n1 -> n3, conc ${concurrency}`,
        result: f,
        vs:
          concurrency === 1
            ? `p50 ${times(f.p50ms, l.p50ms)}, p99 ${times(f.p99ms, l.p99ms)} local`
            : `${times(f.rps, l.rps)} local req/s`,
      });
    }

    // A deactivation returns only once every holder has applied it; reactivation does not wait.
    const setState = async (state: string) => {
      const r = await n1.api('POST', `/v1/keys/${fenced.body.id}/state`, { state }, admin);
      if (r.status !== 200) throw new Error(`state ${state}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    const off: number[] = [];
    const on: number[] = [];
    for (let i = 0; i < rounds; i++) {
      off.push(await timed(() => setState('deactivated')));
      on.push(await timed(() => setState('active')));
    }
    const offP = percentiles(off);
    const onP = percentiles(on);
    rows.push({
      label: `deactivate, in force on 3 holders (${rounds})`,
      result: offP,
      vs: `p50 ${times(offP.p50ms, raw.txn.p50ms)} etcd txn`,
    });
    rows.push({
      label: `reactivate (${rounds})`,
      result: onP,
      vs: `p50 ${times(onP.p50ms, raw.txn.p50ms)} etcd txn`,
    });
    // Checked once: right after the call returns, no node signs with the key any more.
    await setState('deactivated');
    const refused = await Promise.all(
      nodes.map(async (n) => [n.nodeId, (await signOn(n, admin, fenced.body)).status]),
    );
    const verdict = refused.every(([, status]) => status === 409)
      ? `signing refused (409) on ${refused.map(([id]) => id).join(', ')} right after the call returned`
      : `NOT in force everywhere: ${refused.map(([id, status]) => `${id} ${status}`).join(', ')}`;

    console.log(
      '\ncluster (closed loop on loopback; the 3 nodes, 3 etcd members and the load share the cores)',
    );
    console.log(['figure'.padEnd(38), '  p50 ms', '  p99 ms', '   req/s', 'errors', 'vs raw'].join('  '));
    for (const r of rows)
      console.log(
        [
          r.label.padEnd(38),
          fmt(r.result.p50ms, 2).padStart(8),
          fmt(r.result.p99ms, 2).padStart(8),
          (r.result.rps === undefined ? '' : fmt(r.result.rps)).padStart(8),
          (r.result.errors === undefined ? '' : String(r.result.errors)).padStart(6),
          r.vs,
        ].join('  '),
      );
    console.log(`after a deactivation: ${verdict}`);
  } finally {
    for (const n of nodes) await n.kill9();
    await etcd?.stop();
  }
}

const specLine = () => SPECS.map((s) => `${s.id} ${s.region}/${s.level}`).join(', ');

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  clusterBench({ seconds: Number(process.env.KEYMESH_BENCH_SECONDS ?? 4) }).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
