// Raw signing rates of the primitives the enclave uses, so a benchmark can report HTTP throughput
// as a fraction of what the hardware could do. Three measures:
//
// - signRate: one thread, in process, the exact primitive each signer calls (`mode: 'sign'`), or
//   the signer's whole sign-and-verify (`mode: 'sign+verify'`, the fault-checked path every
//   enclave signature takes, cached signer, no unsealing).
// - parallelRate: the same loop on N worker threads at once (the "raw N-core rate").
// - poolRate: signatures per second through the real software-enclave pool (postMessage, unseal
//   or cache, fault check), closed loop with a given concurrency.
//
// Run directly (`node dist/bench/primitives.js [ops]`) to print all of them. Measured on this host
// (2 vCPU AMD EPYC, Node 20.20.2, OpenSSL 3.0.19) while otherwise idle; the host is shared, and
// runs alongside other work read up to 2x lower. Per second:
//
//                      1 thread          2 threads          pool, 2 workers, 32 in flight
//                      sign   sign+ver   sign    sign+ver   cache on   cache off
//   secp256k1 ECDSA    22,600   9,300    40,100  17,000     13,200      8,100    native libsecp256k1
//   secp256k1 BIP340    3,750   2,100     8,500   4,060      3,540      2,670    tiny-secp256k1 (WASM)
//   secp256k1 BIP86     4,630   2,220     7,720   3,120      3,330      2,230    tiny-secp256k1 (WASM)
//   P-256, digest       1,340     285     2,680     516        490        466    noble; verify noble
//   P-256, message          —   1,090         —       —      2,000          —    noble; verify OpenSSL
//   Ed25519            22,300   6,180    22,900  10,600      9,290      1,940    OpenSSL
//   Argon2id unseal (m = 64 MiB, t = 3, p = 1): 1.2 s.
import { getRandomValues } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { Algorithm, SignRequest } from '../src/enclave/enclave.js';
import { ed25519PrivateKeyObject, ed25519Sign } from '../src/enclave/crypto/ed25519.js';
import { p256SignDigest } from '../src/enclave/crypto/p256.js';
import {
  ecdsaSignDigest,
  schnorrSignDigest,
  taprootTweakSecret,
  secp256k1PublicKey,
} from '../src/enclave/crypto/secp256k1.js';
import { generateSecret, importSigner } from '../src/enclave/crypto/signers.js';
import { createSoftwareEnclave } from '../src/enclave/software/pool.js';
import { DEFAULT_ARGON2, deriveSealingKey } from '../src/enclave/sealing-key.js';

export const PRIMITIVES = [
  'secp256k1-ecdsa',
  'secp256k1-schnorr',
  'secp256k1-taproot',
  'p256-ecdsa',
  'ed25519',
] as const;
export type Primitive = (typeof PRIMITIVES)[number];
export type Mode = 'sign' | 'sign+verify';

export interface RateOptions {
  /** Operations to time (after a warm-up of min(200, ops)). Default 3000. */
  ops?: number;
  mode?: Mode;
  /** ECDSA only: sign a 32-byte digest (default) or a message (SHA-256 first; P-256 then verifies with OpenSSL). */
  input?: 'digest' | 'message';
}

export interface Rate {
  primitive: Primitive;
  mode: Mode;
  input: 'digest' | 'message';
  ops: number;
  seconds: number;
  opsPerSec: number;
}

const ALGORITHM: Record<Primitive, Algorithm> = {
  'secp256k1-ecdsa': 'secp256k1',
  'secp256k1-schnorr': 'secp256k1',
  'secp256k1-taproot': 'secp256k1',
  'p256-ecdsa': 'p256',
  ed25519: 'ed25519',
};

function request(p: Primitive, input: 'digest' | 'message', i: number, inputs: Uint8Array[]): SignRequest {
  const data = inputs[i % inputs.length]!;
  if (p === 'ed25519') return { message: data };
  if (p === 'secp256k1-schnorr') return { digest: data, scheme: 'schnorr' };
  if (p === 'secp256k1-taproot') return { digest: data, scheme: 'schnorr-taproot' };
  return input === 'message' ? { message: data } : { digest: data };
}

