// A small closed-loop HTTP load generator for the benchmark: `concurrency` keep-alive connections
// each send the next request as soon as the last answers, for a fixed duration (or number of
// requests). Reports throughput and latency percentiles. Runs in the benchmark's process (the node
// is another).
import { Agent, request } from 'node:http';
import { percentiles } from './stats.js';

export interface LoadResult {
  concurrency: number;
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50ms: number;
  p99ms: number;
}

export interface LoadSpec {
  url: string; // http://host:port
  method: string;
  path: string | (() => string);
  body?: () => string;
  token: string;
  concurrency: number;
  seconds: number;
  /** Stop after this many timed requests, even if `seconds` have not passed. */
  requests?: number;
  expectStatus?: number;
}

function once(agent: Agent, spec: LoadSpec, base: URL): Promise<number> {
  return new Promise((resolve) => {
    const body = spec.body?.();
    const req = request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: spec.method,
        path: typeof spec.path === 'function' ? spec.path() : spec.path,
        headers: {
          authorization: `Bearer ${spec.token}`,
          ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const base = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const want = spec.expectStatus ?? 200;
  // Warm-up: fill the connection pool and let the server's JIT settle.
  await Promise.all(Array.from({ length: spec.concurrency }, () => once(agent, spec, base)));
  const start = performance.now();
  const end = start + spec.seconds * 1000;
  const limit = spec.requests ?? Infinity;
  let started = 0;
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < end && started++ < limit) {
        const t0 = performance.now();
        const status = await once(agent, spec, base);
        latencies.push(performance.now() - t0);
        if (status !== want) errors++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    concurrency: spec.concurrency,
    requests: latencies.length,
    errors,
    seconds,
    rps: latencies.length / seconds,
    ...percentiles(latencies),
  };
}
