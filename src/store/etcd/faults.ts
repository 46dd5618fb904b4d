// How the etcd store runs one RPC: per-attempt deadlines inside an overall budget, which failures
// are retried (reads on any transient error, writes only when the request provably never reached
// etcd), and how etcd3's errors become KeymeshErrors (UNAVAILABLE with details.outcome 'unknown'
// for a write etcd may have applied). Why: the header of src/store/etcd.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { ClientClosedError, EtcdLeaseInvalidError } from 'etcd3';
import { KeymeshError } from '../../errors.js';
import { closedError } from '../limits.js';

type Failure = 'closed' | 'retry' | 'ambiguous' | 'final';

// Errors after which the request cannot have been applied: it never left this process, or etcd
// refused it before proposing it to Raft.
const NOT_SENT = [
  /No connection established/i,
  /ECONNREFUSED/,
  /failed to connect/i,
  /etcdserver: no leader/,
  /raft proposal dropped/,
  /etcdserver: too many requests/,
  /etcdserver: not capable/,
];
// Refusals of the request itself (limits.ts checks first, so these mean etcd is configured tighter).
const TOO_LARGE = [/request is too large/, /RESOURCE_EXHAUSTED|larger than max/i];
const REFUSED_AS_INVALID = [
  ...TOO_LARGE,
  /too many operations in txn/,
  /duplicate key given in txn/,
  /key is not provided/,
];

function classify(e: unknown): Failure {
  if (e instanceof ClientClosedError) return 'closed';
  const msg = e instanceof Error ? e.message : String(e);
  if (typeof e === 'object' && e !== null && (e as { isBrokenCircuitError?: boolean }).isBrokenCircuitError)
    return 'retry';
  if (REFUSED_AS_INVALID.some((re) => re.test(msg)) || e instanceof EtcdLeaseInvalidError) return 'final';
  if (/database space exceeded/.test(msg)) return 'final';
  if (NOT_SENT.some((re) => re.test(msg))) return 'retry';
  // Everything else may have reached etcd: a lost reply, "leader changed", "request timed out",
  // a deadline, and failures we do not recognise (claiming "not applied" could be a lie).
  return 'ambiguous';
}

function toKeymesh(e: unknown, kind: 'read' | 'write', f: Failure): KeymeshError {
  if (e instanceof KeymeshError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  if (f === 'closed') return closedError('etcd');
  if (e instanceof EtcdLeaseInvalidError || /requested lease not found/.test(msg))
    return new KeymeshError('CONFLICT', 'The lease has expired or was revoked.', {
      cause: e,
      details: { reason: 'lease_expired' },
    });
  if (TOO_LARGE.some((re) => re.test(msg)))
    return new KeymeshError(
      'INVALID_REQUEST',
      'The request or its answer is larger than etcd accepts (check etcd --max-request-bytes).',
      { cause: e },
    );
  if (REFUSED_AS_INVALID.some((re) => re.test(msg)))
    return new KeymeshError('INVALID_REQUEST', 'etcd refused the request as invalid.', {
      cause: e,
      details: { etcd: msg.slice(0, 200) },
    });
  if (/database space exceeded/.test(msg))
    return new KeymeshError('UNAVAILABLE', 'The etcd cluster is out of space (NOSPACE alarm).', { cause: e });
  const details: Record<string, unknown> = { etcd: msg.slice(0, 200) };
  if (kind === 'write' && f === 'ambiguous') details.outcome = 'unknown';
  return new KeymeshError(
    'UNAVAILABLE',
    kind === 'write' && f === 'ambiguous'
      ? 'The etcd cluster did not confirm the write; it may or may not have been applied.'
      : 'The etcd cluster is unavailable.',
    { cause: e, details },
  );
}

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
      const f = classify(e);
      const retry = f === 'retry' || (f === 'ambiguous' && kind === 'read');
      if (!retry || Date.now() + backoff >= until) throw toKeymesh(e, kind, f);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 500);
    }
  }
}
