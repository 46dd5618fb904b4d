// The peer executor the node wires into the core (core/pipeline/route.ts KeyRouter): where a call
// that needs key material runs comes from cluster routing (src/cluster/routing.ts), and a call a
// peer runs is sent over the peer channel (mutual TLS, src/cluster/forward.ts) as the REST request
// of the same operation, carrying the caller's credential and the request id. The peer's answer is
// turned back into the operation's domain value or its typed error, so that every adapter (REST,
// JSON-RPC, later KMIP) renders a forwarded answer exactly as a local one, and the core audits it.
//
// Which REST request runs an operation is this adapter's knowledge, kept here as one table.
import { KeymeshError, type ErrorCode } from '../../errors.js';
import type { ForwardRequest, ForwardResponse, ForwardTarget } from '../../cluster/forward.js';
import type { ClusterRouting } from '../../cluster/routing.js';
import type { OperationName } from '../../core/operations/table.js';
import type { KeyRouter, PeerAnswer, PeerCall } from '../../core/pipeline/route.js';
import { STATUS } from './errors.js';

type Rest = Pick<ForwardRequest, 'method' | 'path' | 'body'>;

const keyPath = (id: string, rest: string) => `/v1/keys/${encodeURIComponent(id)}/${rest}`;
const post =
  (rest: string) =>
  (id: string, input: unknown): Rest => ({
    method: 'POST',
    path: keyPath(id, rest),
    body: JSON.stringify(input ?? {}),
  });

/** Per operation that needs key material: the REST request that runs it on a peer. */
const REST: Partial<Record<OperationName, (keyId: string, input: unknown) => Rest>> = {
  'key.sign': post('sign'),
  'key.verify': post('verify'),
  'key.derive': (id, input) => {
    const path = (input as { path?: unknown } | undefined)?.path;
    return {
      method: 'GET',
      path: keyPath(id, 'derive') + (typeof path === 'string' ? `?path=${encodeURIComponent(path)}` : ''),
    };
  },
  'ethereum.transaction': post('ethereum/transaction'),
  'ethereum.message': post('ethereum/message'),
  'ethereum.typed-data': post('ethereum/typed-data'),
  'bitcoin.psbt': post('bitcoin/psbt'),
};

/** The operations the peer executor can run on a peer (those of the table needing key material). */
export const PEER_OPERATIONS: readonly OperationName[] = Object.keys(REST) as OperationName[];

/** A peer's HTTP answer as the operation's value or typed error. */
export function peerAnswer(res: ForwardResponse): PeerAnswer {
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    body = undefined;
  }
  if (res.status >= 200 && res.status < 300 && body !== undefined)
    return { nodeId: res.nodeId, ok: true, value: body };
  const err = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const error =
    typeof err?.code === 'string' && Object.hasOwn(STATUS, err.code) && typeof err.message === 'string'
      ? new KeymeshError(err.code as ErrorCode, err.message)
      : new KeymeshError('UNAVAILABLE', `Node ${res.nodeId} gave no usable answer.`);
  return { nodeId: res.nodeId, ok: false, error };
}

export function peerRouter(routing: ClusterRouting): KeyRouter {
  return {
    selfId: routing.selfId,
    route: (keyId) => routing.route(keyId),
    async execute(targets: readonly ForwardTarget[], call: PeerCall): Promise<PeerAnswer> {
      const rest = REST[call.operation];
      if (!rest) throw new KeymeshError('INTERNAL', `${call.operation} cannot run on a peer.`);
      const res = await routing.forward(targets, {
        ...rest(call.keyId, call.input),
        ...(call.principal.kind === 'token' ? { authorization: `Bearer ${call.principal.token}` } : {}),
        requestId: call.requestId,
      });
      return peerAnswer(res);
    },
  };
}
