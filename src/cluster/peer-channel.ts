// The peer channel's wire format and the peer executor: what one node sends another over mutual
// TLS (forward.ts) when a call needs key material the other holds. It is "run this operation for
// this token", never a replayed REST request: one endpoint on the peer listener only
// (src/api/peer/server.ts), one versioned JSON body
//
//   POST /peer/v1/operations   { v: 1, operation, keyId, input, principal: { kind: 'token', tokenId } }
//
// with the input written by the operation's codec (core/operations/codec.ts), the request id in
// x-keymesh-request-id (both nodes audit under it), and no credential: the token's secret stays on
// the node it was presented to; the peer loads the token by id and checks it is live and allowed
// (core/auth/peer.ts). The sending node is the one its client certificate names. The answer is
// 200 { v: 1, value } (the codec's answer fields), or the error table's status and error body
// { error: { code, message } }, with x-keymesh-forward-refused when the peer declined before acting
// (the sender then tries another holder). Every adapter (REST, JSON-RPC, later KMIP) renders what
// comes back exactly as a local answer: forwarding needs no adapter code.
import { ERROR_TABLE, type ErrorCode, invalid, KeymeshError } from '../errors.js';
import { codeInput, codeOutput, isPeerOperation, type PeerOperation } from '../core/operations/codec.js';
import type { KeyRouter, PeerAnswer, PeerCall } from '../core/pipeline/route.js';
import { isId } from '../util/ids.js';
import type { ForwardResponse, ForwardTarget } from './forward.js';
import type { ClusterRouting } from './routing.js';

export const PEER_OPERATIONS_PATH = '/peer/v1/operations';
export const PEER_WIRE_VERSION = 1;
/** A call's body: the largest REST body (1 MiB) as its input, and room for the envelope. */
export const MAX_PEER_BODY_BYTES = 1024 * 1024 + 64 * 1024;
const MAX_ERROR_MESSAGE_CHARS = 1024;

/** A call as the executing node decodes it. */
export interface DecodedPeerCall {
  operation: PeerOperation;
  keyId: string;
  input: Record<string, unknown>;
  tokenId: string;
}

const ENVELOPE = Object.freeze(['v', 'operation', 'keyId', 'input', 'principal']);

/** The body the sending node posts for `call` (INVALID_REQUEST if the input does not fit). */
export function encodePeerCall(call: PeerCall): string {
  return JSON.stringify({
    v: PEER_WIRE_VERSION,
    operation: call.operation,
    keyId: call.keyId,
    input: codeInput(call.operation, call.input ?? {}),
    principal: { kind: 'token', tokenId: call.tokenId },
  });
}

/** A posted body, checked field by field: INVALID_REQUEST (400) for anything else. */
export function decodePeerCall(body: unknown): DecodedPeerCall {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalid('a peer call must be a JSON object');
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b))
    if (!ENVELOPE.includes(k)) throw invalid(`${k} is not a field of a peer call`);
  if (b.v !== PEER_WIRE_VERSION) throw invalid(`v must be ${PEER_WIRE_VERSION}`);
  if (!isPeerOperation(b.operation)) throw invalid('operation is not one a peer runs');
  if (typeof b.keyId !== 'string' || !isId(b.keyId)) throw invalid('keyId is not a key id');
  const p = b.principal as Record<string, unknown> | null | undefined;
  if (
    p === null ||
    typeof p !== 'object' ||
    Array.isArray(p) ||
    Object.keys(p).length !== 2 ||
    p.kind !== 'token' ||
    typeof p.tokenId !== 'string' ||
    !isId(p.tokenId)
  )
    throw invalid("principal must be { kind: 'token', tokenId }");
  return {
    operation: b.operation,
    keyId: b.keyId,
    input: codeInput(b.operation, b.input),
    tokenId: p.tokenId,
  };
}

/**
 * The executing node's answer body for a value of `op`. A value its codec does not describe is this
 * node's fault, not the caller's: INTERNAL (the table and the operation disagree).
 */
export function encodePeerValue(
  op: PeerOperation,
  value: unknown,
): { v: number; value: Record<string, unknown> } {
  try {
    return { v: PEER_WIRE_VERSION, value: codeOutput(op, value) };
  } catch (e) {
    throw new KeymeshError('INTERNAL', `The answer of ${op} does not fit its peer codec.`, { cause: e });
  }
}

/** A peer's HTTP answer as the operation's value or its typed error; anything else UNAVAILABLE. */
export function decodePeerAnswer(op: PeerOperation, res: ForwardResponse): PeerAnswer {
  const unusable = () => ({
    nodeId: res.nodeId,
    ok: false as const,
    error: new KeymeshError('UNAVAILABLE', `Node ${res.nodeId} gave no usable answer.`),
  });
  let body: unknown;
  try {
    body = JSON.parse(res.body.toString('utf8'));
  } catch {
    return unusable();
  }
  if (body === null || typeof body !== 'object') return unusable();
  if (res.status === 200) {
    const b = body as { v?: unknown; value?: unknown };
    if (b.v !== PEER_WIRE_VERSION) return unusable();
    try {
      return { nodeId: res.nodeId, ok: true, value: codeOutput(op, b.value) };
    } catch {
      return unusable();
    }
  }
  const err = (body as { error?: { code?: unknown; message?: unknown } }).error;
  if (
    res.status < 400 ||
    typeof err?.code !== 'string' ||
    !Object.hasOwn(ERROR_TABLE, err.code) ||
    typeof err.message !== 'string' ||
    err.message.length > MAX_ERROR_MESSAGE_CHARS
  )
    return unusable();
  return { nodeId: res.nodeId, ok: false, error: new KeymeshError(err.code as ErrorCode, err.message) };
}

/** The core's router in cluster mode: placement from cluster routing, execution over the channel. */
export function peerRouter(routing: ClusterRouting): KeyRouter {
  return {
    selfId: routing.selfId,
    route: (keyId) => routing.route(keyId),
    async execute(targets: readonly ForwardTarget[], call: PeerCall): Promise<PeerAnswer> {
      const res = await routing.forward(targets, {
        method: 'POST',
        path: PEER_OPERATIONS_PATH,
        body: encodePeerCall(call),
        requestId: call.requestId,
      });
      return decodePeerAnswer(call.operation, res);
    },
  };
}
