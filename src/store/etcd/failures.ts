// What a failed etcd call means, decided once, at the boundary with etcd: whether the call loop in
// etcd/faults.ts may retry it, and the typed KeymeshError it becomes. Nothing past this module looks at an
// etcd error's text.
//
// Why a table of descriptions: etcd identifies most of its refusals only by the description it
// sends with the gRPC status (etcd's api/v3rpc/rpctypes, e.g. "etcdserver: no leader" and
// "etcdserver: leader changed" are both gRPC UNAVAILABLE, yet one was never applied and the other
// may have been); etcd's own Go client tells them apart by the same strings, and grpc-js reports a
// connection never made the same way. Where etcd3 already gives a class (closed client, invalid
// lease) or a flag (open circuit), that decides instead.
import { ClientClosedError, EtcdLeaseInvalidError } from 'etcd3';
import { KeymeshError } from '../../errors.js';
import { closedError } from '../limits.js';

/** closed: the client is closed; retry: never applied; ambiguous: may have been; final: refused. */
export type Failure = 'closed' | 'retry' | 'ambiguous' | 'final';

interface Rule {
  /** etcd's (or grpc-js's) description of the failure. */
  readonly description: RegExp;
  readonly failure: Failure;
  /** The typed error, when it is not the default UNAVAILABLE. */
  readonly error?: (e: unknown, msg: string) => KeymeshError;
}

const tooLarge = (e: unknown) =>
  new KeymeshError(
    'INVALID_REQUEST',
    'The request or its answer is larger than etcd accepts (check etcd --max-request-bytes).',
    { cause: e },
  );
const refusedAsInvalid = (e: unknown, msg: string) =>
  new KeymeshError('INVALID_REQUEST', 'etcd refused the request as invalid.', {
    cause: e,
    details: { etcd: msg.slice(0, 200) },
  });

const leaseExpired = (e: unknown) =>
  new KeymeshError('CONFLICT', 'The lease has expired or was revoked.', {
    cause: e,
    details: { reason: 'lease_expired' },
  });

/** First match wins. A failure no rule names may have reached etcd: ambiguous. */
const RULES: readonly Rule[] = Object.freeze([
  // Refusals of the request itself (limits.ts checks first, so these mean etcd is configured tighter).
  { description: /request is too large/, failure: 'final', error: tooLarge },
  { description: /RESOURCE_EXHAUSTED|larger than max/i, failure: 'final', error: tooLarge },
  { description: /too many operations in txn/, failure: 'final', error: refusedAsInvalid },
  { description: /duplicate key given in txn/, failure: 'final', error: refusedAsInvalid },
  { description: /key is not provided/, failure: 'final', error: refusedAsInvalid },
  { description: /requested lease not found/, failure: 'final', error: leaseExpired },
  {
    description: /database space exceeded/,
    failure: 'final',
    error: (e) =>
      new KeymeshError('UNAVAILABLE', 'The etcd cluster is out of space (NOSPACE alarm).', { cause: e }),
  },
  // The request never left this process, or etcd refused it before proposing it to Raft.
  { description: /No connection established/i, failure: 'retry' },
  { description: /ECONNREFUSED/, failure: 'retry' },
  { description: /failed to connect/i, failure: 'retry' },
  { description: /etcdserver: no leader/, failure: 'retry' },
  { description: /raft proposal dropped/, failure: 'retry' },
  { description: /etcdserver: too many requests/, failure: 'retry' },
  { description: /etcdserver: not capable/, failure: 'retry' },
]);

/**
 * How the call loop treats `e`, and the error it throws if it gives up. Everything not recognised
 * may have reached etcd (a lost reply, "leader changed", "request timed out", a deadline): claiming
 * "not applied" could be a lie, so a write then fails with details.outcome 'unknown'.
 */
export function recognise(e: unknown, kind: 'read' | 'write'): { failure: Failure; error: KeymeshError } {
  if (e instanceof ClientClosedError) return { failure: 'closed', error: closedError('etcd') };
  // Our own refusal from inside the call, not etcd's: final, as thrown.
  if (e instanceof KeymeshError) return { failure: 'final', error: e };
  // etcd3 casts etcd's "requested lease not found" to this class (the rule below is for any path
  // that does not).
  if (e instanceof EtcdLeaseInvalidError) return { failure: 'final', error: leaseExpired(e) };
  const msg = e instanceof Error ? e.message : String(e);
  const breakerOpen =
    typeof e === 'object' &&
    e !== null &&
    (e as { isBrokenCircuitError?: boolean }).isBrokenCircuitError === true;
  const rule = breakerOpen ? undefined : RULES.find((r) => r.description.test(msg));
  const failure: Failure = breakerOpen ? 'retry' : (rule?.failure ?? 'ambiguous');
  return { failure, error: rule?.error?.(e, msg) ?? unavailable(e, msg, kind, failure) };
}

function unavailable(e: unknown, msg: string, kind: 'read' | 'write', failure: Failure): KeymeshError {
  const details: Record<string, unknown> = { etcd: msg.slice(0, 200) };
  const unknownOutcome = kind === 'write' && failure === 'ambiguous';
  if (unknownOutcome) details.outcome = 'unknown';
  return new KeymeshError(
    'UNAVAILABLE',
    unknownOutcome
      ? 'The etcd cluster did not confirm the write; it may or may not have been applied.'
      : 'The etcd cluster is unavailable.',
    { cause: e, details },
  );
}
