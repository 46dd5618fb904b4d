// The etcd3 client as the etcd store opens it: gRPC options, a per-attempt deadline on every unary
// call, and the fault handling that replaces etcd3's own (one attempt per call, a per-member circuit
// breaker that reopens quickly, short watch-reconnect delays). Why each is needed: src/store/etcd.ts.
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';

/** What `createEtcdClient` needs from EtcdStoreOptions. */
export interface EtcdClientOptions {
  callTimeoutMs: number;
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
}

// Above MAX_LIST_BYTES plus framing, so oversized listings fail with our error, not gRPC's.
const MAX_RECEIVE_BYTES = 128 * 1024 * 1024;

/** etcd's "no key" / "to the end" byte string. */
export const ZERO = Buffer.of(0);

/** etcd3 gives 64-bit numbers as decimal strings. */
export const num = (s: string | number | undefined) => Number(s ?? 0);

// The client's global fault policy, replaced by one that runs each call once (see header). Typed
// from etcd3's own options so the `cockatiel` package need not be a direct dependency; etcd3 only
// ever calls `execute` on it.
type GlobalPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
type WatchBackoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;
const noEvent = () => ({ dispose() {} });
const singleAttempt = {
  onSuccess: noEvent,
  onFailure: noEvent,
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
} as unknown as GlobalPolicy;

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** Thrown without calling a member whose breaker is open; etcd3 then tries the next member. Its
 * own class (not Error) so etcd3 passes it through unchanged, flag included. */
class MemberCircuitOpen extends Error {
  readonly isBrokenCircuitError = true;
  constructor() {
    super('etcd member skipped: its circuit breaker is open');
  }
}

/**
 * Per-member circuit breaker, replacing etcd3's default (open 5 s after 3 consecutive failures).
 * After a rolling restart every member's breaker can be open at once, and the default then refuses
 * all calls for up to 5 s although a quorum is up. This one opens for 1 s, then lets one probe
 * call through; a member that answers at all (even with an etcd error) closes it.
 */
function memberBreaker(): HostPolicy {
  const THRESHOLD = 3;
  const OPEN_MS = 1000;
  let failures = 0;
  let openUntil = 0;
  let probing = false;
  return {
    onSuccess: noEvent,
    onFailure: noEvent,
    async execute<T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal) {
      let probe = false;
      if (failures >= THRESHOLD) {
        if (Date.now() < openUntil || probing) throw new MemberCircuitOpen();
        probing = probe = true;
      }
      try {
        const v = await fn({ signal: signal ?? new AbortController().signal });
        failures = 0;
        return v;
      } catch (e) {
        if (e instanceof Error && isRecoverableError(e)) {
          if (++failures >= THRESHOLD) openUntil = Date.now() + OPEN_MS;
        } else failures = 0;
        throw e;
      } finally {
        if (probe) probing = false;
      }
    },
  } as unknown as HostPolicy;
}

/** Watch-stream reconnect delays: 50 ms doubling to 1 s (etcd3's default grows to 30 s). */
function watchBackoff(attempt = 0): WatchBackoff {
  return {
    duration: Math.min(1000, 50 * 2 ** attempt) * (0.75 + Math.random() / 2),
    next: () => watchBackoff(attempt + 1),
  } as unknown as WatchBackoff;
}

/** A client for `endpoints` with the options and fault handling above. */
export function createEtcdClient(endpoints: readonly string[], opts: EtcdClientOptions): Etcd3 {
  const { callTimeoutMs, tls } = opts;
  return new Etcd3({
    hosts: [...endpoints],
    ...(tls ? { credentials: { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert } } : {}),
    grpcOptions: {
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      // Notice a silently dead member (no RST, e.g. power loss) on open streams. etcd's default
      // --grpc-keepalive-min-time is 5 s; pinging more often gets the connection closed.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
    },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: { global: singleAttempt, host: memberBreaker, watchBackoff: watchBackoff() },
  });
}
