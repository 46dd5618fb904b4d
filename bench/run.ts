// `npm run bench`: signing over HTTP (auth, durable group-committed audit, enclave worker pool,
// fault check) against the raw primitive measured in the same run on the same machine. Figures
// are reported as ratios because absolute times on shared machines mislead. No thresholds here
// fail anything; this is a report.
//
// Two ceilings are printed for each algorithm: the raw 2-core rate of the bare primitive
// (what the target is stated against), and the raw 2-core rate of sign+verify (the
// fault-checked primitive every enclave signature really costs), so the node's own overhead can
// be read apart from the fault check's.
//
// Then the cluster figures (bench/cluster.ts; alone: `node dist/bench/cluster.js`): key creation,
// forwarded signing and state changes in a 3-node cluster on a 3-member etcd, if etcd is installed.
//
// And the event-loop stalls (bench/stalls.ts): the worst delay inside the node while it serves the
// largest allowed typed data, PSBTs and Ethereum transaction, beside a normal signing request.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { startNode } from '../test/helpers/node.js';
import { chainRows } from './chains.js';
import { clusterBench } from './cluster.js';
import { runLoad, type LoadResult } from './http-load.js';
import { stallRows } from './stalls.js';
import { parallelRate, type Primitive, signRate } from './primitives.js';
import { fmt } from './stats.js';

const SECONDS = Number(process.env.KEYMESH_BENCH_SECONDS ?? 4);
const LEVELS = (process.env.KEYMESH_BENCH_CONCURRENCY ?? '1,8,32,64').split(',').map(Number);
const cores = availableParallelism();

interface Case {
  algorithm: 'secp256k1' | 'ed25519';
  primitive: Primitive;
  body: () => string;
}

const CASES: Case[] = [
  {
    algorithm: 'secp256k1',
    primitive: 'secp256k1-ecdsa',
    body: () => JSON.stringify({ digest: '0x' + randomBytes(32).toString('hex') }),
  },
  {
    algorithm: 'ed25519',
    primitive: 'ed25519',
    body: () => JSON.stringify({ message: '0x' + randomBytes(32).toString('hex') }),
  },
];

async function main(): Promise<void> {
  console.log(`keymesh bench: ${cores} cores, node ${process.version}, ${SECONDS}s per level\n`);
  const node = await startNode({ env: { KEYMESH_LOG_LEVEL: 'warn' } });
  const rows: string[] = [];
  let stalls: string[] = [];
  try {
    // The HTTP ceiling: the same server and load generator, no auth, audit or crypto.
    const ceiling = await runLoad({
      url: node.url,
      method: 'GET',
      path: '/v1/health',
      token: node.adminToken,
      concurrency: 32,
      seconds: SECONDS,
    });
    console.log(
      `http ceiling (GET /v1/health, concurrency 32): ${fmt(ceiling.rps)}/s, p50 ${fmt(ceiling.p50ms, 2)} ms\n`,
    );
    for (const c of CASES) {
      const one = await signRate(c.primitive, { ops: 3000 });
      const raw = await parallelRate(c.primitive, { threads: cores, seconds: 2 });
      const rawFc = await parallelRate(c.primitive, { threads: cores, seconds: 2, mode: 'sign+verify' });
      console.log(
        `${c.algorithm}: raw 1-thread ${fmt(one.opsPerSec)}/s, raw ${cores}-core ${fmt(raw.opsPerSec)}/s, ` +
          `raw ${cores}-core sign+verify ${fmt(rawFc.opsPerSec)}/s`,
      );
      const key = await node.api<{ id: string }>('POST', '/v1/keys', {
        name: `bench-${c.algorithm}`,
        algorithm: c.algorithm,
      });
      for (const concurrency of LEVELS) {
        const r: LoadResult = await runLoad({
          url: node.url,
          method: 'POST',
          path: `/v1/keys/${key.body.id}/sign`,
          body: c.body,
          token: node.adminToken,
          concurrency,
          seconds: SECONDS,
        });
        rows.push(
          [
            c.algorithm.padEnd(10),
            String(concurrency).padStart(4),
            fmt(r.rps).padStart(8),
            fmt(r.p50ms, 2).padStart(8),
            fmt(r.p99ms, 2).padStart(8),
            fmt(r.rps / raw.opsPerSec, 2).padStart(10),
            fmt(r.rps / rawFc.opsPerSec, 2).padStart(12),
            String(r.errors).padStart(6),
          ].join('  '),
        );
      }
      // Wallet signing (decode, audit, sign, assemble) beside the raw secp256k1 rates: bench/chains.ts.
      if (c.algorithm === 'secp256k1')
        rows.push(...(await chainRows(node, raw, rawFc, { seconds: SECONDS, concurrency: 32, fmt })));
    }
    stalls = await stallRows(node);
  } finally {
    await node.stop();
  }
  console.log('\nHTTP signing (auth + durable audit + enclave pool + fault check), closed loop on loopback');
  console.log(
    ['algorithm ', 'conc', '   req/s', 'p50 ms', '  p99 ms', 'vs raw sign', 'vs raw s+v', 'errors'].join(
      '  ',
    ),
  );
  for (const r of rows) console.log(r);
  console.log('\n(the load generator runs on the same cores as the node, so these ratios are lower bounds)');
  console.log(
    '\nEvent-loop stalls: worst delay in the node (monitorEventLoopDelay, ms) while one large request is' +
      ' served and a second client signs and asks /v1/health in a loop (times in ms; the bound is ~50 ms)',
  );
  for (const r of stalls) console.log(r);
  // Creation, forwarded signing and state changes in a 3-node cluster on etcd: bench/cluster.ts.
  await clusterBench({ seconds: SECONDS });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