/** A closure doing one operation of `primitive` in `mode`, over a fixed random key. */
function makeOp(primitive: Primitive, mode: Mode, input: 'digest' | 'message'): (i: number) => void {
  const algorithm = ALGORITHM[primitive];
  const secret = generateSecret(algorithm);
  const inputs = Array.from({ length: 256 }, () => getRandomValues(new Uint8Array(32)));
  if (mode === 'sign+verify') {
    const signer = importSigner(algorithm, secret);
    return (i) => void signer.sign(request(primitive, input, i, inputs));
  }
  const aux = getRandomValues(new Uint8Array(32));
  switch (primitive) {
    case 'secp256k1-ecdsa':
      return (i) => void ecdsaSignDigest(inputs[i % inputs.length]!, secret);
    case 'secp256k1-schnorr':
      return (i) => void schnorrSignDigest(inputs[i % inputs.length]!, secret, aux);
    case 'secp256k1-taproot': {
      const tweaked = taprootTweakSecret(secret, secp256k1PublicKey(secret));
      return (i) => void schnorrSignDigest(inputs[i % inputs.length]!, tweaked, aux);
    }
    case 'p256-ecdsa':
      return (i) => void p256SignDigest(inputs[i % inputs.length]!, secret);
    case 'ed25519': {
      const key = ed25519PrivateKeyObject(secret);
      return (i) => void ed25519Sign(inputs[i % inputs.length]!, key);
    }
  }
}

export async function signRate(primitive: Primitive, opts: RateOptions = {}): Promise<Rate> {
  const ops = opts.ops ?? 3000;
  const mode = opts.mode ?? 'sign';
  const input = opts.input ?? 'digest';
  const op = makeOp(primitive, mode, input);
  for (let i = 0; i < Math.min(200, ops); i++) op(i);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) op(i);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { primitive, mode, input, ops, seconds, opsPerSec: ops / seconds };
}

/** Every primitive in both modes (and P-256 in message mode, whose fault check is faster). */
export async function signRates(opts: { ops?: number } = {}): Promise<Rate[]> {
  const out: Rate[] = [];
  for (const p of PRIMITIVES)
    for (const mode of ['sign', 'sign+verify'] as Mode[]) out.push(await signRate(p, { ...opts, mode }));
  out.push(await signRate('p256-ecdsa', { ...opts, mode: 'sign+verify', input: 'message' }));
  return out;
}

// ---- N threads -------------------------------------------------------------------------------

interface ParallelJob {
  kind: 'keymesh-bench-primitives';
  primitive: Primitive;
  mode: Mode;
  input: 'digest' | 'message';
  seconds: number;
}

export interface ParallelRate {
  primitive: Primitive;
  mode: Mode;
  threads: number;
  seconds: number;
  opsPerSec: number;
  perThread: number[];
}

/**
 * The raw rate of `threads` threads each running the primitive flat out for `seconds` (after a
 * warm-up), started together. With threads = cores this is the ceiling any server can reach.
 */
