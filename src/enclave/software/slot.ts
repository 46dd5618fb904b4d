// One worker thread of the software enclave's pool (pool.ts): the thread, its calls in flight by
// id, whether it is ready, and what its death means (every call in flight fails ENCLAVE_FAILURE,
// and the pool is told so it can replace it). An error a worker reports comes back as
// {code, message} and becomes a KeymeshError here, with an unknown code read as ENCLAVE_FAILURE.
import { type MessagePort, Worker } from 'node:worker_threads';
import { ErrorCodes, KeymeshError, type ErrorCode } from '../../errors.js';
import type { FromWorker, ToWorker } from './protocol.js';

const WORKER_URL = new URL('./worker.js', import.meta.url);

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class Slot {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  ready = false;
  dead = false;
  readonly started: Promise<void>;

  constructor(onExit: (slot: Slot) => void) {
    this.worker = new Worker(WORKER_URL);
    let settle!: { resolve: () => void; reject: (e: unknown) => void };
    this.started = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    this.started.catch(() => undefined); // observed by whoever awaits it
    this.worker.on('message', (msg: FromWorker) => {
      if (msg.t === 'ready') {
        this.ready = true;
        settle.resolve();
      } else if (msg.t === 'init-failed') {
        settle.reject(toError(msg.code, msg.message));
      } else if (msg.t === 'result') {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.ok) p.resolve(msg.value);
        else p.reject(toError(msg.code, msg.message));
      }
    });
    // An 'error' event is an uncaught exception inside the worker; 'exit' always follows it.
    this.worker.on('error', () => undefined);
    this.worker.on('exit', () => {
      this.dead = true;
      this.ready = false;
      settle.reject(new KeymeshError('ENCLAVE_FAILURE', 'an enclave worker stopped while starting'));
      const stopped = new KeymeshError(
        'ENCLAVE_FAILURE',
        'an enclave worker stopped; the request was not completed',
      );
      for (const p of this.pending.values()) p.reject(stopped);
      this.pending.clear();
      onExit(this);
    });
  }

  post(msg: ToWorker, transfer: (ArrayBuffer | MessagePort)[] = []): void {
    this.worker.postMessage(msg, transfer);
  }
}

function toError(code: string, message: string): KeymeshError {
  const known = (ErrorCodes as readonly string[]).includes(code) ? (code as ErrorCode) : 'ENCLAVE_FAILURE';
  return new KeymeshError(known, typeof message === 'string' ? message : 'the enclave failed');
}
