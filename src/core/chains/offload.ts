// The chain-work pool: worker threads of their own (not the enclave's: they take hostile input
// and hold no keys) that decode and hash EIP-712 typed data and PSBTs off the HTTP thread. The
// largest allowed inputs cost seconds of CPU (a 1,000-input P2PKH PSBT with whole previous
// transactions) or, in pure-JS keccak, tens of milliseconds per megabyte; on the HTTP thread that
// stalled every other client. Here the HTTP thread only passes text in and digests out.
//
// Workers start on first use and are unref'd (they never keep the process alive). Bounded: at
// most MAX_QUEUED tasks wait (past that, UNAVAILABLE: retry later), a task that runs past
// TASK_DEADLINE_MS has its worker terminated (UNAVAILABLE), and each worker's heap is capped. A
// worker that dies fails its tasks with UNAVAILABLE and is replaced on the next task.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ErrorCodes, KeymeshError, type ErrorCode } from '../../errors.js';
import type { ChainResults, ChainTask, FromChainWorker, ToChainWorker } from './offload-protocol.js';

const WORKER_URL = new URL('./offload-worker.js', import.meta.url);
export const MAX_CHAIN_WORKERS = 4;
/** Tasks waiting for a worker, beyond those running. */
export const MAX_QUEUED = 64;
const TASK_DEADLINE_MS = 60_000;
const HEAP_MB = 512;

interface Job {
  task: ToChainWorker;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

class Lane {
  readonly worker: Worker;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  dead = false;

  constructor(
    private readonly onIdle: (lane: Lane) => void,
    private readonly onExit: (lane: Lane) => void,
  ) {
    this.worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    this.worker.on('message', (msg: FromChainWorker) => {
      const job = this.job;
      if (!job || msg.id !== job.task.id) return;
      this.finish();
      if (msg.ok) job.resolve(msg.value);
      else job.reject(toError(msg.code, msg.message));
      this.onIdle(this);
    });
    this.worker.on('error', () => undefined); // 'exit' follows
    this.worker.on('exit', () => {
      this.dead = true;
      const job = this.job;
      this.finish();
      job?.reject(new KeymeshError('UNAVAILABLE', 'the request could not be completed; retry it'));
      this.onExit(this);
    });
    // After the listeners: adding a 'message' listener refs the worker's port again, so an unref
    // made before it left every process that ever used the pool unable to exit by itself.
    this.worker.unref();
  }

  start(job: Job): void {
    this.job = job;
    this.timer = setTimeout(() => void this.worker.terminate(), TASK_DEADLINE_MS);
    this.timer.unref();
    try {
      this.worker.postMessage(job.task);
    } catch (e) {
      this.finish();
      job.reject(new KeymeshError('INTERNAL', 'the request could not be processed', { cause: e }));
      this.onIdle(this);
    }
  }

  private finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.job = undefined;
  }
}

function toError(code: string, message: string): KeymeshError {
  const known = (ErrorCodes as readonly string[]).includes(code) ? (code as ErrorCode) : 'INTERNAL';
  return new KeymeshError(known, message);
}

class ChainPool {
  readonly #lanes: Lane[] = [];
  readonly #queue: Job[] = [];
  readonly #size = Math.max(1, Math.min(availableParallelism(), MAX_CHAIN_WORKERS));
  #nextId = 1;

  run<K extends ChainTask['op']>(task: Extract<ChainTask, { op: K }>): Promise<ChainResults[K]> {
    return new Promise((resolve, reject) => {
      const job: Job = {
        task: { id: this.#nextId++, ...task },
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      const lane = this.#idleLane();
      if (lane) {
        lane.start(job);
        return;
      }
      if (this.#queue.length >= MAX_QUEUED) {
        reject(new KeymeshError('UNAVAILABLE', 'the node is busy with large signing requests; retry later'));
        return;
      }
      this.#queue.push(job);
    });
  }

  #idleLane(): Lane | undefined {
    const idle = this.#lanes.find((l) => !l.dead && !l.job);
    if (idle) return idle;
    if (this.#lanes.length >= this.#size) return undefined;
    const lane = new Lane(
      (l) => this.#next(l),
      (l) => this.#remove(l),
    );
    this.#lanes.push(lane);
    return lane;
  }

  #next(lane: Lane): void {
    const job = this.#queue.shift();
    if (job) lane.start(job);
  }

  #remove(lane: Lane): void {
    const i = this.#lanes.indexOf(lane);
    if (i >= 0) this.#lanes.splice(i, 1);
    // Queued work goes to a replacement.
    const job = this.#queue.shift();
    if (job) this.#idleLane()!.start(job);
  }
}

let pool: ChainPool | undefined;

/** Run one decoding/hashing task on the chain-work pool. */
export function runChainTask<K extends ChainTask['op']>(
  task: Extract<ChainTask, { op: K }>,
): Promise<ChainResults[K]> {
  pool ??= new ChainPool();
  return pool.run(task);
}
