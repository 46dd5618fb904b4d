// How the etcd store runs one RPC: per-attempt deadlines inside an overall budget, which failures
// are retried (reads on any transient error, writes only when the request provably never reached
// etcd). What a failure means and the KeymeshError it becomes is etcd/failures.ts. Why: the
// header of src/store/etcd.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { recognise } from './failures.js';
import { closedError } from '../limits.js';

/** The deadlines of `callEtcd` and how it learns that the store was closed. */
export interface CallLimits {
  callTimeoutMs: number;
  opTimeoutMs: number;
  isClosed: () => boolean;
}

/** Runs one etcd RPC with deadlines, retries and error mapping (see the header). */
export async function callEtcd<T>(
  limits: CallLimits,
  kind: 'read' | 'write',
  fn: (o: { deadline: number }) => Promise<T>,
): Promise<T> {
  const until = Date.now() + limits.opTimeoutMs;
  let backoff = 25;
  for (;;) {
    if (limits.isClosed()) throw closedError('etcd');
    try {
      return await fn({ deadline: Math.min(Date.now() + limits.callTimeoutMs, until) });
    } catch (e) {
      if (limits.isClosed()) throw closedError('etcd');
      const { failure: f, error } = recognise(e, kind);
      const retry = f === 'retry' || (f === 'ambiguous' && kind === 'read');
      if (!retry || Date.now() + backoff >= until) throw error;
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 500);
    }
  }
}