export async function parallelRate(
  primitive: Primitive,
  opts: { threads?: number; seconds?: number; mode?: Mode; input?: 'digest' | 'message' } = {},
): Promise<ParallelRate> {
  const threads = opts.threads ?? availableParallelism();
  const job: ParallelJob = {
    kind: 'keymesh-bench-primitives',
    primitive,
    mode: opts.mode ?? 'sign',
    input: opts.input ?? 'digest',
    seconds: opts.seconds ?? 3,
  };
  const workers = Array.from(
    { length: threads },
    () => new Worker(new URL(import.meta.url), { workerData: job }),
  );
  try {
    // Each worker warms up and reports ready; all start timing on one 'go'.
    await Promise.all(
      workers.map(
        (w) => new Promise<void>((res, rej) => (w.once('message', () => res()), w.once('error', rej))),
      ),
    );
    const results = workers.map(
      (w) =>
        new Promise<number>(
          (res, rej) => (
            w.once('message', (m: { opsPerSec: number }) => res(m.opsPerSec)),
            w.once('error', rej)
          ),
        ),
    );
    for (const w of workers) w.postMessage('go');
    const perThread = await Promise.all(results);
    return {
      primitive,
      mode: job.mode,
      threads,
      seconds: job.seconds,
      opsPerSec: perThread.reduce((a, b) => a + b, 0),
      perThread,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

function runParallelWorker(job: ParallelJob): void {
  const op = makeOp(job.primitive, job.mode, job.input);
  for (let i = 0; i < 200; i++) op(i);
  parentPort!.once('message', () => {
    const end = performance.now() + job.seconds * 1000;
    const t0 = performance.now();
    let n = 0;
    while (performance.now() < end) {
      for (let k = 0; k < 16; k++) op(n++);
    }
    parentPort!.postMessage({ opsPerSec: n / ((performance.now() - t0) / 1000) });
  });
  parentPort!.postMessage('ready');
}

// ---- through the enclave pool ----------------------------------------------------------------

export interface PoolRate {
  primitive: Primitive;
  threads: number;
  concurrency: number;
  cache: boolean;
  seconds: number;
  opsPerSec: number;
}

/** Signatures per second through createSoftwareEnclave (dev key in a temporary directory). */
export async function poolRate(
  primitive: Primitive,
  opts: {
    threads?: number;
    concurrency?: number;
    seconds?: number;
    cache?: boolean;
    input?: 'digest' | 'message';
  } = {},
): Promise<PoolRate> {
  const threads = opts.threads ?? availableParallelism();
  const concurrency = opts.concurrency ?? 16 * threads;
  const seconds = opts.seconds ?? 3;
  const cache = opts.cache ?? true;
  const dir = mkdtempSync(join(tmpdir(), 'keymesh-bench-'));
  const enclave = await createSoftwareEnclave({
    dataDir: dir,
    dev: true,
    threads,
    cache: { max: cache ? 1024 : 0 },
  });
  try {
    const algorithm = ALGORITHM[primitive];
    const k = await enclave.generate({ keyId: 'bench', version: 1, algorithm });
    const ref = { keyId: 'bench', version: 1, algorithm, sealed: k.sealed };
    const inputs = Array.from({ length: 256 }, () => getRandomValues(new Uint8Array(32)));
    const input = opts.input ?? 'digest';
    let i = 0;
    const loop = async (until: number) => {
      let n = 0;
      while (performance.now() < until) {
        await enclave.sign(ref, request(primitive, input, i++, inputs));
        n++;
      }
      return n;
    };
    await Promise.all(Array.from({ length: concurrency }, () => loop(performance.now() + 300)));
    const t0 = performance.now();
    const counts = await Promise.all(Array.from({ length: concurrency }, () => loop(t0 + seconds * 1000)));
    const elapsed = (performance.now() - t0) / 1000;
    return {
      primitive,
      threads,
      concurrency,
      cache,
      seconds: elapsed,
      opsPerSec: counts.reduce((a, b) => a + b, 0) / elapsed,
    };
  } finally {
    await enclave.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Milliseconds for one Argon2id derivation at the production cost (the unseal time at start). */
export function argon2Millis(): number {
  const t0 = performance.now();
  deriveSealingKey(new TextEncoder().encode('benchmark passphrase'), new Uint8Array(16), DEFAULT_ARGON2);
  return performance.now() - t0;
}

// ---- entry points ----------------------------------------------------------------------------

async function main(): Promise<void> {
  const ops = Number(process.argv[2] ?? 3000);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(8);
  console.log(`single thread, ${ops} ops`);
  for (const r of await signRates({ ops }))
    console.log(
      `  ${r.primitive.padEnd(18)} ${r.mode.padEnd(12)} ${r.input.padEnd(8)} ${fmt(r.opsPerSec)} /s`,
    );
  const threads = availableParallelism();
  console.log(`${threads} threads, raw primitive, sign+verify (the enclave's work per signature)`);
  for (const p of PRIMITIVES) {
    const r = await parallelRate(p, { threads, mode: 'sign+verify', seconds: 2 });
    console.log(`  ${p.padEnd(18)} ${fmt(r.opsPerSec)} /s`);
  }
  console.log(`enclave pool, ${threads} workers, concurrency ${16 * threads}`);
  for (const p of PRIMITIVES) {
    for (const cache of [true, false]) {
      const r = await poolRate(p, { threads, seconds: 2, cache });
      console.log(`  ${p.padEnd(18)} cache ${cache ? 'on ' : 'off'} ${fmt(r.opsPerSec)} /s`);
    }
  }
  const m = await poolRate('p256-ecdsa', { threads, seconds: 2, input: 'message' });
  console.log(`  ${'p256-ecdsa message'.padEnd(18)} cache on  ${fmt(m.opsPerSec)} /s`);
  console.log(
    `Argon2id m=${DEFAULT_ARGON2.m} KiB t=${DEFAULT_ARGON2.t} p=${DEFAULT_ARGON2.p}: ${Math.round(argon2Millis())} ms`,
  );
}

if (!isMainThread && (workerData as ParallelJob | undefined)?.kind === 'keymesh-bench-primitives') {
  runParallelWorker(workerData as ParallelJob);
} else if (isMainThread && process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
